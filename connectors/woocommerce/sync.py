"""A WooCommerce store kept in sync through its REST API: our webhooks (WooCommerce disables a
webhook after five failed deliveries and never retries one), its history page by page, and what
changed since reconciliation last looked, as deliveries with the webhooks' own dedupe keys, so
anything already delivered is a no-op."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterator

from connectors.base import Delivery, PayloadError
from connectors.sync import Change, Page, StoreAccess
from connectors.woocommerce.client import WooClient
from connectors.woocommerce.normalize import gmt
from connectors.woocommerce.subscriptions import ensure_webhooks
from connectors.woocommerce.webhooks import dedupe_key

RECENT_ORDERS = timedelta(days=90)
# Each REST collection and the topic its objects are normalized as.
TOPICS = {"customers": "customer.updated", "products": "product.updated",
          "orders": "order.updated"}


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def subscribe(store: StoreAccess, webhook_url: str) -> list[str]:
    """Our webhooks created or re-activated, with the store's webhook secret."""
    repairs = ensure_webhooks(WooClient.for_store(store), webhook_url, store.webhook_secret)
    return [f"{repair.topic} ({repair.action})" for repair in repairs]


def backfill_pages(store: StoreAccess, resource: str, cursor: str | None,
                   now: datetime) -> Iterator[Page]:
    """Customers, products and the last 90 days of orders; the cursor is a page number."""
    params = {"after": _stamp(now - RECENT_ORDERS), "dates_are_gmt": "true"} \
        if resource == "orders" else None
    for items, next_page in WooClient.for_store(store).numbered_pages(
            resource, params, start=int(cursor or 1)):
        yield Page(TOPICS[resource], items, None if next_page is None else str(next_page))


def changes_since(store: StoreAccess, since: datetime) -> Iterator[Change]:
    """Orders and products modified since `since`; customers registered since (the customers
    endpoint cannot filter by modification)."""
    client, after = WooClient.for_store(store), _stamp(since)
    found = {
        "orders": _objects(client.pages("orders", {
            "modified_after": after, "dates_are_gmt": "true", "orderby": "modified"})),
        "products": _objects(client.pages("products", {
            "modified_after": after, "dates_are_gmt": "true"})),
        "customers": _registered_since(client.pages("customers", {
            "orderby": "registered_date", "order": "desc"}), since),
    }
    for resource, items in found.items():
        delivery = Delivery(shop="", topic=TOPICS[resource], key="", signature="")
        for item in items:
            try:
                key = dedupe_key(delivery, item)
            except PayloadError:
                continue
            yield Change(resource, delivery.topic, key, item)


def _objects(pages) -> Iterator[dict]:
    return (item for page in pages for item in page if isinstance(item, dict))


def _registered_since(pages, since: datetime) -> Iterator[dict]:
    for item in _objects(pages):
        try:
            created = gmt(item, "date_created_gmt")
        except PayloadError:
            continue
        if created is None or created < since:
            return  # newest first: the rest are older still
        yield item
