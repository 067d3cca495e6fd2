"""WooCommerce REST v3 objects (webhook bodies are the same JSON) -> platform-neutral records.

State comes from the payload's current `status`, never from the topic: WooCommerce coalesces
updates and never retries, so one order.updated may be the only news of a payment and a
completion together, and orders.py turns the stored state's transitions into events.
"""
from __future__ import annotations

import html
from datetime import datetime
from typing import Any, Callable

from connectors.base import (CustomerRecord, LineRecord, OrderDeletion, OrderRecord, PayloadError,
                             ProductDeletion, ProductRecord, Record, dispatch)
from connectors.values import (normalize_email, optional_id, parse_id, parse_money, parse_time,
                               require, require_text, text, web_url)

# WooCommerce order statuses -> the financial status our orders keep (Shopify's words).
FINANCIAL = {"pending": "pending", "on-hold": "pending", "processing": "paid",
             "completed": "paid", "refunded": "refunded", "cancelled": "voided",
             "failed": "voided"}
# Block checkout keeps the cart as an order in this status until it is placed: not an order.
DRAFT = "checkout-draft"
IN_STOCK = frozenset({"instock", "onbackorder"})
# Order meta the companion plugin writes at checkout (see wordpress-plugin/storeflow).
CART_TOKEN_META = "storeflow_cart_token"


def gmt(payload: dict, key: str) -> datetime | None:
    """WooCommerce's `*_gmt` fields are UTC without an offset; the REST API says so."""
    value = payload.get(key)
    if isinstance(value, str) and value and not value.endswith(("Z", "+00:00")):
        value += "+00:00"
    return parse_time(value or None, key)


def _modified(payload: dict) -> datetime:
    """A customer or product never edited since creation has no modification time."""
    stamp = gmt(payload, "date_modified_gmt") or gmt(payload, "date_created_gmt")
    if stamp is None:
        raise PayloadError("missing field 'date_modified_gmt'")
    return stamp


def _object(payload: dict, key: str) -> dict:
    value = payload.get(key) or {}
    if not isinstance(value, dict):
        raise PayloadError(f"field {key!r} is not an object")
    return value


def _list(payload: dict, key: str) -> list:
    value = payload.get(key) or []
    if not isinstance(value, list):
        raise PayloadError(f"field {key!r} is not a list")
    return value


def customer(payload: dict) -> CustomerRecord:
    billing = _object(payload, "billing")
    return CustomerRecord(
        platform_id=parse_id(require(payload, "id"), "id"),
        email=normalize_email(payload.get("email") or billing.get("email")),
        first_name=text(payload.get("first_name"), 255) or None,
        last_name=text(payload.get("last_name"), 255) or None,
        phone=text(billing.get("phone"), 64) or None,
        country_code=text(billing.get("country"), 2) or None,
        province_code=text(billing.get("state"), 32) or None,
        created_at=gmt(payload, "date_created_gmt"),
        updated_at=_modified(payload),
    )


def _buyer(payload: dict, billing: dict) -> CustomerRecord | None:
    """An order's registered customer (0 is a guest). Undated: it never overwrites what the
    customer's own webhooks told us."""
    customer_id = optional_id(payload.get("customer_id"), "customer_id")
    if customer_id is None:
        return None
    return CustomerRecord(
        platform_id=customer_id, email=normalize_email(billing.get("email")),
        first_name=text(billing.get("first_name"), 255) or None,
        last_name=text(billing.get("last_name"), 255) or None,
        phone=text(billing.get("phone"), 64) or None,
        country_code=text(billing.get("country"), 2) or None,
        province_code=text(billing.get("state"), 32) or None,
    )


