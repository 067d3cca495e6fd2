"""A built flow's webhook step, sent: a small JSON POSTed to the merchant's https address,
signed with the store's outbound secret, by a job after the step commits (never under a run's
lock: the receiver may take seconds).

The signature is `X-Storeflow-Signature: sha256=<hex HMAC-SHA256 of the raw body>` under the
store's `outbound_secret` (`storeflow flows webhook-secret --store S` shows it). The address is
checked as every address a merchant types is (connectors.netguard): internal ones are refused on
every connection, not only at import, and no redirect is followed.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from urllib.parse import urlsplit

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.db import db
from app.models import Store
from app.sync import writeback
from connectors.netguard import AddressRefused, public_session

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Storeflow-Signature"
TIMEOUT = 10  # seconds to connect and to answer
# Throttling and outages: raised, so the job's policy retries them. Other answers are final.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# requests' `verify`: the system's certificate authorities (tests name their own CA; never off).
TRUSTED_CAS: str | bool = True


class WebhookFailed(RuntimeError):
    """The receiver is down or throttling: worth another try."""


def outbound_secret(session: Session, store_id: int) -> str:
    """The store's signing secret, made on first use (under the store's row lock, so two
    first webhooks agree on one)."""
    store = session.execute(
        select(Store).where(Store.id == store_id).with_for_update()).scalar_one()
    if store.outbound_secret is None:
        store.outbound_secret = secrets.token_urlsafe(32)
    return store.outbound_secret


def signature(secret: str, body: bytes) -> str:
    """The header's value for this body: `sha256=` and the hex HMAC-SHA256 under `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def after_commit(session: Session, store_id: int, url: str, payload: dict) -> None:
    """The port's post_webhook: queue `post` once the step commits, its body fixed now so a
    retry sends, and signs, the same bytes."""
    writeback.after_commit(session, post, store_id, url, json.dumps(payload, sort_keys=True))


def post(store_id: int, url: str, body: str) -> str:
    """The job: POST the body, signed. A refused address is final (logged, not retried); a
    receiver down or throttling raises for the retry."""
    with db.session() as session:
        secret = outbound_secret(session, store_id)
    host = urlsplit(url).hostname
    data = body.encode()
    try:
        response = public_session().post(
            url, data=data, timeout=TIMEOUT, allow_redirects=False, verify=TRUSTED_CAS,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature(secret, data)})
    except AddressRefused as error:
        log.warning("flow webhook refused: %s", error, extra={"store_id": store_id})
        return "refused"
    except requests.RequestException as error:
        raise WebhookFailed(f"webhook to {host}: {type(error).__name__}") from None
    if response.status_code in RETRY_STATUSES:
        raise WebhookFailed(f"webhook to {host}: HTTP {response.status_code}")
    log.info("flow webhook to %s answered %d", host, response.status_code,
             extra={"store_id": store_id})
    return str(response.status_code)
