"""Shopify's published samples with ids, people, products and times changed: the bodies the demo
delivers, and the ones flow tests deliver."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from app.demo.published import published

# Shopify's published checkout and order samples were last updated at this instant.
SAMPLE_TIME = datetime(2022, 1, 1, 0, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Item:
    """A product as the shop sells it; variant ids follow from the product's."""

    id: int
    handle: str
    title: str
    price: Decimal
    image_url: str
    stock: int = 40

    @property
    def variant_id(self) -> int:
        return self.id * 10 + 1


@dataclass(frozen=True)
class Person:
    id: int
    first_name: str
    last_name: str
    email: str
    country: str = "US"
    birthday: date | None = None
    # The state or province code of their address; None: the address names none.
    region: str | None = None


def consent_update(customer_id: int, email: str, state: str = "subscribed",
                   level: str | None = "single_opt_in", updated: datetime = SAMPLE_TIME) -> dict:
    """The customers_email_marketing_consent/update sample, for this customer."""
    payload = published("shopify/customers_email_marketing_consent_update.json")
    payload.update(customer_id=customer_id, email_address=email)
    payload["email_marketing_consent"].update(
        state=state, opt_in_level=level, consent_updated_at=updated.isoformat())
    return payload


def checkout_sample(updated: datetime = SAMPLE_TIME, **changes) -> dict:
    """The published checkout sample, last touched at `updated`, typed with its customer's own
    address (the sample's differs, and a customer's consent and name go to no other address)."""
    payload = published("shopify/checkouts_create.json")
    payload.update({"updated_at": updated.isoformat(), "created_at": updated.isoformat(),
                    "email": payload["customer"]["email"], **changes})
    return payload


def order_sample(placed: datetime, **changes) -> dict:
    """The published order sample, placed at `placed` with its customer's own address (see
    `checkout_sample`), and, unlike the sample, not cancelled: the sample is an order cancelled
    at the moment it was placed."""
    payload = published("shopify/orders_create.json")
    own = payload["customer"]["email"]
    payload.update({"created_at": placed.isoformat(), "processed_at": placed.isoformat(),
                    "updated_at": placed.isoformat(), "cancelled_at": None,
                    "cancel_reason": None, "email": own, "contact_email": own, **changes})
    return payload


def pixel(name: str, **changes) -> dict:
    """A published Web Pixel standard event with a fresh event id."""
    event = published(f"shopify/pixel/{name}.json")
    event["id"] = f"sh-{uuid.uuid4()}"
    event.update(changes)
    return event


def customer(person: Person, updated: datetime) -> dict:
    """The customers/create sample for `person`; a known birthday rides in Shopify's standard
    `facts.birth_date` metafield."""
    payload = published("shopify/customers_create.json")
    stamp = updated.isoformat()
    payload.update(id=person.id, email=person.email, first_name=person.first_name,
                   last_name=person.last_name, created_at=stamp, updated_at=stamp,
                   admin_graphql_api_id=f"gid://shopify/Customer/{person.id}")
    payload["default_address"].update(customer_id=person.id, first_name=person.first_name,
                                      last_name=person.last_name, country_code=person.country,
                                      province=person.region, province_code=person.region,
                                      name=f"{person.first_name} {person.last_name}")
    if person.birthday:
        payload["metafields"] = [{"namespace": "facts", "key": "birth_date", "type": "date",
                                  "value": person.birthday.isoformat()}]
    return payload


def _embedded(sample: dict, person: Person) -> dict:
    """A sample's embedded customer, made `person`'s (no timestamps, as Shopify embeds it)."""
    embedded = dict(sample["customer"], id=person.id, email=person.email,
                    first_name=person.first_name, last_name=person.last_name,
                    admin_graphql_api_id=f"gid://shopify/Customer/{person.id}")
    embedded["default_address"] = dict(embedded["default_address"], customer_id=person.id,
                                       country_code=person.country, province=person.region,
                                       province_code=person.region)
    return embedded


def _lines(sample_line: dict, cart: list[tuple[Item, int]]) -> list[dict]:
    return [dict(sample_line, product_id=item.id, variant_id=item.variant_id, title=item.title,
                 name=item.title, price=str(item.price), quantity=quantity, sku=item.handle,
                 variant_title=None)
            for item, quantity in cart]


def _total(cart: list[tuple[Item, int]]) -> str:
    return str(sum((item.price * quantity for item, quantity in cart), Decimal("0")))


