"""Single-use, single-recipient percentage coupons (POST /coupons)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal


def coupon_request(code: str, percent: float, email: str | None, expires_at: datetime) -> dict:
    """The body WooCommerce's "Create a coupon" takes for one of our codes."""
    amount = Decimal(str(percent)).quantize(Decimal("0.01"))
    if not 0 < amount <= 100:
        raise ValueError("a percentage discount is between 0 and 100")
    return {
        "code": code,
        "discount_type": "percent",
        "amount": str(amount),
        "individual_use": True,
        "usage_limit": 1,
        "usage_limit_per_user": 1,
        # WooCommerce checks the billing email at checkout against this list.
        "email_restrictions": [email] if email else [],
        "date_expires_gmt": expires_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
        "description": "Storeflow: one recipient, one use",
    }
