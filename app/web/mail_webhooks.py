"""POST /webhooks/mail/<provider>: bounces and complaints from the mail provider (Amazon SES via
SNS, Postmark, SendGrid, Mailgun). Verify, record, answer; the work is a lookup and an insert,
so it is done here rather than queued, and the provider learns at once whether it landed.

Answers, and why:
- 404 a provider we do not know, or one whose secret is not configured: the endpoint does not exist.
- 413 a body over MAX_BODY_BYTES (1 MiB; a SendGrid batch is a few hundred KB at most).
- 401 a bad or missing signature or credentials, an SNS topic not in SES_SNS_TOPIC_ARNS, an SNS
  message published over an hour ago (a replay), a certificate URL off SNS's hosts: nothing stored.
- 400 a body that is not what the provider sends (not JSON, a field missing).
- 404 every bounce or complaint in the delivery names no message of ours, or another address
  than the one its message went to: nothing stored.
- 200 recorded (or already recorded: a re-delivery changes nothing), or nothing in it concerns
  bounces or complaints (deliveries, opens...), or an SNS subscription confirmed. In a batch,
  the reports that are ours are recorded and the answer counts the rest as unknown.
Logs name the provider, store and message ids, never an address.
"""
from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, jsonify, request

from app.core.db import db
from app.mail.feedback import Malformed, Refused, recording
from app.mail.feedback.providers import PROVIDERS

log = logging.getLogger(__name__)
bp = Blueprint("mail_webhooks", __name__, url_prefix="/webhooks/mail")
MAX_BODY_BYTES = 1024 * 1024


@bp.post("/<provider>")
def receive(provider: str):
    handler = PROVIDERS.get(provider)
    secret = handler and handler.secret(current_app.config["STOREFLOW"])
    if not secret:
        abort(404, "no webhook for this mail provider is configured here")
    context = {"provider": provider}
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        abort(413, "body too large")
    try:
        payload = handler.authenticate(secret, request.headers, body)
        answered = handler.control(payload)
        if answered:
            return jsonify(status=answered), 200
        reports = handler.reports(payload)
    except Refused as error:
        log.warning("mail webhook refused: %s", error, extra=context)
        abort(401, str(error))
    except Malformed as error:
        log.warning("mail webhook refused: %s", error, extra=context)
        abort(400, str(error))
    if not reports:
        return jsonify(status="ignored", reason="no bounce or complaint in it"), 200
    with db.session() as session:
        outcome = recording.record(session, reports)
        if not outcome.recorded and not outcome.duplicates:
            session.rollback()
            log.warning("mail webhook refused: no message of ours", extra=context)
            abort(404, "no message sent by Storeflow to that address has that Message-ID")
    return jsonify(status="recorded", recorded=outcome.recorded, duplicates=outcome.duplicates,
                   unknown=outcome.unknown), 200
