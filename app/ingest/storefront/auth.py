"""Who may post storefront events for a store: its own pages (public key + Origin) or its own
server (a signature with the store's webhook secret)."""
from __future__ import annotations

import hmac

from crawlerdetect import CrawlerDetect
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.stores import host, own_hosts
from app.models import Store
from connectors.signing import verify

_crawlers = CrawlerDetect()


def origin_allowed(store: Store, origin: str | None) -> bool:
    """An Origin header from the store's own domain (or its www. twin)."""
    if not origin or origin == "null":
        return False
    return host(origin) in own_hosts(store)


def sandboxed_page_allowed(store: Store, origin: str | None, page: object) -> bool:
    """Shopify runs app pixels in a sandbox whose requests carry `Origin: null`: such a
    request must name the page it ran on (`page`), on the store's own domain."""
    return origin == "null" and isinstance(page, str) and host(page) in own_hosts(store)


def stores_for_origin(session: Session, origin: str) -> list[Store]:
    """Stores whose domain is this Origin's host (a preflight has no body to name one)."""
    name = host(origin).removeprefix("www.")
    forms = [form for bare in (name, f"www.{name}")
             for form in (bare, f"http://{bare}", f"https://{bare}", f"https://{bare}/")]
    return session.execute(select(Store).where(Store.domain.in_(forms))).scalars().all()


def key_valid(store: Store, key: object) -> bool:
    """The store's public collect key, compared in constant time like any credential."""
    return isinstance(key, str) and hmac.compare_digest(key.encode(), store.collect_key.encode())


def signature_valid(store: Store, body: bytes, signature: str) -> bool:
    """Server-side senders sign the raw body as Shopify and WooCommerce sign webhooks:
    base64 HMAC-SHA256 with the store's webhook secret, compared in constant time."""
    return bool(store.webhook_secret) and verify(store.webhook_secret, body, signature)


def is_bot(user_agent: str | None) -> bool:
    """Crawlers, previewers and headless browsers (CrawlerDetect's list)."""
    return bool(user_agent) and _crawlers.is_crawler(user_agent)
