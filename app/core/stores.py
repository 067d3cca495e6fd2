"""Finding stores, and rows that belong to a store. Every lookup of a tenant row goes through
`get_owned`, so a request for one store can never read another's data."""
from __future__ import annotations

import secrets
from typing import TypeVar
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import clock
from app.models import Store

T = TypeVar("T")


class StoreNotFound(LookupError):
    pass


def host(address: str) -> str:
    """`https://Shop.example.com/` or `shop.example.com` -> `shop.example.com` (port kept)."""
    address = address.strip()
    return urlsplit(address if "//" in address else f"//{address}").netloc.lower()


def own_hosts(store: Store) -> set[str]:
    """The hosts a store's own pages are served from: its domain and that domain's www. twin."""
    own = host(store.domain)
    return {own, f"www.{own}"}


def home_url(store: Store) -> str:
    """The store's home page: its domain over https (a WooCommerce store URL as given)."""
    return store.domain if "//" in store.domain else f"https://{store.domain}"


def find_by_domain(session: Session, platform: str, domain: str) -> Store | None:
    return session.execute(
        select(Store).where(Store.platform == platform, Store.domain == domain)
    ).scalar_one_or_none()


def installed(session: Session, platform: str, store_id: int) -> Store | None:
    """An installed store of `platform` by id; None once it is gone or uninstalled."""
    store = session.execute(select(Store).where(
        Store.id == store_id, Store.platform == platform)).scalar_one_or_none()
    return store if store is not None and store.installed else None


def resolve(session: Session, reference: str) -> Store:
    """A store by its id, or by its domain (Shopify) / URL (WooCommerce), as the CLI takes it."""
    reference = reference.strip()
    if reference.isdigit():
        store = session.get(Store, int(reference))
    else:
        store = session.execute(
            select(Store).where(Store.domain == reference.lower().rstrip("/"))
        ).scalar_one_or_none()
    if store is None:
        raise StoreNotFound(f"no store {reference!r}")
    return store


def get_owned(session: Session, model: type[T], store_id: int, row_id: int) -> T | None:
    """A row of `model` by id, only if it belongs to `store_id`. A row the session already
    holds costs no query (a send reads the customer and checkout its guard just read)."""
    row = session.get(model, row_id) if row_id is not None else None
    return row if row is not None and row.store_id == store_id else None


def connect(session: Session, platform: str, domain: str, *, access_token: str,
            webhook_secret: str | None, api_key: str | None = None) -> tuple[Store, bool]:
    """Create a store, or update it on reconnect (never a duplicate). Returns (store, created)."""
    store = find_by_domain(session, platform, domain)
    created = store is None
    if created:
        store = Store(platform=platform, domain=domain)
        session.add(store)
    store.access_token = access_token
    store.api_key = api_key
    store.webhook_secret = webhook_secret
    store.installed_at = clock.now()
    store.uninstalled_at = None
    session.flush()
    return store, created


def connect_with_keys(session: Session, platform: str, url: str, *, consumer_key: str,
                      consumer_secret: str, webhook_secret: str | None = None) -> tuple[Store, bool]:
    """Connect a store by API keys, its webhooks signed with a secret of our making. A reconnect
    keeps that secret unless a new one is given: the store's plugin signs with it."""
    existing = find_by_domain(session, platform, url)
    secret = webhook_secret or (existing.webhook_secret if existing else None) \
        or secrets.token_urlsafe(32)
    return connect(session, platform, url, access_token=consumer_secret, api_key=consumer_key,
                   webhook_secret=secret)
