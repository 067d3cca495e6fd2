"""Shopify webhook payloads (API 2026-07) -> platform-neutral records.

Read fields, never infer from the topic: Shopify publishes one sample body for every orders/*
topic, and a paid order's state is in `financial_status`, not in the topic's name.
"""
from __future__ import annotations

from typing import Any, Callable

from connectors.base import (
    CheckoutRecord, CustomerRecord, LineRecord, OrderRecord, PayloadError, Record,
    normalize_email, optional_id, parse_id, parse_money, parse_time, require, text,
)


def customer(payload: Any) -> CustomerRecord:
    address = payload.get("default_address") or {}
    return CustomerRecord(
        platform_id=parse_id(require(payload, "id"), "customer.id"),
        email=normalize_email(payload.get("email")),
        first_name=text(payload.get("first_name"), 255),
        last_name=text(payload.get("last_name"), 255),
        phone=text(payload.get("phone"), 64),
        country_code=text(address.get("country_code"), 2) if isinstance(address, dict) else None,
        created_at=parse_time(payload.get("created_at"), "customer.created_at"),
        updated_at=parse_time(payload.get("updated_at"), "customer.updated_at"),
    )


def _embedded_customer(payload: dict) -> CustomerRecord | None:
    embedded = payload.get("customer")
    return customer(embedded) if isinstance(embedded, dict) and embedded.get("id") else None


def _lines(payload: dict, price_key: str = "price") -> tuple[LineRecord, ...]:
    items = payload.get("line_items") or []
    if not isinstance(items, list):
        raise PayloadError("field 'line_items' is not a list")
    lines = []
    for item in items:
        quantity = require(item, "quantity")
        if not isinstance(quantity, int) or quantity < 0:
            raise PayloadError("field 'line_items.quantity' is not a count")
        lines.append(LineRecord(
            title=text(item.get("title")) or text(item.get("name")) or "",
            quantity=quantity,
            price=parse_money(require(item, price_key), "line_items.price"),
            product_id=optional_id(item.get("product_id"), "line_items.product_id"),
            variant_id=optional_id(item.get("variant_id"), "line_items.variant_id"),
            sku=text(item.get("sku"), 255),
            variant_title=text(item.get("variant_title")),
        ))
    return tuple(lines)


def order(payload: Any) -> OrderRecord:
    codes = payload.get("discount_codes") or []
    return OrderRecord(
        platform_id=parse_id(require(payload, "id"), "id"),
        email=normalize_email(payload.get("email") or payload.get("contact_email")),
        currency=text(require(payload, "currency"), 3),
        total_price=parse_money(require(payload, "total_price"), "total_price"),
        placed_at=parse_time(payload.get("processed_at") or require(payload, "created_at"), "created_at"),
        updated_at=parse_time(require(payload, "updated_at"), "updated_at"),
        customer=_embedded_customer(payload),
        name=text(payload.get("name"), 64),
        checkout_token=text(payload.get("checkout_token"), 255),
        financial_status=text(payload.get("financial_status"), 32),
        fulfillment_status=text(payload.get("fulfillment_status"), 32),
        cancelled_at=parse_time(payload.get("cancelled_at"), "cancelled_at"),
        discount_codes=tuple(c["code"] for c in codes if isinstance(c, dict) and isinstance(c.get("code"), str)),
        lines=_lines(payload),
    )


def _token(payload: dict) -> str:
    token = text(require(payload, "token"), 255)
    if not token:
        raise PayloadError("field 'token' is not a checkout token")
    return token


def checkout(payload: Any) -> CheckoutRecord:
    return CheckoutRecord(
        token=_token(payload),
        platform_id=optional_id(payload.get("id"), "id"),
        email=normalize_email(payload.get("email")),
        currency=text(require(payload, "currency"), 3),
        total_price=parse_money(require(payload, "total_price"), "total_price"),
        updated_at=parse_time(require(payload, "updated_at"), "updated_at"),
        created_at=parse_time(payload.get("created_at"), "created_at"),
        cart_token=text(payload.get("cart_token"), 255),
        customer=_embedded_customer(payload),
        recovery_url=text(payload.get("abandoned_checkout_url"), 2048),
        completed_at=parse_time(payload.get("completed_at"), "completed_at"),
        lines=_lines(payload),
    )


ORDER_TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/fulfilled",
                "orders/partially_fulfilled", "orders/cancelled")

NORMALIZERS: dict[str, Callable[[Any], Record]] = {
    **{topic: order for topic in ORDER_TOPICS},
    "customers/create": customer,
    "customers/update": customer,
    "checkouts/create": checkout,
    "checkouts/update": checkout,
}


def normalize(topic: str, payload: Any) -> list[Record]:
    normalizer = NORMALIZERS.get(topic)
    if normalizer is None:
        raise PayloadError(f"unsupported topic {topic!r}")
    if not isinstance(payload, dict):
        raise PayloadError("the body is not a JSON object")
    try:
        return [normalizer(payload)]
    except (AttributeError, TypeError):
        # A nested field of the wrong type (a string where an object belongs, ...).
        raise PayloadError(f"a field of the {topic} payload has the wrong type") from None
