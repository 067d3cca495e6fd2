"""POST /webhooks/<platform> (a platform that names the shop in its headers) and
/webhooks/<platform>/<store_id> (one whose address names the store): verify, store in the inbox,
enqueue, answer. What each platform sends is its connector's to read.

Answers, and why:
- 401 bad or missing signature, or a shop we do not know: nothing stored.
- 401 a store deleted (purged) by another process while this one still kept its secret
  (app.core.signing_secrets): answered as a shop we do not know, and nothing stored.
- 401 a body that names another shop than its headers (a public app's shops share one signing
  secret): nothing stored.
- 404 a platform we do not know, or take no webhooks from; a store id no store can have
  (app.web.ids).
- 200 a correctly signed privacy (compliance) request for a shop we hold nothing about.
- 400 missing delivery headers or a body that is not JSON: a clear reason.
- 413 a body over MAX_BODY_BYTES (refused before we read it).
- 405 a method other than POST; 404 any other path under /webhooks/ (but `beside`'s).
- 200 a signed delivery for a topic we do not handle: ignored, because any error would only
  make the platform retry in vain for hours.
- 200 a duplicate: already stored, nothing else happens.
- 200 a platform's unsigned test of a new webhook (its connector's `is_ping`): nothing stored;
  anything but 200 and the platform may refuse to save the webhook.
- 503 the database is down: the platform retries; we never answer 200 for an unstored event.
If Redis is down the event is already safe in the inbox: 200, and the sweeper queues it later.
"""
from __future__ import annotations

import json
import logging
from typing import Callable, Mapping

import orjson
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import (InternalServerError, MethodNotAllowed,
                                 RequestEntityTooLarge, abort)
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_input_stream

import connectors
from app.core import signing_secrets
from app.core.config import Config
from app.core.db import db
from app.ingest import intake
from app.models import Store
from app.web import errors, ids
from connectors.base import Connector, Delivery, DeliveryError, PayloadError

log = logging.getLogger(__name__)
PREFIX = "/webhooks/"
# PostgreSQL's SQLSTATE for an insert naming a row that is not there (the store's).
FOREIGN_KEY_VIOLATION = "23503"

# Finds the store a delivery is for and the secret that signs its webhooks.
Signer = Callable[[], tuple[int | None, str | None]]
# A status and its JSON body (None: an empty body).
Answer = tuple[int, dict | None]


def mount(app: Flask, config: Config, beside: tuple[str, ...]) -> None:
    """Answer the platforms' deliveries under PREFIX with a plain WSGI function inside `app`: a
    delivery meets none of Flask's per-request machinery (request and app contexts, URL
    routing, the full app's rate limiter, session and hooks), which cost more CPU than verifying
    and storing it (bench/RESULTS.md). Paths starting with one of `beside` (other blueprints
    under /webhooks) stay the app's."""
    full = app.wsgi_app

    def dispatch(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX) and not path.startswith(beside):
            return _respond(environ, start_response, config.max_body_bytes)
        return full(environ, start_response)

    app.wsgi_app = dispatch


