"""POST /collect: storefront events from a shop's pages (storeflow.js, the Shopify pixel) or its
server (the WordPress plugin). Verify, store each event in the inbox, enqueue, answer.

Answers, and why:
- 204 a crawler's user agent: ignored, so bots never start a browse-abandonment email.
- 413 a body over COLLECT_MAX_BODY_BYTES.
- 400 not JSON, no store_id, or an event that breaks the schema (the reason names the field),
  or a field only the store's server may send (a customer id, an opt-in, a cart link) in an
  unsigned request.
- 401 an unknown store, a wrong collect key or a bad X-Storeflow-Signature.
- 403 an Origin that is not the store's own domain (key-authenticated requests only); an opaque
  `Origin: null` (Shopify's pixel sandbox) only with a `page` on the store's own domain.
- 429 over COLLECT_RATE_LIMIT_IP or COLLECT_RATE_LIMIT_STORE.
- 200 {"accepted": n, "duplicates": m}: every event stored (a repeated client_event_id is not).
One malformed event refuses the whole batch, so a sender never has to guess what was kept.
Signed and unsigned events are stored under their own platform names and keys: ingest takes
only a signed cart as the store's word, and a page can never take a server event's id first.
"""
from __future__ import annotations

import json
import logging

from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from redis.exceptions import RedisError

from app.core.config import limits_storage_uri
from app.core.db import db
from app.ingest import drain, inbox
from app.ingest.storefront import auth
from app.models import Store
from connectors.base import PayloadError
from connectors.storefront import PLATFORM, SERVER
from connectors.storefront.normalize import parse, server_only_field

log = logging.getLogger(__name__)
bp = Blueprint("collect", __name__)
# Rate counters live in Redis, shared by every web process; if Redis is down, requests pass.
limiter = Limiter(key_func=get_remote_address, swallow_errors=True)
MAX_EVENTS = 50
CORS_HEADERS = {"Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": "Content-Type, X-Storeflow-Signature",
                "Access-Control-Max-Age": "600", "Vary": "Origin"}


def init_app(app: Flask) -> None:
    """Bind the rate limiter to the app's Redis and register the blueprint."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", limits_storage_uri(app.config["STOREFLOW"].redis_url))
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "storeflow-limits")
    limiter.init_app(app)
    app.register_blueprint(bp)


def _settings():
    return current_app.config["STOREFLOW"]


def _payload() -> dict | None:
    """The body as JSON, read once and only when within the size limit; None otherwise."""
    if "collect_payload" not in g:
        g.collect_payload = None
        size = request.content_length
        if size is not None and size <= _settings().collect_max_body_bytes:
            try:
                g.collect_payload = json.loads(request.get_data(cache=True))
            except ValueError:
                pass
    return g.collect_payload if isinstance(g.collect_payload, dict) else None


def _store_key() -> str:
    payload = _payload() or {}
    return f"collect-store:{payload.get('store_id')}"


def _cors(response: Response, store: Store | None) -> Response:
    origin = request.headers.get("Origin")
    if store is not None and auth.origin_allowed(store, origin):
        response.headers.update({"Access-Control-Allow-Origin": origin, **CORS_HEADERS})
    return response


@bp.route("/collect", methods=["OPTIONS"])
def preflight():
    """Answer a CORS preflight for an Origin that is some store's own domain."""
    origin = request.headers.get("Origin")
    with db.session() as session:
        known = bool(origin) and any(auth.origin_allowed(s, origin)
                                     for s in auth.stores_for_origin(session, origin))
    if not known:
        abort(403, "origin not allowed")
    return Response(status=204, headers={"Access-Control-Allow-Origin": origin, **CORS_HEADERS})


def _read_body() -> tuple[dict, bytes]:
    size = request.content_length
    if size is None:
        abort(411, "a Content-Length is required")
    if size > _settings().collect_max_body_bytes:
        abort(413, f"body larger than {_settings().collect_max_body_bytes} bytes")
    payload = _payload()
    if payload is None:
        abort(400, "body is not a JSON object")
    return payload, request.get_data(cache=True)


def _authenticate(session, payload: dict, body: bytes) -> tuple[Store, bool]:
    """The store the batch is for, and whether its server signed it (else a page sent it)."""
    store_id = payload.get("store_id")
    # stores.id is a PostgreSQL integer: anything outside it names no store.
    if isinstance(store_id, bool) or not isinstance(store_id, int) or not 0 < store_id < 2**31:
        abort(400, "field 'store_id' must be a store's id")
    store = session.get(Store, store_id)
    signature = request.headers.get("X-Storeflow-Signature")
    if signature is not None:
        if store is None or not auth.signature_valid(store, body, signature):
            abort(401, "unknown store or invalid X-Storeflow-Signature")
        return store, True
    if store is None or not auth.key_valid(store, payload.get("key")):
        abort(401, "unknown store or invalid collect key")
    origin = request.headers.get("Origin")
    if not (auth.origin_allowed(store, origin)
            or auth.sandboxed_page_allowed(store, origin, payload.get("page"))):
        abort(403, "origin not allowed for this store")
    return store, False


def _parse_events(payload: dict, signed: bool) -> list[tuple[str, str, bytes]]:
    """(client_event_id, topic, body) for each event of the batch, or a 400 naming the bad one."""
    batch = payload.get("events")
    if not isinstance(batch, list) or not 0 < len(batch) <= MAX_EVENTS:
        abort(400, f"field 'events' must be a list of 1 to {MAX_EVENTS} events")
    parsed = []
    for index, event in enumerate(batch):
        field = None if signed else server_only_field(event)
        if field:
            abort(400, f"events[{index}]: field {field!r} is only accepted in a signed request")
        try:
            key, record = parse(event)
        except PayloadError as error:
            abort(400, f"events[{index}]: {error}")
        parsed.append((key, record.type, json.dumps(event).encode()))
    return parsed


@bp.post("/collect")
@limiter.limit(lambda: _settings().collect_rate_limit_ip)
@limiter.limit(lambda: _settings().collect_rate_limit_store, key_func=_store_key)
def collect():
    """Store a batch of storefront events in the inbox and queue them for ingest."""
    if auth.is_bot(request.headers.get("User-Agent")):
        return Response(status=204)
    payload, body = _read_body()
    with db.session() as session:
        store, signed = _authenticate(session, payload, body)
        parsed = _parse_events(payload, signed)
        store_id = store.id
        platform = SERVER if signed else PLATFORM
        ids = [inbox.accept(session, store_id, platform, topic, f"{platform}:{key}", raw)
               for key, topic, raw in parsed]
    accepted = [event_id for event_id in ids if event_id is not None]
    try:
        if accepted:
            drain.signal(store_id)
    except RedisError as error:
        log.warning("collect stored, queue unavailable (%s); the sweeper will queue it",
                    type(error).__name__, extra={"store_id": store_id})
    body = jsonify(accepted=len(accepted), duplicates=len(ids) - len(accepted))
    return _cors(body, store)
