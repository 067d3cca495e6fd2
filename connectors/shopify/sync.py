"""A Shopify store kept in sync through the Admin API: its expiring token refreshed, its webhook
subscriptions, its history page by page, and what changed since reconciliation last looked.

Pages and changes are Admin GraphQL nodes, delivered to the inbox under `admin/<resource>`
topics (records.TOPICS), which no webhook carries.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterator

from connectors.shopify import oauth, records, subscriptions
from connectors.shopify.admin import AdminClient, Unauthorized
from connectors.shopify.credentials import credentials
from connectors.sync import Change, Grant, Page, StoreAccess

# Refresh this long before expiry, so a call never starts with a token about to lapse.
REFRESH_MARGIN = timedelta(minutes=5)
ORDER_HISTORY = timedelta(days=60)
# Reconciliation asks again about these; products and checkouts wait for webhooks.
CHANGING = ("customers", "orders")


def client(store: StoreAccess) -> AdminClient:
    """An Admin API client for one store with the token it holds."""
    if not store.installed:
        raise Unauthorized("the store is uninstalled")
    if not store.access_token:
        raise Unauthorized("the store has no Admin API access token")
    return AdminClient(shop=store.domain, access_token=store.access_token)


def needs_refresh(store: StoreAccess, now: datetime) -> bool:
    return (store.refresh_token is not None and store.access_token_expires_at is not None
            and store.access_token_expires_at - REFRESH_MARGIN <= now)


def refresh(store: StoreAccess, now: datetime) -> Grant:
    """A new token, and a new refresh token: Shopify rotates it on every use."""
    return oauth.refresh(store.domain, store.refresh_token, credentials.api_key,
                         credentials.api_secret, now)


def subscribe(store: StoreAccess, webhook_url: str) -> list[str]:
    """Every missing webhook subscription, created; the topics that were missing."""
    return subscriptions.ensure(client(store), webhook_url)


def _filter(resource: str, now: datetime) -> str | None:
    if resource == "orders":
        return f"created_at:>='{(now - ORDER_HISTORY).date().isoformat()}'"
    if resource == "checkouts":
        return "status:open"
    return None


def backfill_pages(store: StoreAccess, resource: str, cursor: str | None,
                   now: datetime) -> Iterator[Page]:
    """Customers, products, open checkouts and the last 60 days of orders."""
    for nodes, next_cursor in client(store).pages(
            records.QUERIES[resource], records.CONNECTIONS[resource],
            {"query": _filter(resource, now)}, after=cursor):
        yield Page(records.topic(resource), nodes, next_cursor)


def changes_since(store: StoreAccess, since: datetime) -> Iterator[Change]:
    """Customers and orders updated since `since`; each version of a node is one change."""
    admin = client(store)
    query = {"query": f"updated_at:>='{since.isoformat()}'"}
    for resource in CHANGING:
        for nodes, _ in admin.pages(records.QUERIES[resource], records.CONNECTIONS[resource],
                                    query):
            for node in nodes:
                if isinstance(node, dict):
                    key = f"{resource}:{node.get('id')}:{node.get('updatedAt')}"
                    yield Change(resource, records.topic(resource), key[:255], node)
