"""POST /sign-in/wordpress: the companion plugin's "Open Storeflow" button, server to server.

The plugin signs a small JSON body with the store's signing secret (the one it sends events
with) and gets back the path of a sign-in link for that store, naming the WordPress user, that
works once and for a minute; the button then sends the browser there. Only a request the store
signed, fresh (its timestamp within WINDOW) and never seen before (its nonce is spent in Redis)
gets a link. Every refusal is the same 401, so the answer tells a stranger nothing about which
store ids exist.

Body: {"store_id": 3, "user_id": 7, "email": "owner@example.com", "ts": <unix seconds>,
       "nonce": "<16 to 64 of [A-Za-z0-9_-]>"}; header X-Storeflow-Signature: base64 HMAC-SHA256.
"""
from __future__ import annotations

import logging
import re
import time
from datetime import timedelta

from flask import Blueprint, abort, jsonify, request

from app.core import stores
from app.core.db import db
from app.jobs import broker
from app.web.ids import BIGINT_MAX, INTEGER_MAX
from app.web.ui import auth
from connectors import signing
from connectors.woocommerce import PLATFORM

log = logging.getLogger(__name__)
bp = Blueprint("wordpress_sign_in", __name__)

# A WordPress server's clock may be a little off; a captured request is good for no longer.
WINDOW = timedelta(seconds=60)
LINK_LIFETIME = timedelta(minutes=1)
NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
EMAIL_MAX_LENGTH = 254
SEEN_KEY = "storeflow:wp-sign-in-seen:{}:{}"  # store id, nonce


@bp.post("/sign-in/wordpress")
def wordpress_sign_in():
    """A one-minute, single-use sign-in link for the store's WordPress user, or 400/401."""
    body = request.get_data(cache=True)
    fields = _parsed(request.get_json(force=True, silent=True))
    with db.session() as session:
        store = stores.installed(session, PLATFORM, fields["store_id"])
        secret = store.webhook_secret if store is not None else None
    signature = request.headers.get("X-Storeflow-Signature", "")
    if secret is None or not signing.verify(secret, body, signature):
        return _refused("unknown store or invalid signature")
    if abs(time.time() - fields["ts"]) > WINDOW.total_seconds():
        return _refused("stale timestamp")
    # Spent for as long as its timestamp could pass the check above, on either side of now.
    if not broker.connection.set(SEEN_KEY.format(store.id, fields["nonce"]), 1, nx=True,
                                 ex=int(2 * WINDOW.total_seconds()) + 1):
        return _refused("replayed request")
    member = f"{fields['email']} (WordPress user {fields['user_id']})"
    token = auth.login_token(store.id, lifetime=LINK_LIFETIME, member=member)
    log.info("wordpress sign-in link issued", extra={"store_id": store.id})
    return jsonify(path=f"/app/login/{token}", expires_in=int(LINK_LIFETIME.total_seconds()))


def _parsed(payload) -> dict:
    """The body's fields, each of its type, or 400 naming what is wrong."""
    if not isinstance(payload, dict):
        abort(400, "body must be a JSON object")
    for name, maximum in (("store_id", INTEGER_MAX), ("user_id", BIGINT_MAX), ("ts", 2**40)):
        value = payload.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
            abort(400, f"{name} must be a whole number from 1 to {maximum}")
    email = payload.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > EMAIL_MAX_LENGTH:
        abort(400, f"email must be an address of at most {EMAIL_MAX_LENGTH} characters")
    if not isinstance(payload.get("nonce"), str) or not NONCE.fullmatch(payload["nonce"]):
        abort(400, "nonce must be 16 to 64 letters, digits, '-' or '_'")
    return payload


def _refused(reason: str):
    log.warning("wordpress sign-in refused: %s", reason)
    return jsonify(error="unknown store, stale or replayed request, or invalid signature"), 401
