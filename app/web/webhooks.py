"""POST /webhooks/<platform>: verify, store in the inbox, enqueue, answer.

Answers, and why:
- 401 bad or missing signature, or a shop we do not know: nothing stored.
- 200 a correctly signed privacy (compliance) request for a shop we hold nothing about.
- 400 missing delivery headers or a body that is not JSON: a clear reason.
- 413 a body over MAX_BODY_BYTES (Flask refuses it before we read it).
- 200 a signed delivery for a topic we do not handle: ignored, because any error would only
  make the platform retry in vain for hours.
- 200 a duplicate: already stored, nothing else happens.
- 503 the database is down: the platform retries; we never answer 200 for an unstored event.
If Redis is down the event is already safe in the inbox: 200, and the sweeper queues it later.
"""
from __future__ import annotations

import json
import logging

from flask import Blueprint, abort, jsonify, request
from redis.exceptions import RedisError

import connectors
from sqlalchemy import select

from app import inbox, shopify_app
from app.db import db
from app.jobs import enqueue_ingest
from app.models import Store
from connectors.base import DeliveryError

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def _signer(session, platform: str, shop: str) -> tuple[int | None, str | None]:
    """The store's id and the secret its webhooks are signed with (a custom app signs with its
    own secret, a public app with the app-wide API secret). Only the secret is decrypted."""
    row = session.execute(
        select(Store.id, Store.webhook_secret).where(Store.platform == platform, Store.domain == shop)
    ).first()
    if row is None:
        return None, None
    return row.id, row.webhook_secret or shopify_app.credentials.api_secret


def _nothing_held(connector, delivery, body: bytes):
    """A privacy request for a shop we hold nothing about (never installed, or already purged):
    signed with the app's secret, it is answered 200 so the platform stops asking."""
    secret = shopify_app.credentials.api_secret
    if not secret or not connector.verify(secret, body, delivery.signature):
        log.warning("webhook refused: unknown shop or bad signature", extra={"topic": delivery.topic})
        abort(401, "unknown shop or invalid signature")
    log.info("compliance webhook for a shop we hold nothing about", extra={"topic": delivery.topic})
    return jsonify(status="nothing held"), 200


@bp.post("/<platform>")
def receive(platform: str):
    connector = connectors.get(platform) or abort(404, "unknown platform")
    body = request.get_data(cache=False)
    try:
        delivery = connector.read_delivery(request.headers)
    except DeliveryError as error:
        abort(400, str(error))

    with db.session() as session:
        store_id, secret = _signer(session, platform, delivery.shop)
        if store_id is None and delivery.topic in connector.compliance_topics:
            return _nothing_held(connector, delivery, body)
        if not secret or not connector.verify(secret, body, delivery.signature):
            log.warning("webhook refused: unknown shop or bad signature", extra={"topic": delivery.topic})
            abort(401, "unknown shop or invalid signature")
        context = {"store_id": store_id, "topic": delivery.topic}
        if delivery.topic not in connector.topics:
            log.info("webhook ignored: unsupported topic", extra=context)
            return jsonify(status="ignored", reason="unsupported topic"), 200
        try:
            json.loads(body)
        except ValueError:
            log.warning("webhook refused: body is not JSON", extra=context)
            abort(400, "body is not valid JSON")
        event_id = inbox.accept(session, store_id, platform, delivery.topic, delivery.key, body)

    if event_id is None:
        log.info("webhook duplicate", extra=context)
        return jsonify(status="duplicate"), 200
    try:
        enqueue_ingest(event_id)
    except RedisError as error:
        log.warning("webhook stored, queue unavailable (%s); the sweeper will queue it",
                    type(error).__name__, extra={**context, "event_id": event_id})
    return jsonify(status="accepted"), 200
