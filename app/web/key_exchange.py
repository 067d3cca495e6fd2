"""WooCommerce's key exchange (/wc-auth/v1/authorize) in three steps, none of which alone can
hand anybody a store:

1. `start`: a browser asks to connect a store URL. We record a pending install bound to that URL
   and to that browser (a random secret in a cookie, only its digest stored), and send the
   browser to the store to approve our keys. Reconnecting a store we already hold is only for a
   merchant signed in to that very store: the pending install names the store from the start.
2. `receive_keys`: WooCommerce's server POSTs the keys, naming the install by our signed,
   single-use reference. They are kept, encrypted, on the pending install and on no store.
3. `complete`: the browser comes back from the store (WooCommerce's return_url). Only the browser
   that started the install (the cookie) binds the keys to the store, once, within minutes, and
   only keys the store itself accepts (so only its admin can have approved them).

A stranger can neither claim a URL we do not hold yet with keys of their own making, nor touch
a store already connected: it keeps its keys and secrets.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from itsdangerous import BadSignature
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.core import clock, stores
from app.mail.links import LinkSigner
from app.models import PendingInstall, Store
from connectors.woocommerce import PLATFORM, keys

INSTALL_SALT = "storeflow.wc-install"
# Long enough to read WooCommerce's approval screen, short enough that a leaked reference is dead.
INSTALL_MAX_AGE = timedelta(minutes=10)

signer = LinkSigner(INSTALL_SALT)


class InstallRefused(ValueError):
    """A step that does not continue an install this browser started (forged, replayed,
    expired, another browser's, or a store held by someone else); the message says which."""


def browser_digest(browser_secret: str) -> str:
    """What we store of the browser's cookie: enough to recognise it, useless to forge it."""
    return hashlib.sha256(browser_secret.encode()).hexdigest()


def start(session: Session, store_url: str, signed_in_store_id: int | None) -> tuple[str, str]:
    """Record a pending install of a validated store URL for this browser: (the authorize URL to
    send it to, the secret to set in its cookie). Refused for a store we already hold unless the
    browser is signed in to that store."""
    existing = stores.find_by_domain(session, PLATFORM, store_url)
    if existing is not None and existing.id != signed_in_store_id:
        raise InstallRefused(
            f"{store_url} is already connected to Storeflow. To reconnect it, sign in to "
            "Storeflow for this store first (a link from `storeflow login-link`), then click "
            "Connect again; an operator can also run `storeflow store add woocommerce`.")
    # Expired installs are of no use to anyone: each start clears them, so strangers' starts
    # cannot pile up.
    session.execute(delete(PendingInstall).where(
        PendingInstall.completed_at.is_(None),
        PendingInstall.created_at < clock.now() - INSTALL_MAX_AGE))
    browser_secret = secrets.token_urlsafe(32)
    pending = PendingInstall(platform=PLATFORM, domain=store_url,
                             browser_digest=browser_digest(browser_secret),
                             store_id=existing.id if existing else None)
    session.add(pending)
    session.flush()
    # The browser comes back through us (proving it started this), then on to the plugin.
    reference = signer.serializer().dumps([pending.id, pending.nonce])
    return keys.authorize_url(store_url, reference, signer.base_url), browser_secret


def receive_keys(session: Session, reference: str, *, consumer_key: str, consumer_secret: str,
                 permissions: str) -> None:
    """Keep the keys WooCommerce posts on the pending install `reference` names, once."""
    pending = _pending(session, reference)
    if pending.consumer_secret is not None:
        raise InstallRefused("keys were already delivered for this install")
    if permissions != keys.SCOPE:
        raise InstallRefused(f"the keys must have {keys.SCOPE} permissions")
    pending.consumer_key, pending.consumer_secret = consumer_key, consumer_secret


def complete(session: Session, reference: str, browser_secret: str) -> tuple[Store, bool]:
    """Bind the delivered keys to the store, for the browser that started the install, once.
    Returns (store, created)."""
    pending = _pending(session, reference)
    if not browser_secret or not hmac.compare_digest(
            pending.browser_digest.encode(), browser_digest(browser_secret).encode()):
        raise InstallRefused("this install was started in another browser; start it again here")
    if pending.consumer_secret is None:
        raise InstallRefused("WooCommerce has not delivered the keys for this install")
    held = stores.find_by_domain(session, PLATFORM, pending.domain)
    if held is not None and held.id != pending.store_id:
        raise InstallRefused(f"{pending.domain} was connected by someone else meanwhile")
    if not keys.accepted_by_the_store(pending.domain, pending.consumer_key,
                                      pending.consumer_secret):
        raise InstallRefused(f"WooCommerce at {pending.domain} does not accept the keys sent for "
                             "this install (or could not be reached); start again")
    store, created = stores.connect_with_keys(session, PLATFORM, pending.domain,
                                              consumer_key=pending.consumer_key,
                                              consumer_secret=pending.consumer_secret)
    pending.completed_at = clock.now()
    pending.store_id = store.id
    pending.consumer_key = pending.consumer_secret = None  # they live on the store now
    return store, created


def _pending(session: Session, reference: str) -> PendingInstall:
    """The open, unexpired pending install a signed reference names, locked; else refused."""
    try:
        install_id, nonce = signer.serializer().loads(
            reference, max_age=int(INSTALL_MAX_AGE.total_seconds()))
    except (BadSignature, TypeError, ValueError):
        raise InstallRefused("no install was started for this reference") from None
    pending = session.execute(
        select(PendingInstall).where(PendingInstall.id == install_id).with_for_update()
    ).scalar_one_or_none() if isinstance(install_id, int) else None
    if (pending is None or pending.completed_at is not None or not isinstance(nonce, str)
            or not hmac.compare_digest(pending.nonce.encode(), nonce.encode())
            or clock.now() - pending.created_at > INSTALL_MAX_AGE):
        raise InstallRefused("no install was started for this reference, or it has expired")
    return pending
