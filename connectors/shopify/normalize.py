"""Shopify webhook payloads (API 2026-07) -> platform-neutral records.

Read fields, never infer from the topic: Shopify publishes one sample body for every orders/*
topic, and a paid order's state is in `financial_status`, not in the topic's name.
"""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import quote

from connectors.base import (CHECKOUT, CONSENT_STATES, CheckoutRecord, ConsentRecord,
                             CustomerRecord, CustomerRedaction, DataRequest, FulfillmentRecord,
                             LineRecord, OrderRecord, PayloadError, ProductDeletion, ProductRecord,
                             Record, ShopRedaction, Uninstalled, dispatch)
from connectors.values import (normalize_email, optional_id, parse_date, parse_id, parse_money,
                               parse_time, require, require_text, text)


def customer(payload: Any) -> CustomerRecord:
    address = payload.get("default_address") or {}
    return CustomerRecord(
        platform_id=parse_id(require(payload, "id"), "customer.id"),
        email=normalize_email(payload.get("email")),
        first_name=text(payload.get("first_name"), 255),
        last_name=text(payload.get("last_name"), 255),
        phone=text(payload.get("phone"), 64),
        country_code=text(address.get("country_code"), 2) if isinstance(address, dict) else None,
        province_code=text(address.get("province_code"), 32) if isinstance(address, dict) else None,
        created_at=parse_time(payload.get("created_at"), "customer.created_at"),
        updated_at=parse_time(payload.get("updated_at"), "customer.updated_at"),
        tags=_tags(payload.get("tags")),
        birthday=parse_date(_metafield(payload, *BIRTH_DATE), "metafields.facts.birth_date"),
    )


# Shopify's standard customer metafield "Birth date". Webhooks carry a customer's metafields
# when the subscription names their namespace (see subscriptions.METAFIELD_NAMESPACES).
BIRTH_DATE = ("facts", "birth_date")


def _metafield(payload: dict, namespace: str, key: str):
    """The value of one of the payload's `metafields`, or None when it is not there."""
    for field in payload.get("metafields") or ():
        if isinstance(field, dict) and (field.get("namespace"), field.get("key")) == (namespace, key):
            return field.get("value")
    return None


def _tags(value: Any) -> tuple[str, ...]:
    """Shopify sends tags as one comma-separated string."""
    if not isinstance(value, str):
        return ()
    return tuple(text(tag.strip(), 255) for tag in value.split(",") if tag.strip())


def _consent(customer_id: int, email: str | None, fields: Any, name: str) -> ConsentRecord:
    """An `email_marketing_consent` object: state, opt-in level and when it was given."""
    if not isinstance(fields, dict):
        raise PayloadError(f"field {name!r} is not an object")
    state = require(fields, "state")
    if not isinstance(state, str) or state.lower() not in CONSENT_STATES:
        raise PayloadError(f"field '{name}.state' is not a consent state")
    return ConsentRecord(
        customer_platform_id=customer_id, email=email, state=state.lower(),
        opt_in_level=text(fields.get("opt_in_level"), 32),
        updated_at=parse_time(fields.get("consent_updated_at"), f"{name}.consent_updated_at"),
    )


def _customer_consent(payload: dict) -> list[ConsentRecord]:
    """A customer object's email-marketing consent; the legacy `accepts_marketing` only when
    that is all there is (older API versions, REST objects)."""
    customer_id = parse_id(require(payload, "id"), "customer.id")
    email = normalize_email(payload.get("email"))
    if payload.get("email_marketing_consent") is not None:
        return [_consent(customer_id, email, payload["email_marketing_consent"],
                         "email_marketing_consent")]
    accepts = payload.get("accepts_marketing")
    if accepts is None:
        return []
    if not isinstance(accepts, bool):
        raise PayloadError("field 'accepts_marketing' is not true or false")
    return [ConsentRecord(
        customer_platform_id=customer_id, email=email,
        state="subscribed" if accepts else "not_subscribed",
        opt_in_level=text(payload.get("marketing_opt_in_level"), 32),
        updated_at=parse_time(payload.get("accepts_marketing_updated_at"),
                              "accepts_marketing_updated_at"),
    )]


def _embedded(payload: dict) -> dict | None:
    embedded = payload.get("customer")
    return embedded if isinstance(embedded, dict) and embedded.get("id") else None


def _embedded_customer(payload: dict) -> CustomerRecord | None:
    embedded = _embedded(payload)
    return customer(embedded) if embedded else None


def _embedded_consent(payload: dict) -> list[ConsentRecord]:
    embedded = _embedded(payload)
    return _customer_consent(embedded) if embedded else []


