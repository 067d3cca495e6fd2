"""Installing from the store's side (see app/web/key_exchange.py for why it takes three steps):
GET /install/woocommerce sends the merchant's browser to approve our keys, WooCommerce's server
POSTs them to /install/woocommerce/callback, and the browser's return to
/install/woocommerce/return binds them to the store.

Answers, and why:
- 302 to the store's /wc-auth/v1/authorize for a valid https store URL, with a cookie that binds
  the install to this browser.
- 400 a store URL that is not https, carries credentials or names no public host.
- 403 a store we already hold, unless this browser is signed in to it.
- 503 BASE_URL is not https: WooCommerce only posts keys to an https callback.
- callback: 200 keys kept for the install; 400 a body without the documented string fields;
  403 an install nobody started here, expired, or whose keys already came.
- return: 302 on to the plugin's page once the keys are bound; 403 another browser, an expired or
  used install, keys the store's REST API does not accept, or a store connected by someone else
  meanwhile; 400 the merchant declined.
- POST /install/woocommerce/handshake: the companion plugin, proving it holds the store's
  consumer secret, gets the store id, webhook secret and collect key it signs events with
  (200), or 401 for anything unproven (a stale timestamp, an unknown store, a bad signature).
"""
from __future__ import annotations

import logging
import time

from flask import Blueprint, abort, current_app, jsonify, redirect, request

from app.core import stores
from app.core.db import db
from app.sync.setup import queue_setup
from app.web import key_exchange
from app.web.ui import auth
from connectors import signing
from connectors.woocommerce import PLATFORM
from connectors.woocommerce.site import normalize_store_url

log = logging.getLogger(__name__)
bp = Blueprint("install_woocommerce", __name__, url_prefix="/install")
CALLBACK_FIELDS = ("consumer_key", "consumer_secret", "key_permissions", "user_id")


BROWSER_COOKIE = "storeflow_wc_install"
COOKIE_PATH = "/install/woocommerce"


@bp.get("/woocommerce")
def woocommerce_start():
    """Record a pending install for this browser and redirect to the store's approval screen."""
    try:
        store_url = normalize_store_url(request.args.get("store", ""))
    except ValueError as error:
        abort(400, str(error))
    if not current_app.config["STOREFLOW"].base_url.startswith("https://"):
        abort(503, "BASE_URL must be an https:// address for WooCommerce to send keys to it")
    try:
        signed_in = auth.signed_in_store_id()
    except auth.SessionTokenRefused as error:
        abort(401, str(error))
    with db.session() as session:
        try:
            target, browser_secret = key_exchange.start(session, store_url, signed_in)
        except key_exchange.InstallRefused as error:
            log.warning("woocommerce install refused: store already connected")
            abort(403, str(error))
    response = redirect(target, 302)
    # Lax: the browser sends it back on WooCommerce's top-level redirect to our return URL.
    response.set_cookie(BROWSER_COOKIE, browser_secret, path=COOKIE_PATH, httponly=True,
                        secure=True, samesite="Lax",
                        max_age=int(key_exchange.INSTALL_MAX_AGE.total_seconds()))
    return response


@bp.post("/woocommerce/callback")
def woocommerce_callback():
    """Keep the keys WooCommerce posts, encrypted, on the pending install they name."""
    payload = request.get_json(force=True, silent=True)
    if not isinstance(payload, dict):
        abort(400, "body is not a JSON object")
    fields = {name: payload.get(name) for name in CALLBACK_FIELDS}
    # WooCommerce posts user_id as given; a number here was never one of our references.
    missing = [name for name, value in fields.items()
               if not isinstance(value, str) or not 0 < len(value) <= 1024]
    if missing:
        abort(400, f"field {missing[0]!r} must be a non-empty string")
    with db.session() as session:
        try:
            key_exchange.receive_keys(
                session, fields["user_id"], consumer_key=fields["consumer_key"],
                consumer_secret=fields["consumer_secret"], permissions=fields["key_permissions"])
        except key_exchange.InstallRefused as error:
            log.warning("woocommerce callback refused")
            abort(403, str(error))
    return jsonify(status="received"), 200


@bp.get("/woocommerce/return")
def woocommerce_return():
    """The merchant's browser back from approving: bind the keys, then on to the plugin."""
    if request.args.get("success") != "1":
        abort(400, "The keys were not approved in WooCommerce, so the store is not connected.")
    with db.session() as session:
        try:
            store, created = key_exchange.complete(session, request.args.get("user_id", ""),
                                               request.cookies.get(BROWSER_COOKIE, ""))
        except key_exchange.InstallRefused as error:
            log.warning("woocommerce install return refused")
            abort(403, str(error))
        store_id, store_url = store.id, store.domain
    queue_setup(store_id)
    log.info("woocommerce store %s", "connected" if created else "reconnected",
             extra={"store_id": store_id})
    # The plugin's page handshakes on success=1 (it signs with the keys it just made).
    response = redirect(f"{store_url}/wp-admin/admin.php?page=storeflow&success=1", 302)
    response.delete_cookie(BROWSER_COOKIE, path=COOKIE_PATH)
    return response


HANDSHAKE_WINDOW_SECONDS = 600


@bp.post("/woocommerce/handshake")
def woocommerce_handshake():
    """Hand the plugin what it signs storefront events with, once it proves who it is."""
    body = request.get_data(cache=True)
    payload = request.get_json(force=True, silent=True)
    stamp = payload.get("ts") if isinstance(payload, dict) else None
    if isinstance(stamp, bool) or not isinstance(stamp, int):
        abort(400, "body must be a JSON object with a numeric 'ts' and a 'store' URL")
    try:
        store_url = normalize_store_url(payload.get("store") or "")
    except ValueError as error:
        abort(400, str(error))
    with db.session() as session:
        store = stores.find_by_domain(session, PLATFORM, store_url)
        signature = request.headers.get("X-Storeflow-Signature", "")
        # The plugin signs with the consumer secret WooCommerce gave us; a replay is only
        # good for a few minutes and returns the same answer to the same store.
        if (store is None or not store.access_token or abs(time.time() - stamp) > HANDSHAKE_WINDOW_SECONDS
                or not signing.verify(store.access_token, body, signature)):
            log.warning("woocommerce handshake refused")
            abort(401, "unknown store, stale timestamp or invalid signature")
        return jsonify(store_id=store.id, webhook_secret=store.webhook_secret,
                       collect_key=store.collect_key)