def _respond(environ, start_response, max_body: int):
    try:
        status, answer = _route(environ, max_body)
        headers = []
    except Exception as error:  # noqa: BLE001 - each error gets its answer; a bug is logged
        status, answer, headers = _refusal(error)
    body = json.dumps(answer).encode() if answer is not None else b""
    start_response(f"{status} {HTTP_STATUS_CODES[status]}", [
        *headers, ("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _refusal(error: Exception) -> tuple[int, dict, list[tuple[str, str]]]:
    """An error's answer, as the whole app gives it (app.web.errors); a bug's is a 500."""
    refused = errors.answer(error)
    if refused is None:
        log.exception("webhook failed")
        return 500, {"error": InternalServerError.description}, []
    reason, status = refused
    if isinstance(error, MethodNotAllowed):
        return status, reason, [("Allow", ", ".join(error.valid_methods))]
    return status, reason, []


def _route(environ, max_body: int) -> Answer:
    """POST /webhooks/<platform> (the platform names the shop in its headers) or
    /webhooks/<platform>/<store id> (the address names the store)."""
    platform, _, store = environ["PATH_INFO"].removeprefix(PREFIX).partition("/")
    store_id = ids.parse(store) if store else None
    if not platform or (store and (store_id is None or store_id > ids.INTEGER_MAX)):
        abort(404)  # not a route of ours, or an id no store can have
    if environ["REQUEST_METHOD"] != "POST":
        raise MethodNotAllowed(valid_methods=["POST"])
    connector = _connector(platform)
    body = _body(environ, max_body)
    headers = EnvironHeaders(environ)
    if store_id is None:
        delivery = _read_delivery(connector, headers)
        return _ingress(connector, delivery, body, lambda: _signer(connector, delivery.shop))
    if connector.is_ping(headers, body):
        return 200, None
    delivery = _read_delivery(connector, headers)
    return _ingress(connector, delivery, body,
                    lambda: _store_signer(connector.platform, store_id))


def _signer(connector: Connector, shop: str) -> tuple[int | None, str | None]:
    """The store's id and the secret its webhooks are signed with: its own (a custom app's),
    else the app-wide one (a public app's). Only the secret is decrypted."""
    found = signing_secrets.lookup((connector.platform, shop), lambda: _store(
        Store.platform == connector.platform, Store.domain == shop))
    if found is None:
        return None, None
    store_id, secret = found
    return store_id, secret or connector.app_secret


def _store(*where) -> signing_secrets.Found | None:
    """A store's id and its own webhook secret, read when the cache has neither (one statement
    on a connection of its own)."""
    with db.autocommit() as connection:
        row = connection.execute(select(Store.id, Store.webhook_secret).where(*where)).first()
    return (row.id, row.webhook_secret) if row else None


def _nothing_held(connector, delivery, body: bytes):
    """A privacy request for a shop we hold nothing about (never installed, or already purged):
    signed with the app's secret, it is answered 200 so the platform stops asking."""
    secret = connector.app_secret
    if not secret or not connector.verify(secret, body, delivery.signature):
        log.warning("webhook refused: unknown shop or bad signature", extra={"topic": delivery.topic})
        abort(401, "unknown shop or invalid signature")
    log.info("compliance webhook for a shop we hold nothing about", extra={"topic": delivery.topic})
    return 200, {"status": "nothing held"}


def _store_signer(platform: str, store_id: int) -> tuple[int | None, str | None]:
    """A store named by its id in the delivery URL, and the secret we gave its webhooks."""
    found = signing_secrets.lookup((platform, store_id), lambda: _store(
        Store.platform == platform, Store.id == store_id))
    return found or (None, None)


def _gone(connector: Connector, delivery: Delivery, body: bytes):
    """The store was deleted since this process kept its secret: the answer an unknown shop gets
    (a 500 would only make the platform retry for hours), and a fresh lookup next time."""
    signing_secrets.forget()
    if delivery.topic in connector.compliance_topics:
        return _nothing_held(connector, delivery, body)
    log.warning("webhook refused: unknown shop", extra={"topic": delivery.topic})
    abort(401, "unknown shop or invalid signature")


def _read_delivery(connector: Connector, headers: Mapping[str, str]) -> Delivery:
    try:
        return connector.read_delivery(headers)
    except DeliveryError as error:
        abort(400, str(error))


def _connector(platform: str) -> Connector:
    connector = connectors.get(platform)
    if connector is None or not connector.topics:
        abort(404, "unknown platform")
    return connector


def _body(environ, max_body: int) -> bytes:
    """The request's body, refused with a 413 over `max_body` bytes whether its length was
    announced or it came chunked (werkzeug cuts a chunked body off at its limit without a word,
    so one byte more is read to tell)."""
    body = get_input_stream(environ, max_content_length=max_body + 1).read()
    if len(body) > max_body:
        raise RequestEntityTooLarge()
    return body


def _json(body: bytes):
    """A delivery's JSON, read by orjson (a 15 kB order in a third of json's time); a body orjson
    refuses (NaN, a byte-order mark, a lone surrogate) is json's to accept or refuse, as it was."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            return json.loads(body)
        except RecursionError as error:  # nested deeper than Python's stack: not a payload
            raise ValueError("nested too deeply") from error


def _ingress(connector: Connector, delivery: Delivery, body: bytes, signer: Signer) -> Answer:
    """Verify, store once and enqueue one delivery; answer as the module docstring says. The
    store's secret is usually cached (no query); the insert is written with whatever other
    deliveries this process is storing at the moment, in one statement, and the store's drain
    signalled once for them all (app.ingest.intake)."""
    store_id, secret = signer()
    if store_id is None and delivery.topic in connector.compliance_topics:
        return _nothing_held(connector, delivery, body)
    if not secret or not connector.verify(secret, body, delivery.signature):
        log.warning("webhook refused: unknown shop or bad signature", extra={"topic": delivery.topic})
        abort(401, "unknown shop or invalid signature")
    context = {"store_id": store_id, "topic": delivery.topic}
    if delivery.topic not in connector.topics:
        log.info("webhook ignored: unsupported topic", extra=context)
        return 200, {"status": "ignored", "reason": "unsupported topic"}
    try:
        payload = _json(body)
        key = connector.dedupe_key(delivery, payload)
        if not key.isprintable():  # a NUL, say: PostgreSQL's text refuses it
            raise PayloadError("the delivery's id or version holds control characters")
    except ValueError as error:  # not JSON, or a PayloadError naming the field
        log.warning("webhook refused: %s", "bad payload" if isinstance(error, PayloadError)
                    else "body is not JSON", extra=context)
        abort(400, str(error) if isinstance(error, PayloadError) else "body is not valid JSON")
    if not connector.names_shop(delivery, payload):
        log.warning("webhook refused: the body names another shop", extra=context)
        abort(401, "the body was signed for another shop")
    try:
        stored = intake.accept(intake.Entry(store_id, connector.platform, delivery.topic, key, body))
    except IntegrityError as error:
        if getattr(error.orig, "sqlstate", None) != FOREIGN_KEY_VIOLATION:
            raise
        return _gone(connector, delivery, body)

    if stored.event_id is None:
        log.info("webhook duplicate", extra=context)
        return 200, {"status": "duplicate"}
    return 200, {"status": "accepted"}
