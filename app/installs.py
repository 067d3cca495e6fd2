"""WooCommerce's key exchange (/wc-auth/v1/authorize): a pending install we record, the URL that
sends the merchant to approve it, and the callback that binds the delivered keys to a store.

The callback is an unauthenticated POST from the store's server; what makes it trustworthy is
its `user_id`, which we signed and which names a pending install with its single-use nonce.
"""
from __future__ import annotations

import hmac
from datetime import timedelta
from urllib.parse import urlencode

from itsdangerous import BadSignature
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock, woocommerce
from app.mail.links import LinkSigner
from app.models import PendingInstall, Store

INSTALL_SALT = "storeflow.wc-install"
INSTALL_MAX_AGE = timedelta(hours=1)
APP_NAME = "Storeflow"
SCOPE = "read_write"

signer = LinkSigner(INSTALL_SALT)


class InstallRefused(ValueError):
    """A callback that does not complete an install we started (forged, replayed, expired)."""


def start(session: Session, store_url: str) -> str:
    """Record a pending install for a validated store URL; the authorize URL to send them to."""
    pending = PendingInstall(platform=woocommerce.PLATFORM, domain=store_url)
    session.add(pending)
    session.flush()
    query = urlencode({
        "app_name": APP_NAME, "scope": SCOPE,
        "user_id": signer.serializer().dumps([pending.id, pending.nonce]),
        # Back to the companion plugin's settings page, which finishes the connection.
        "return_url": f"{store_url}/wp-admin/admin.php?page=storeflow",
        "callback_url": f"{signer.base_url}/install/woocommerce/callback",
    })
    return f"{store_url}/wc-auth/v1/authorize?{query}"


def complete(session: Session, reference: str, *, consumer_key: str, consumer_secret: str,
             permissions: str) -> tuple[Store, bool]:
    """Bind delivered keys to the store of the pending install `reference` names, once."""
    try:
        install_id, nonce = signer.serializer().loads(
            reference, max_age=int(INSTALL_MAX_AGE.total_seconds()))
    except (BadSignature, TypeError, ValueError):
        raise InstallRefused("no install was started for this reference") from None
    pending = session.execute(
        select(PendingInstall).where(PendingInstall.id == install_id).with_for_update()
    ).scalar_one_or_none()
    if (pending is None or pending.completed_at is not None or not isinstance(nonce, str)
            or not hmac.compare_digest(pending.nonce.encode(), nonce.encode())):
        raise InstallRefused("no install was started for this reference")
    if permissions != SCOPE:
        raise InstallRefused(f"the keys must have {SCOPE} permissions")
    store, created = woocommerce.connect(session, pending.domain, consumer_key=consumer_key,
                                         consumer_secret=consumer_secret)
    pending.completed_at = clock.now()
    pending.store_id = store.id
    return store, created