def _list(payload: dict, key: str) -> list:
    value = payload.get(key) or []
    if not isinstance(value, list):
        raise PayloadError(f"field {key!r} is not a list")
    return value


def _lines(payload: dict, price_key: str = "price") -> tuple[LineRecord, ...]:
    lines = []
    for item in _list(payload, "line_items"):
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
    codes = _list(payload, "discount_codes")
    return OrderRecord(
        platform_id=parse_id(require(payload, "id"), "id"),
        email=normalize_email(payload.get("email") or payload.get("contact_email")),
        currency=require_text(payload, "currency", 3),
        total_price=parse_money(require(payload, "total_price"), "total_price"),
        placed_at=parse_time(payload.get("processed_at") or require(payload, "created_at"), "created_at"),
        updated_at=parse_time(require(payload, "updated_at"), "updated_at"),
        customer=_embedded_customer(payload),
        name=text(payload.get("name"), 64),
        checkout_token=text(payload.get("checkout_token"), 255),
        financial_status=text(payload.get("financial_status"), 32),
        fulfillment_status=text(payload.get("fulfillment_status"), 32),
        cancelled_at=parse_time(payload.get("cancelled_at"), "cancelled_at"),
        discount_codes=tuple(text(c["code"], 255) for c in codes if isinstance(c, dict) and isinstance(c.get("code"), str)),
        lines=_lines(payload),
    )


def checkout(payload: Any) -> CheckoutRecord:
    return CheckoutRecord(
        token=require_text(payload, "token", 255),
        platform_id=optional_id(payload.get("id"), "id"),
        email=normalize_email(payload.get("email")),
        currency=require_text(payload, "currency", 3),
        total_price=parse_money(require(payload, "total_price"), "total_price"),
        updated_at=parse_time(require(payload, "updated_at"), "updated_at"),
        created_at=parse_time(payload.get("created_at"), "created_at"),
        cart_token=text(payload.get("cart_token"), 255),
        customer=_embedded_customer(payload),
        recovery_url=text(payload.get("abandoned_checkout_url"), 2048),
        completed_at=parse_time(payload.get("completed_at"), "completed_at"),
        lines=_lines(payload),
    )


def _checkbox_consent(payload: dict, record: CheckoutRecord) -> list[ConsentRecord]:
    """A ticked "email me" box on a checkout subscribes its customer. An unticked box says
    nothing: the box is not shown to customers who already subscribed."""
    accepts = payload.get("buyer_accepts_marketing")
    if accepts is not None and not isinstance(accepts, bool):
        raise PayloadError("field 'buyer_accepts_marketing' is not true or false")
    if accepts is not True or record.customer is None:
        return []
    return [ConsentRecord(customer_platform_id=record.customer.platform_id,
                          email=record.customer.email or record.email, state="subscribed",
                          updated_at=record.updated_at, origin=CHECKOUT)]


def _first(payload: dict, key: str, plural: str, limit: int) -> str | None:
    """A tracking field, or the first of its list form when only that is filled in."""
    value = payload.get(key)
    if value is None and isinstance(payload.get(plural), list) and payload[plural]:
        value = payload[plural][0]
    return text(value, limit)


def fulfillment(payload: Any, order_platform_id: int | None = None) -> FulfillmentRecord:
    """A fulfillments/* body, or one of an order's `fulfillments` (whose order is known)."""
    platform_id = parse_id(require(payload, "id"), "fulfillment.id")
    order_id = payload.get("order_id") or order_platform_id
    if order_id is None:
        raise PayloadError("missing field 'fulfillment.order_id'")
    return FulfillmentRecord(
        platform_id=platform_id,
        order_platform_id=parse_id(order_id, "fulfillment.order_id"),
        updated_at=parse_time(require(payload, "updated_at"), "fulfillment.updated_at"),
        status=text(payload.get("status"), 32),
        shipment_status=text(payload.get("shipment_status"), 32),
        tracking_company=text(payload.get("tracking_company"), 255),
        tracking_number=_first(payload, "tracking_number", "tracking_numbers", 255),
        tracking_url=_first(payload, "tracking_url", "tracking_urls", 2048),
    )


def _order_fulfillments(payload: dict, order_platform_id: int) -> list[FulfillmentRecord]:
    return [fulfillment(item, order_platform_id) for item in _list(payload, "fulfillments")]


def _available(variant: Any) -> bool:
    """Sellable now: stock on hand, overselling allowed, or stock not tracked. API 2026-07
    leaves `inventory_management` out; only an explicit null there means untracked."""
    if "inventory_management" in variant and variant["inventory_management"] is None:
        return True
    if variant.get("inventory_policy") == "continue":
        return True
    quantity = variant.get("inventory_quantity")
    return isinstance(quantity, int) and not isinstance(quantity, bool) and quantity > 0