def _lines(payload: dict) -> tuple[LineRecord, ...]:
    lines = []
    for item in _list(payload, "line_items"):
        quantity = require(item, "quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise PayloadError("field 'line_items.quantity' is not a count")
        lines.append(LineRecord(
            # REST names are HTML ("Ship Your Idea &ndash; Color: Black"); our emails escape.
            title=html.unescape(text(item.get("name")) or ""), quantity=quantity,
            price=parse_money(require(item, "price"), "line_items.price"),
            product_id=optional_id(item.get("product_id"), "line_items.product_id"),
            variant_id=optional_id(item.get("variation_id"), "line_items.variation_id"),
            sku=text(item.get("sku"), 255) or None,
        ))
    return tuple(lines)


def _meta(payload: dict, key: str) -> Any:
    for entry in _list(payload, "meta_data"):
        if isinstance(entry, dict) and entry.get("key") == key:
            return entry.get("value")
    return None


def order(payload: dict) -> OrderRecord:
    status = require_text(payload, "status", 32)
    billing = _object(payload, "billing")
    updated_at = _modified(payload)
    return OrderRecord(
        platform_id=parse_id(require(payload, "id"), "id"),
        email=normalize_email(billing.get("email")),
        currency=require_text(payload, "currency", 3),
        total_price=parse_money(require(payload, "total"), "total"),
        placed_at=gmt(payload, "date_created_gmt") or updated_at,
        updated_at=updated_at,
        customer=_buyer(payload, billing),
        name=f"#{text(payload.get('number'), 60) or payload['id']}",
        checkout_token=text(_meta(payload, CART_TOKEN_META), 255),
        financial_status=FINANCIAL.get(status, status),
        fulfillment_status="fulfilled" if status == "completed" else None,
        cancelled_at=updated_at if status == "cancelled" else None,
        discount_codes=tuple(text(line["code"], 255) for line in _list(payload, "coupon_lines")
                             if isinstance(line, dict) and isinstance(line.get("code"), str)),
        lines=_lines(payload),
    )


def product(payload: dict) -> ProductRecord:
    images = _list(payload, "images")
    image = images[0] if images and isinstance(images[0], dict) else {}
    price = payload.get("price")
    return ProductRecord(
        platform_id=parse_id(require(payload, "id"), "id"),
        title=html.unescape(require_text(payload, "name")),
        updated_at=_modified(payload),
        in_stock=text(payload.get("stock_status")) in IN_STOCK,
        handle=text(payload.get("slug"), 255) or None,
        url=web_url(payload.get("permalink")),
        image_url=text(image.get("src"), 2048),
        price=parse_money(price, "price") if price not in (None, "") else None,
        status=text(payload.get("status"), 32),
        product_type=_first_category(payload),
    )


def _first_category(payload: dict) -> str | None:
    """WooCommerce has no product type or vendor: its first category stands for the type."""
    categories = payload.get("categories")
    if not isinstance(categories, list) or not categories or not isinstance(categories[0], dict):
        return None
    return html.unescape(text(categories[0].get("name"), 255) or "") or None


def _order_topic(payload: dict) -> list[Record]:
    return [] if payload.get("status") == DRAFT else [order(payload)]


def _deleted(kind: type) -> Callable[[dict], list[Record]]:
    return lambda payload: [kind(parse_id(require(payload, "id"), "id"))]


NORMALIZERS: dict[str, Callable[[dict], list[Record]]] = {
    "order.created": _order_topic,
    "order.updated": _order_topic,
    "order.restored": _order_topic,
    "order.deleted": _deleted(OrderDeletion),
    "customer.created": lambda payload: [customer(payload)],
    "customer.updated": lambda payload: [customer(payload)],
    # A deleted WordPress user leaves their orders behind; the customer row stays with them.
    "customer.deleted": lambda payload: [],
    "product.created": lambda payload: [product(payload)],
    "product.updated": lambda payload: [product(payload)],
    "product.deleted": _deleted(ProductDeletion),
}


def normalize(topic: str, payload: Any) -> list[Record]:
    return dispatch(NORMALIZERS, topic, payload)
