"""GET /install/shopify and its callback: the public app's authorization-code grant.

Answers, and why:
- 400 a missing or malformed shop domain (checked before anything else uses it), or a code
  Shopify will not exchange (used, expired).
- 401 a link whose hmac is wrong or older than a day: not signed by Shopify for us.
- 403 a callback whose state is unknown, used, for another shop or from another browser.
- 503 the app has no SHOPIFY_API_KEY / SHOPIFY_API_SECRET.
"""
from __future__ import annotations

import hmac
import logging
import secrets

from flask import Blueprint, abort, redirect, request, session

from app import clock, shopify_app, stores
from app.db import db
from app.jobs import broker
from app.shopify_sync import setup_store
from connectors.shopify import oauth
from connectors.shopify.admin import endpoint
from connectors.shopify.shop import normalize_shop_domain

log = logging.getLogger(__name__)
bp = Blueprint("install_shopify", __name__, url_prefix="/install")

STATE_TTL = 600  # seconds a merchant has to approve the app


def _state_key(state: str) -> str:
    return f"shopify:install-state:{state}"


def _verified_shop() -> str:
    """The link's shop, once the domain is valid and Shopify's signature checks out."""
    credentials = shopify_app.credentials
    if not credentials.configured:
        abort(503, "this Storeflow is not set up as a public Shopify app")
    try:
        shop = normalize_shop_domain(request.args.get("shop", ""))
    except ValueError as error:
        abort(400, str(error))
    if not oauth.verify_query(credentials.api_secret, request.args.to_dict(), clock.now()):
        log.warning("install refused: bad or expired hmac")
        abort(401, "invalid or expired signature")
    return shop


@bp.get("/shopify")
def shopify_install():
    """Send the merchant to Shopify to approve our scopes."""
    shop = _verified_shop()
    state = secrets.token_urlsafe(24)
    # Redis makes the state single-use; the signed cookie ties it to this browser.
    broker.connection.set(_state_key(state), shop, ex=STATE_TTL)
    session["shopify_state"] = state
    credentials = shopify_app.credentials
    return redirect(oauth.authorize_url(shop, credentials.api_key, credentials.scopes,
                                        f"{credentials.base_url}/install/shopify/callback", state))


def _missing_scopes(granted: str) -> set[str]:
    # A write scope includes its read scope.
    have = {scope.strip() for scope in granted.split(",") if scope.strip()}
    have |= {"read_" + scope[len("write_"):] for scope in have if scope.startswith("write_")}
    return {s.strip() for s in shopify_app.credentials.scopes.split(",") if s.strip()} - have


@bp.get("/shopify/callback")
def shopify_callback():
    """Exchange the code, connect the store, then subscribe and backfill in a job."""
    shop = _verified_shop()
    state = request.args.get("state", "")
    expected = session.pop("shopify_state", "")
    owner = broker.connection.getdel(_state_key(state)) if state else None
    if not state or not hmac.compare_digest(expected.encode(), state.encode()) \
            or owner is None or owner.decode() != shop:
        abort(403, "unknown, used or foreign install state; start the install again")
    credentials = shopify_app.credentials
    try:
        grant = oauth.exchange_code(shop, request.args.get("code", ""), credentials.api_key,
                                    credentials.api_secret, clock.now())
    except oauth.GrantError as error:
        abort(400, str(error))
    if _missing_scopes(grant.scope):
        abort(403, "the app was not granted the access it needs; install it again")
    with db.session() as db_session:
        store, created = stores.connect(db_session, "shopify", shop,
                                        access_token=grant.access_token, webhook_secret=None)
        shopify_app.store_grant(store, grant)
        store_id = store.id
    log.info("shopify store %s", "installed" if created else "reinstalled",
             extra={"store_id": store_id})
    broker.queue("periodic").enqueue(setup_store, store_id, job_id=f"shopify-setup-{store_id}")
    return redirect(f"{endpoint.shop_url(shop)}/admin/apps/{credentials.api_key}")
