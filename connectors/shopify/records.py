"""Admin GraphQL nodes (customers, products, orders, abandoned checkouts) -> the same
platform-neutral records the webhooks produce, with the queries that fetch them page by page."""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlsplit

from connectors.base import (CheckoutRecord, ConsentRecord, CustomerRecord, LineRecord,
                             OrderRecord, ProductRecord, Record)
from connectors.values import normalize_email, parse_id, parse_money, parse_time, require, text

PAGE = 50

_CUSTOMER_FIELDS = """id firstName lastName phone tags createdAt updatedAt
  defaultEmailAddress { emailAddress marketingState marketingOptInLevel marketingUpdatedAt }
  defaultAddress { countryCodeV2 provinceCode }"""
_LINE_FIELDS = """lineItems(first: 100) { nodes { title quantity sku variantTitle
  originalUnitPriceSet { shopMoney { amount } } product { id } variant { id } } }"""

QUERIES = {
    "customers": f"""query Customers($after: String, $query: String) {{
  customers(first: {PAGE}, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{ {_CUSTOMER_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}""",
    "products": f"""query Products($after: String, $query: String) {{
  products(first: {PAGE}, after: $after, query: $query) {{
    nodes {{ id title handle status updatedAt productType vendor
      featuredMedia {{ preview {{ image {{ url }} }} }}
      variants(first: 100) {{ nodes {{ price inventoryQuantity inventoryPolicy
        inventoryItem {{ tracked }} }} }} }}
    pageInfo {{ hasNextPage endCursor }} }} }}""",
    "orders": f"""query Orders($after: String, $query: String) {{
  orders(first: {PAGE}, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{ id name email createdAt processedAt updatedAt cancelledAt discountCodes
      displayFinancialStatus displayFulfillmentStatus
      totalPriceSet {{ shopMoney {{ amount currencyCode }} }}
      customer {{ {_CUSTOMER_FIELDS} }} {_LINE_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }} }} }}""",
    "checkouts": f"""query Checkouts($after: String, $query: String) {{
  abandonedCheckouts(first: {PAGE}, after: $after, query: $query) {{
    nodes {{ id abandonedCheckoutUrl createdAt updatedAt completedAt
      totalPriceSet {{ shopMoney {{ amount currencyCode }} }}
      customer {{ {_CUSTOMER_FIELDS} }} {_LINE_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }} }} }}""",
}
CONNECTIONS = {"customers": "customers", "products": "products", "orders": "orders",
               "checkouts": "abandonedCheckouts"}


def gid(value: Any, name: str) -> int:
    """`gid://shopify/Order/450789469` -> 450789469."""
    if not isinstance(value, str) or "/" not in value:
        return parse_id(value, name)
    return parse_id(value.rsplit("/", 1)[1], name)


def _money(value: Any, name: str):
    return parse_money(require(require(value, "shopMoney"), "amount"), name)


def _email(node: dict) -> dict:
    return node.get("defaultEmailAddress") or {}


def customer(node: dict) -> CustomerRecord:
    address = node.get("defaultAddress") or {}
    return CustomerRecord(
        platform_id=gid(require(node, "id"), "customer.id"),
        email=normalize_email(_email(node).get("emailAddress")),
        first_name=text(node.get("firstName"), 255), last_name=text(node.get("lastName"), 255),
        phone=text(node.get("phone"), 64), country_code=text(address.get("countryCodeV2"), 2),
        province_code=text(address.get("provinceCode"), 32),
        created_at=parse_time(node.get("createdAt"), "customer.createdAt"),
        updated_at=parse_time(node.get("updatedAt"), "customer.updatedAt"),
        tags=tuple(text(tag, 255) for tag in node.get("tags") or [] if isinstance(tag, str)),
    )


def consent(node: dict) -> list[ConsentRecord]:
    """The customer's email-marketing state, when Shopify reports one."""
    email = _email(node)
    if not email.get("marketingState"):
        return []
    return [ConsentRecord(
        customer_platform_id=gid(node["id"], "customer.id"),
        email=normalize_email(email.get("emailAddress")), state=email["marketingState"].lower(),
        opt_in_level=text((email.get("marketingOptInLevel") or "").lower() or None, 32),
        updated_at=parse_time(email.get("marketingUpdatedAt"), "marketingUpdatedAt"),
    )]


def _lines(node: dict) -> tuple[LineRecord, ...]:
    return tuple(LineRecord(
        title=text(item.get("title")) or "", quantity=int(require(item, "quantity")),
        price=_money(require(item, "originalUnitPriceSet"), "lineItems.price"),
        product_id=gid(item["product"]["id"], "product.id") if item.get("product") else None,
        variant_id=gid(item["variant"]["id"], "variant.id") if item.get("variant") else None,
        sku=text(item.get("sku"), 255), variant_title=text(item.get("variantTitle")),
    ) for item in (node.get("lineItems") or {}).get("nodes") or [])


