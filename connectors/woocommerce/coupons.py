"""Single-use, single-recipient percentage coupons (POST /coupons, or up to BATCH at once
through POST /coupons/batch)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from connectors.base import CodeRefused

# WooCommerce takes at most this many items per batch request (WC_REST_Controller's
# check_batch_limit, the `woocommerce_rest_batch_items_limit` filter's default).
BATCH = 100
# What WooCommerce answers for a code it already has.
TAKEN = "woocommerce_rest_coupon_code_already_exists"


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


def batch_answers(codes: list[str], body: dict) -> dict[str, str | None]:
    """Each code of a batch's `create` list -> None once made (or already there: our codes are
    unique, so it is ours, made before a crash), else WooCommerce's reason. Its answers come in
    the order asked; an item that failed is `{"id": 0, "error": {"code", "message", "data"}}`,
    `data` being the WP_Error's data, `{"status": N}` for REST errors. Only a 4xx other than
    401/403 is a refusal of that coupon's record (a CodeRefused, counted toward skipping its
    recipient); a permission error waits for the merchant and anything else (a database error
    carries no status) is asked again, neither counted."""
    answers: dict[str, str | None] = {code: "WooCommerce did not answer for it" for code in codes}
    for code, item in zip(codes, body.get("create") or []):
        error = item.get("error") if isinstance(item, dict) else {"message": "not an object"}
        if not error or error.get("code") == TAKEN:
            answers[code] = None
            continue
        why = str(error.get("message") or error.get("code"))
        answers[code] = CodeRefused(why) if _refuses_record(error) else why
    return answers


def _refuses_record(error: dict) -> bool:
    """Whether an item's error is WooCommerce refusing the coupon itself (its status a 4xx other
    than 401 or 403), not our access or a passing failure."""
    data = error.get("data")
    status = data.get("status") if isinstance(data, dict) else None
    return isinstance(status, int) and 400 <= status < 500 and status not in (401, 403)
