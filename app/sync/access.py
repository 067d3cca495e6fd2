"""A store's credentials as its connector takes them, renewed before they lapse.

A platform whose tokens expire (Shopify's public apps: an hour, with a refresh token that
rotates on every use) is asked for new ones under the store's row lock, committed on their
own: a flow step that later rolls back must not take the only valid refresh token with it.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

import connectors
from app.core import clock
from app.core.db import db
from app.models import Store
from connectors.sync import Grant, StoreAccess

log = logging.getLogger(__name__)


def of(store: Store) -> StoreAccess:
    """What a connector may know of a store (decrypted credentials, no database row)."""
    return StoreAccess(
        store_id=store.id, platform=store.platform, domain=store.domain,
        installed=store.installed, access_token=store.access_token, api_key=store.api_key,
        webhook_secret=store.webhook_secret, refresh_token=store.refresh_token,
        access_token_expires_at=store.access_token_expires_at, scopes=store.scopes)


def keep_grant(store: Store, grant: Grant) -> None:
    """Keep a token grant on the store (encrypted columns)."""
    store.access_token = grant.access_token
    store.access_token_expires_at = grant.expires_at
    store.refresh_token = grant.refresh_token
    store.refresh_token_expires_at = grant.refresh_token_expires_at
    if grant.scope:
        store.scopes = grant.scope


def fresh(store_id: int) -> StoreAccess:
    """The store's credentials, valid for the next few minutes."""
    with db.session() as session:
        store = session.execute(select(Store).where(Store.id == store_id)).scalar_one()
        connector = connectors.get(store.platform)
        if not connector.needs_refresh(of(store), clock.now()):
            return of(store)
        # Lock and look again: another job may have refreshed while we read.
        store = session.execute(select(Store).where(Store.id == store_id)
                                .with_for_update()).scalar_one()
        if connector.needs_refresh(of(store), clock.now()):
            keep_grant(store, connector.refresh(of(store), clock.now()))
            log.info("access token refreshed", extra={"store_id": store_id})
        return of(store)