def _embedded(node: dict) -> CustomerRecord | None:
    return customer(node["customer"]) if node.get("customer") else None


def _embedded_consent(node: dict) -> list[ConsentRecord]:
    return consent(node["customer"]) if node.get("customer") else []


def _status(value: Any, absent: str | None = None) -> str | None:
    # REST (and so our webhooks) reports an unfulfilled order's fulfillment_status as null.
    status = text(value, 32)
    return None if status is None or status.lower() == absent else status.lower()


def order(node: dict) -> list[Record]:
    total = require(require(node, "totalPriceSet"), "shopMoney")
    record = OrderRecord(
        platform_id=gid(require(node, "id"), "order.id"),
        email=normalize_email(node.get("email")),
        currency=text(require(total, "currencyCode"), 3),
        total_price=parse_money(require(total, "amount"), "totalPrice"),
        placed_at=parse_time(node.get("processedAt") or require(node, "createdAt"), "createdAt"),
        updated_at=parse_time(require(node, "updatedAt"), "updatedAt"),
        customer=_embedded(node), name=text(node.get("name"), 64),
        financial_status=_status(node.get("displayFinancialStatus")),
        fulfillment_status=_status(node.get("displayFulfillmentStatus"), "unfulfilled"),
        cancelled_at=parse_time(node.get("cancelledAt"), "cancelledAt"),
        discount_codes=tuple(text(c, 255) for c in node.get("discountCodes") or []
                             if isinstance(c, str)),
        lines=_lines(node),
    )
    return [record, *_embedded_consent(node)]


def _checkout_token(node: dict) -> str:
    """The checkout's token, which keys it in webhooks: the recovery URL's path carries it
    (`/checkouts/<token>/recover`). The GraphQL id is the fallback when the URL has none."""
    parts = urlsplit(node.get("abandonedCheckoutUrl") or "").path.strip("/").split("/")
    if len(parts) >= 2 and parts[-1] == "recover":
        return parts[-2][:255]
    return f"gid-{gid(node['id'], 'checkout.id')}"


def checkout(node: dict) -> list[Record]:
    total = require(require(node, "totalPriceSet"), "shopMoney")
    embedded = _embedded(node)
    record = CheckoutRecord(
        token=_checkout_token(node), platform_id=gid(require(node, "id"), "checkout.id"),
        email=embedded.email if embedded else None,
        currency=text(require(total, "currencyCode"), 3),
        total_price=parse_money(require(total, "amount"), "totalPrice"),
        updated_at=parse_time(require(node, "updatedAt"), "updatedAt"),
        created_at=parse_time(node.get("createdAt"), "createdAt"),
        customer=embedded, recovery_url=text(node.get("abandonedCheckoutUrl"), 2048),
        completed_at=parse_time(node.get("completedAt"), "completedAt"), lines=_lines(node),
    )
    return [record, *_embedded_consent(node)]


def product(node: dict) -> list[Record]:
    variants = (node.get("variants") or {}).get("nodes") or []
    prices = [parse_money(require(v, "price"), "variants.price") for v in variants]
    image = ((node.get("featuredMedia") or {}).get("preview") or {}).get("image") or {}

    def available(variant: dict) -> bool:
        untracked = (variant.get("inventoryItem") or {}).get("tracked") is False
        quantity = variant.get("inventoryQuantity")
        return (untracked or variant.get("inventoryPolicy") == "CONTINUE"
                or (isinstance(quantity, int) and quantity > 0))

    return [ProductRecord(
        platform_id=gid(require(node, "id"), "product.id"), title=text(require(node, "title")),
        updated_at=parse_time(require(node, "updatedAt"), "updatedAt"),
        in_stock=any(available(v) for v in variants), handle=text(node.get("handle"), 255),
        image_url=text(image.get("url"), 2048), price=min(prices, default=None),
        status=_status(node.get("status")),
        product_type=text(node.get("productType"), 255) or None,
        vendor=text(node.get("vendor"), 255) or None,
    )]


def customer_records(node: dict) -> list[Record]:
    return [customer(node), *consent(node)]


MAPPERS: dict[str, Callable[[dict], list[Record]]] = {
    "customers": customer_records, "products": product, "orders": order, "checkouts": checkout,
}


def topic(resource: str) -> str:
    """The inbox topic of a resource's nodes (backfill pages, reconciled changes)."""
    return f"admin/{resource}"


# Topics no webhook carries: nodes read from the Admin API.
TOPICS = {topic(resource): mapper for resource, mapper in MAPPERS.items()}
