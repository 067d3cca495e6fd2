"""Made-up shop data for previews and test sends when no real customer is chosen: a customer,
a cart, an order with a shipment, and products, priced in the store's currency."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace as Sample
from typing import Any

from app.core import clock


def discount_code(percent: float) -> str:
    """The stand-in for a code a preview cannot ask the store for: `PREVIEW-15OFF`."""
    return f"PREVIEW-{percent:g}OFF"


def _lines(shop_url: str) -> list[Sample]:
    def page(slug: str) -> Sample:
        return Sample(url=f"{shop_url}/products/{slug}", image_url=None)
    return [Sample(title="Linen Throw Blanket", variant_title="Sage / Large", quantity=1,
                   price=Decimal("89.00"), product=page("linen-throw-blanket")),
            Sample(title="Stoneware Mug", variant_title=None, quantity=2, price=Decimal("24.00"),
                   product=page("stoneware-mug"))]


def _products(shop_url: str) -> list[Sample]:
    return [Sample(title=title, price=Decimal(price), url=f"{shop_url}/products/{slug}",
                   image_url=None)
            for title, price, slug in (("Waxed Canvas Tote", "68.00", "waxed-canvas-tote"),
                                       ("Beeswax Candle", "22.00", "beeswax-candle"),
                                       ("Walnut Serving Board", "54.00", "walnut-serving-board"))]


def objects(currency: str, shop_url: str) -> dict[str, Any]:
    """Everything a step template may read about a customer and what they did."""
    lines = _lines(shop_url)
    total = sum((line.price * line.quantity for line in lines), Decimal(0))
    return {
        "customer": Sample(first_name="Ana", last_name="Ruiz", email="ana@example.com"),
        "checkout": Sample(lines=lines, total_price=total, currency=currency,
                           recovery_url=f"{shop_url}/cart"),
        "order": Sample(name="#1001", lines=lines, total_price=total, currency=currency,
                        placed_at=clock.now() - timedelta(days=2)),
        "shipment": Sample(tracking_company="UPS", tracking_number="1Z999AA10123456784",
                           tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784"),
        "products": _products(shop_url),
        "recommendations": _products(shop_url),
    }
