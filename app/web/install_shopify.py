"""GET /install/shopify and its callback: the public app's authorization-code grant.

Answers, and why:
- 400 a missing or malformed shop domain (checked before anything else uses it), or a code
  Shopify will not exchange (used, expired).
- 401 a link whose hmac is wrong or older than a day: not signed by Shopify for us.
- 403 a callback whose state is unknown, used, for another shop or from another browser.
- 503 the app has no SHOPIFY_API_KEY / SHOPIFY_API_SECRET.

An embedded-admin request for a shop we hold no token for installs it by token exchange
(`connect_embedded`, called by the settings UI's sign-in).
"""
from __future__ import annotations

import hmac
import logging
import secrets

from flask import Blueprint, abort, redirect, request, session

from app.core import clock, stores
from app.core.db import db
from app.jobs import broker
from app.sync.access import keep_grant
from app.sync.setup import queue_setup
from connectors.shopify import PLATFORM, oauth
from connectors.shopify.admin import endpoint
from connectors.shopify.credentials import credentials, embedded_shop
from connectors.shopify.shop import normalize_shop_domain

log = logging.getLogger(__name__)
bp = Blueprint("install_shopify", __name__, url_prefix="/install")

STATE_TTL = 600  # seconds a merchant has to approve the app


def _state_key(state: str) -> str:
    return f"shopify:install-state:{state}"


def _verified_shop() -> str:
    """The link's shop, once the domain is valid and Shopify's signature checks out."""
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
    return redirect(oauth.authorize_url(shop, credentials.api_key, credentials.scopes,
                                        f"{credentials.base_url}/install/shopify/callback", state))


def _missing_scopes(granted: str) -> set[str]:
    # A write scope includes its read scope.
    have = {scope.strip() for scope in granted.split(",") if scope.strip()}
    have |= {"read_" + scope[len("write_"):] for scope in have if scope.startswith("write_")}
    return {s.strip() for s in credentials.scopes.split(",") if s.strip()} - have


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
    try:
        grant = oauth.exchange_code(shop, request.args.get("code", ""), credentials.api_key,
                                    credentials.api_secret, clock.now())
    except oauth.GrantError as error:
        abort(400, str(error))
    if _missing_scopes(grant.scope):
        abort(403, "the app was not granted the access it needs; install it again")
    with db.session() as db_session:
        store_id, created = _connect(db_session, shop, grant)
    log.info("shopify store %s", "installed" if created else "reinstalled",
             extra={"store_id": store_id})
    queue_setup(store_id)
    return redirect(f"{endpoint.shop_url(shop)}/admin/apps/{credentials.api_key}")


def connect_embedded(authorization: str) -> int:
    """The store an embedded-admin request comes from, installed through token exchange when we
    hold no token for it yet (subscriptions and backfill then follow in a job). Raises
    session_token.InvalidSessionToken, or oauth.GrantError when Shopify refuses the exchange."""
    shop = embedded_shop(authorization)
    with db.session() as db_session:
        store = stores.find_by_domain(db_session, PLATFORM, shop)
        if store is not None and store.installed and store.access_token:
            return store.id
    token = authorization.partition(" ")[2].strip()
    grant = oauth.exchange_session_token(shop, token, credentials.api_key, credentials.api_secret,
                                         clock.now())
    with db.session() as db_session:
        store_id, _ = _connect(db_session, shop, grant)
    queue_setup(store_id)
    return store_id


def _connect(db_session, shop: str, grant: oauth.Grant) -> tuple[int, bool]:
    """A public-app store with its token grant: (store id, created)."""
    store, created = stores.connect(db_session, PLATFORM, shop, access_token=grant.access_token,
                                    webhook_secret=None)
    keep_grant(store, grant)
    return store.id, created