def _image_url(payload: dict) -> str | None:
    image = payload.get("image")
    images = payload.get("images")
    if not isinstance(image, dict) and isinstance(images, list) and images:
        image = images[0]
    return text(image.get("src"), 2048) if isinstance(image, dict) else None


def product(payload: Any) -> ProductRecord:
    require(payload, "variants")  # without them a product would read as out of stock
    variants = _list(payload, "variants")
    prices = [parse_money(require(variant, "price"), "variants.price") for variant in variants]
    handle = text(payload.get("handle"), 255)
    return ProductRecord(
        platform_id=parse_id(require(payload, "id"), "id"),
        title=require_text(payload, "title"),
        updated_at=parse_time(require(payload, "updated_at"), "updated_at"),
        in_stock=any(_available(variant) for variant in variants),
        handle=handle,
        url=f"/products/{quote(handle)}" if handle else None,
        image_url=_image_url(payload),
        price=min(prices, default=None),
        status=text(payload.get("status"), 32),
        product_type=text(payload.get("product_type"), 255) or None,
        vendor=text(payload.get("vendor"), 255) or None,
    )


# Each topic's payload -> its records, in the order they are stored: a customer or order
# before the consent and shipments that point at it.

def _order_topic(payload: dict) -> list[Record]:
    record = order(payload)
    return [record, *_embedded_consent(payload), *_order_fulfillments(payload, record.platform_id)]


def _checkout_topic(payload: dict) -> list[Record]:
    record = checkout(payload)
    return [record, *_embedded_consent(payload), *_checkbox_consent(payload, record)]


def _customer_topic(payload: dict) -> list[Record]:
    return [customer(payload), *_customer_consent(payload)]


def _consent_topic(payload: dict) -> list[Record]:
    customer_id = parse_id(require(payload, "customer_id"), "customer_id")
    return [_consent(customer_id, normalize_email(payload.get("email_address")),
                     require(payload, "email_marketing_consent"), "email_marketing_consent")]


ORDER_TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/fulfilled",
                "orders/partially_fulfilled", "orders/cancelled")

NORMALIZERS: dict[str, Callable[[dict], list[Record]]] = {
    **{topic: _order_topic for topic in ORDER_TOPICS},
    "customers/create": _customer_topic,
    "customers/update": _customer_topic,
    "customers_email_marketing_consent/update": _consent_topic,
    "checkouts/create": _checkout_topic,
    "checkouts/update": _checkout_topic,
    "fulfillments/create": lambda payload: [fulfillment(payload)],
    "fulfillments/update": lambda payload: [fulfillment(payload)],
    "products/create": lambda payload: [product(payload)],
    "products/update": lambda payload: [product(payload)],
    "products/delete": lambda payload: [ProductDeletion(parse_id(require(payload, "id"), "id"))],
}


def _order_ids(payload: dict, key: str) -> tuple[int, ...]:
    return tuple(parse_id(value, key) for value in _list(payload, key))


def _redact_customer(payload: dict) -> list[Record]:
    person = require(payload, "customer")
    return [CustomerRedaction(
        customer_platform_id=optional_id(person.get("id"), "customer.id"),
        email=normalize_email(person.get("email")), phone=text(person.get("phone"), 64),
        order_platform_ids=_order_ids(payload, "orders_to_redact"),
    )]


def _data_request(payload: dict) -> list[Record]:
    person = require(payload, "customer")
    return [DataRequest(
        request_id=parse_id(require(require(payload, "data_request"), "id"), "data_request.id"),
        customer_platform_id=optional_id(person.get("id"), "customer.id"),
        email=normalize_email(person.get("email")),
        order_platform_ids=_order_ids(payload, "orders_requested"),
    )]


# Topics about the app and the shop rather than store data. `app/uninstalled` is subscribed per
# store; the three compliance topics are app-wide (shopify.app.toml) and mandatory.
LIFECYCLE: dict[str, Callable[[dict], list[Record]]] = {
    "app/uninstalled": lambda payload: [Uninstalled()],
}
COMPLIANCE: dict[str, Callable[[dict], list[Record]]] = {
    "customers/redact": _redact_customer,
    "shop/redact": lambda payload: [ShopRedaction()],
    "customers/data_request": _data_request,
}
HANDLED = {**NORMALIZERS, **LIFECYCLE, **COMPLIANCE}


def normalize(topic: str, payload: Any) -> list[Record]:
    return dispatch(HANDLED, topic, payload)