def checkout(token: str, person: Person, cart: list[tuple[Item, int]], updated: datetime,
             recovery_url: str) -> dict:
    """The checkouts/create sample: `person` reached checkout with `cart`."""
    payload = checkout_sample(updated, token=token, cart_token=f"cart-{token}",
                              email=person.email, abandoned_checkout_url=recovery_url)
    payload["customer"] = _embedded(payload, person)
    payload["line_items"] = _lines(payload["line_items"][0], cart)
    payload.update(total_price=_total(cart), subtotal_price=_total(cart),
                   total_line_items_price=_total(cart), total_tax="0.00")
    return payload


def order(order_id: int, number: int, person: Person, cart: list[tuple[Item, int]],
          placed: datetime, checkout_token: str | None = None) -> dict:
    """The orders/create sample: `person` bought `cart` (through a checkout, when given)."""
    payload = order_sample(placed, id=order_id, name=f"#{number}", number=number,
                           order_number=number, email=person.email, contact_email=person.email,
                           checkout_token=checkout_token, financial_status="paid",
                           fulfillment_status=None, fulfillments=[],
                           admin_graphql_api_id=f"gid://shopify/Order/{order_id}")
    payload["customer"] = _embedded(payload, person)
    payload["line_items"] = _lines(payload["line_items"][0], cart)
    payload.update(total_price=_total(cart), subtotal_price=_total(cart),
                   current_total_price=_total(cart), total_line_items_price=_total(cart),
                   total_tax="0.00", discount_codes=[])
    return payload


def fulfillment(fulfillment_id: int, order_id: int, updated: datetime, tracking: str,
                shipment_status: str | None = None) -> dict:
    """The fulfillments/create sample: the order shipped with UPS under `tracking`."""
    payload = published("shopify/fulfillments_create.json")
    url = f"https://www.ups.com/track?tracknum={tracking}"
    payload.update(id=fulfillment_id, order_id=order_id, status="success",
                   shipment_status=shipment_status, updated_at=updated.isoformat(),
                   created_at=updated.isoformat(), tracking_company="UPS",
                   tracking_number=tracking, tracking_numbers=[tracking],
                   tracking_url=url, tracking_urls=[url])
    return payload


def product(item: Item, updated: datetime) -> dict:
    """The products/update sample for `item`, one variant in stock, with its picture."""
    payload = published("shopify/products_update.json")
    variant = dict(payload["variants"][0], id=item.variant_id, product_id=item.id,
                   price=str(item.price), compare_at_price=None, title="Default Title",
                   inventory_quantity=item.stock, old_inventory_quantity=item.stock,
                   admin_graphql_api_id=f"gid://shopify/ProductVariant/{item.variant_id}")
    payload.update(id=item.id, title=item.title, handle=item.handle, vendor="Juniper & Oak",
                   updated_at=updated.isoformat(), variants=[variant], body_html=item.title,
                   image={"src": item.image_url}, images=[{"src": item.image_url}],
                   admin_graphql_api_id=f"gid://shopify/Product/{item.id}")
    return payload


def _variant(sample_variant: dict, item: Item, image: dict) -> dict:
    """A pixel `productVariant` for `item`."""
    product_ = dict(sample_variant["product"], id=str(item.id), title=item.title,
                    untranslatedTitle=item.title, url=f"/products/{item.handle}",
                    vendor="Juniper & Oak")
    return dict(sample_variant, id=str(item.variant_id), image=image, product=product_,
                price={"amount": float(item.price), "currencyCode": "USD"},
                title="Default Title", untranslatedTitle="Default Title")


def viewed(visitor: str, item: Item, at: datetime) -> dict:
    """The pixel's product_viewed: `visitor` looked at `item`."""
    event = pixel("product_viewed", clientId=visitor, timestamp=at.isoformat())
    event["data"]["productVariant"] = _variant(event["data"]["productVariant"], item,
                                               {"src": item.image_url})
    return event


def added_to_cart(visitor: str, item: Item, quantity: int, at: datetime, cart_token: str) -> dict:
    """The pixel's product_added_to_cart: `visitor` put `quantity` of `item` in their cart."""
    event = pixel("product_added_to_cart", clientId=visitor, timestamp=at.isoformat(),
                  cart_token=cart_token)
    line = event["data"]["cartLine"]
    line["merchandise"] = _variant(line["merchandise"], item, {"src": item.image_url})
    line["quantity"] = quantity
    line["cost"] = {"totalAmount": {"amount": float(item.price * quantity), "currencyCode": "USD"}}
    return event
