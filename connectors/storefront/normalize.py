"""One storefront event -> one StorefrontRecord, or a PayloadError naming the field.

Two shapes are accepted: ours (`type`, `client_event_id`, `occurred_at`, `visitor_id`, `product`,
`cart`) and a Shopify Web Pixel standard event as `analytics.subscribe` hands it over (`name`,
`id`, `timestamp`, `clientId`, `data`). The web handler runs this to refuse bad events with a 400;
the ingest job runs it again to store them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from connectors.base import CheckoutRecord, LineRecord, PayloadError
from connectors.values import normalize_email, parse_id, parse_money, parse_time, text

TYPES = frozenset({"product_viewed", "product_added_to_cart", "cart_updated", "checkout_started",
                   "checkout_contact_info_submitted", "identify"})
# Events that mean the shopper is at checkout, not just carting.
CHECKOUT_TYPES = frozenset({"checkout_started", "checkout_contact_info_submitted"})
# Visitor and event ids come from browsers: short, printable, no spaces.
TOKEN = re.compile(r"^[A-Za-z0-9._:@-]{1,100}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class ViewedProduct:
    product_id: int
    variant_id: int | None
    title: str | None
    url: str | None


@dataclass(frozen=True)
class StorefrontRecord:
    type: str
    visitor_id: str
    occurred_at: datetime
    email: str | None = None
    customer_platform_id: int | None = None
    customer_token: str | None = None
    product: ViewedProduct | None = None
    cart: CheckoutRecord | None = None
    merge_lines: bool = False  # an added line joins the cart; a snapshot replaces its lines
    # The shopper ticked a marketing opt-in box (the WordPress plugin's checkout checkbox).
    marketing_opt_in: bool = False
    # The store's server signed it: its cart is the store's word, not a page's.
    signed: bool = False


def _token(value: Any, name: str, limit: int = 64) -> str:
    if not isinstance(value, str) or len(value) > limit or not TOKEN.match(value):
        raise PayloadError(f"field {name!r} must be a string of up to {limit} letters, digits or ._:@-")
    return value


def _id(value: Any, name: str) -> int:
    # The pixel sends ids as strings, sometimes as GraphQL ids (gid://shopify/Product/123).
    if isinstance(value, str) and value.startswith("gid://"):
        value = value.rsplit("/", 1)[-1]
    return parse_id(value, name)


def _optional_id(value: Any, name: str) -> int | None:
    return None if value in (None, "") else _id(value, name)


def _email(value: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    email = normalize_email(value)
    if email is None or not EMAIL.match(email):
        raise PayloadError(f"field {name!r} is not an email address")
    return email


def _object(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise PayloadError(f"field {name!r} must be an object")
    return value


def from_pixel(event: dict) -> dict:
    """A Web Pixel standard event, rewritten into our shape (its `data` keeps its own)."""
    data = _object(event.get("data"), "data")
    ours = {"type": event.get("name"), "client_event_id": event.get("id"),
            "occurred_at": event.get("timestamp"),
            "visitor_id": event.get("visitor_id") or event.get("clientId")}
    for key in ("email", "customer_id", "customer_token"):
        if key in event:
            ours[key] = event[key]
    if "productVariant" in data:
        ours["product"] = _pixel_variant(_object(data["productVariant"], "data.productVariant"))
    if "cartLine" in data:
        line = _object(data["cartLine"], "data.cartLine")
        ours["cart"] = {"token": event.get("cart_token"), "lines": [_pixel_line(
            line.get("merchandise"), line.get("quantity"), "data.cartLine")]}
    if "checkout" in data:
        ours["cart"] = _pixel_checkout(_object(data["checkout"], "data.checkout"))
        ours.setdefault("email", ours["cart"].pop("email"))
    return ours


def _pixel_variant(variant: dict) -> dict:
    product = _object(variant.get("product"), "productVariant.product")
    return {"id": product.get("id"), "variant_id": variant.get("id"),
            "title": product.get("title"), "url": product.get("url"),
            "price": (variant.get("price") or {}).get("amount")}


def _pixel_line(variant: Any, quantity: Any, name: str) -> dict:
    product = _pixel_variant(_object(variant, f"{name}.merchandise"))
    return {"product_id": product["id"], "variant_id": product["variant_id"],
            "title": product["title"], "quantity": quantity, "price": product["price"],
            "currency": (variant.get("price") or {}).get("currencyCode")}


def _pixel_checkout(checkout: dict) -> dict:
    items = checkout.get("lineItems") or []
    if not isinstance(items, list):
        raise PayloadError("field 'data.checkout.lineItems' must be a list")
    return {"token": checkout.get("token"), "currency": checkout.get("currencyCode"),
            "total_price": (checkout.get("totalPrice") or {}).get("amount"),
            "email": checkout.get("email"),
            "lines": [_pixel_line(item.get("variant"), item.get("quantity"),
                                  "data.checkout.lineItems") for item in items]}


def _product(value: Any) -> ViewedProduct:
    product = _object(value, "product")
    return ViewedProduct(
        product_id=_id(product.get("id"), "product.id"),
        variant_id=_optional_id(product.get("variant_id"), "product.variant_id"),
        title=text(product.get("title")), url=text(product.get("url"), 2048),
    )


def _line(value: Any) -> LineRecord:
    line = _object(value, "cart.lines[]")
    quantity = line.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity < 10_000:
        raise PayloadError("field 'cart.lines[].quantity' must be a whole number from 1 to 9999")
    return LineRecord(
        title=text(line.get("title")) or "", quantity=quantity,
        price=parse_money(line.get("price"), "cart.lines[].price"),
        product_id=_optional_id(line.get("product_id"), "cart.lines[].product_id"),
        variant_id=_optional_id(line.get("variant_id"), "cart.lines[].variant_id"),
        sku=text(line.get("sku"), 255), variant_title=text(line.get("variant_title")),
    )


def _cart(value: Any, visitor_id: str, occurred_at: datetime, email: str | None,
          stage: str) -> CheckoutRecord:
    cart = _object(value, "cart")
    lines = cart.get("lines") or []
    if not isinstance(lines, list) or len(lines) > 100:
        raise PayloadError("field 'cart.lines' must be a list of at most 100 lines")
    parsed = tuple(_line(line) for line in lines)
    # A shop front that does not name its cart gets one cart per visitor.
    token = _token(cart["token"], "cart.token", 255) if cart.get("token") else f"visitor:{visitor_id}"
    currency = cart.get("currency") or next(
        (line.get("currency") for line in lines if isinstance(line, dict) and line.get("currency")), None)
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise PayloadError("field 'cart.currency' must be a three-letter currency code")
    total = cart.get("total_price")
    recovery_url = cart.get("recovery_url")
    if recovery_url is not None and not (isinstance(recovery_url, str)
                                         and recovery_url.startswith("https://")):
        raise PayloadError("field 'cart.recovery_url' must be an https:// link")
    return CheckoutRecord(
        token=token, email=email, currency=currency, updated_at=occurred_at, stage=stage,
        recovery_url=text(recovery_url, 2048),
        total_price=(parse_money(total, "cart.total_price") if total is not None
                     else sum((l.price * l.quantity for l in parsed), Decimal(0))),
        lines=parsed,
    )


def parse(event: Any, signed: bool = False) -> tuple[str, StorefrontRecord]:
    """Validate one event; return its dedupe key (client_event_id) and its record."""
    try:
        return _parse(_object(event, "events[]"), signed)
    except (AttributeError, TypeError, KeyError):
        # A nested field of the wrong type (a string where an object belongs, ...).
        raise PayloadError(f"a field of the {event.get('type') or event.get('name')!r} event "
                           "has the wrong type") from None


def _parse(event: dict, signed: bool) -> tuple[str, StorefrontRecord]:
    if "name" in event and "data" in event:
        event = from_pixel(event)
    kind = event.get("type")
    if kind not in TYPES:
        raise PayloadError(f"field 'type' must be one of {', '.join(sorted(TYPES))}")
    key = _token(event.get("client_event_id"), "client_event_id", 100)
    visitor_id = _token(event.get("visitor_id"), "visitor_id")
    occurred_at = parse_time(event.get("occurred_at"), "occurred_at")
    if occurred_at is None:
        raise PayloadError("missing field 'occurred_at'")
    email = _email(event.get("email"), "email")
    if kind == "checkout_contact_info_submitted" and email is None:
        raise PayloadError("missing field 'email'")
    token = event.get("customer_token")
    opt_in = event.get("marketing_opt_in", False)
    if not isinstance(opt_in, bool):
        raise PayloadError("field 'marketing_opt_in' must be true or false")
    if opt_in and email is None:
        raise PayloadError("field 'marketing_opt_in' needs the 'email' it is for")
    record = StorefrontRecord(
        type=kind, visitor_id=visitor_id, occurred_at=occurred_at, email=email,
        customer_platform_id=_optional_id(event.get("customer_id"), "customer_id"),
        customer_token=token if isinstance(token, str) and len(token) < 512 else None,
        product=_product(event.get("product")) if kind == "product_viewed" else None,
        cart=(_cart(event.get("cart"), visitor_id, occurred_at, email,
                    "checkout" if kind in CHECKOUT_TYPES else "cart")
              if event.get("cart") is not None or kind in ("product_added_to_cart", "cart_updated")
              else None),
        merge_lines=kind == "product_added_to_cart",
        marketing_opt_in=opt_in, signed=signed,
    )
    return key, record


def server_only_field(event: Any) -> str | None:
    """A field only the store's own server may send (in a signed request), or None. From a
    browser, a customer id could claim anyone's record (and the consent and name on it), an
    opt-in could subscribe someone else's address, and a cart link would put a stranger's URL
    in our emails."""
    if not isinstance(event, dict):
        return None
    for field in ("customer_id", "marketing_opt_in"):
        if field in event:
            return field
    cart = event.get("cart")
    return "cart.recovery_url" if isinstance(cart, dict) and "recovery_url" in cart else None
