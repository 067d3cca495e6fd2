"""Storeflow as a Shopify app: its credentials, and Admin API clients with a fresh token.

Expiring offline tokens last an hour and their refresh token rotates on every use, so a refresh
happens under the store's row lock and is committed on its own: a flow step that later rolls
back must not take the only valid refresh token with it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from app import clock, stores
from app.db import db
from app.models import Store
from connectors.shopify import oauth, session_token
from connectors.shopify.admin import AdminClient, Unauthorized

log = logging.getLogger(__name__)

# Refresh this long before expiry, so a call never starts with a token about to lapse.
REFRESH_MARGIN = timedelta(minutes=5)


@dataclass
class AppCredentials:
    api_key: str | None = None
    api_secret: str | None = None
    scopes: str = ""
    base_url: str = ""  # ours: the install callback and the webhook address live under it

    @property
    def configured(self) -> bool:
        return bool(self.api_key and self.api_secret)


credentials = AppCredentials()


def configure(api_key: str | None, api_secret: str | None, scopes: str, base_url: str) -> None:
    credentials.api_key, credentials.api_secret = api_key, api_secret
    credentials.scopes, credentials.base_url = scopes, base_url


def webhook_uri() -> str:
    """Where Shopify delivers our webhooks."""
    return f"{credentials.base_url}/webhooks/shopify"


def store_grant(store: Store, grant: oauth.Grant) -> None:
    """Keep a token grant on the store (encrypted columns)."""
    store.access_token = grant.access_token
    store.access_token_expires_at = grant.expires_at
    store.refresh_token = grant.refresh_token
    store.refresh_token_expires_at = grant.refresh_token_expires_at
    if grant.scope:
        store.scopes = grant.scope


def _fresh_token(store_id: int) -> tuple[str, str]:
    """(shop, access token), refreshing an expiring token that is about to lapse."""
    with db.session() as session:
        store = session.execute(select(Store).where(Store.id == store_id)).scalar_one()
        if not _expiring(store):
            return store.domain, _usable(store)
        # Lock and look again: another job may have refreshed while we read.
        store = session.execute(select(Store).where(Store.id == store_id)
                                .with_for_update()).scalar_one()
        if _expiring(store):
            grant = oauth.refresh(store.domain, store.refresh_token, credentials.api_key,
                                  credentials.api_secret, clock.now())
            store_grant(store, grant)
            log.info("shopify token refreshed", extra={"store_id": store_id})
        return store.domain, _usable(store)


def _expiring(store: Store) -> bool:
    return (store.refresh_token is not None and store.access_token_expires_at is not None
            and store.access_token_expires_at - REFRESH_MARGIN <= clock.now())


def _usable(store: Store) -> str:
    if not store.installed:
        raise Unauthorized("the store is uninstalled")
    if not store.access_token:
        raise Unauthorized("the store has no Admin API access token")
    return store.access_token


def admin_client(store_id: int) -> AdminClient:
    """An Admin API client for one store, with a token valid for the next few minutes."""
    shop, token = _fresh_token(store_id)
    return AdminClient(shop=shop, access_token=token)


def connect_embedded(authorization: str) -> int:
    """The store an embedded-admin request comes from, installed through token exchange when we
    hold no token for it yet (subscriptions and backfill then follow in a job). Raises
    session_token.InvalidSessionToken, or oauth.GrantError when Shopify refuses the exchange."""
    from app.jobs import broker
    from app.shopify_sync import setup_store

    shop = embedded_shop(authorization)
    with db.session() as session:
        store = stores.find_by_domain(session, "shopify", shop)
        if store is not None and store.installed and store.access_token:
            return store.id
    token = authorization.partition(" ")[2].strip()
    grant = oauth.exchange_session_token(shop, token, credentials.api_key, credentials.api_secret,
                                         clock.now())
    with db.session() as session:
        store, _ = stores.connect(session, "shopify", shop, access_token=grant.access_token,
                                  webhook_secret=None)
        store_grant(store, grant)
        store_id = store.id
    broker.queue("periodic").enqueue(setup_store, store_id, job_id=f"shopify-setup-{store_id}")
    return store_id


def embedded_shop(authorization: str) -> str:
    """The shop an embedded-admin request comes from (`Authorization: Bearer <session token>`);
    raises session_token.InvalidSessionToken. The settings UI scopes every query to it."""
    return session_token.verify(_bearer(authorization), credentials.api_key,
                                credentials.api_secret)


def embedded_staff_member(authorization: str) -> str | None:
    """Shopify's id of the staff member an embedded-admin request comes from, for the audit log."""
    return session_token.staff_member(_bearer(authorization), credentials.api_key,
                                      credentials.api_secret)


def _bearer(authorization: str) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise session_token.InvalidSessionToken("no session token")
    return token.strip()
