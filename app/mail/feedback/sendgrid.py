"""SendGrid's Signed Event Webhook.

SendGrid signs `timestamp + raw body` with ECDSA P-256 / SHA-256 and shows the operator the
public key (base64 DER); the signature and timestamp come in X-Twilio-Email-Event-Webhook-*
headers. Verified with `cryptography`, which the sendgrid package's own helper would replace
only by pulling in starkbank-ecdsa. A delivery is a batch of events; our Message-ID comes back
as each event's `smtp-id`.
"""
from __future__ import annotations

import base64
import binascii
import json
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from app.core.config import ec_public_key
from app.mail.feedback import COMPLAINT, HARD_BOUNCE, SOFT_BOUNCE, Malformed, Refused, Report

NAME = "sendgrid"
SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
# `dropped` events: SendGrid would not even try, for a reason it names.
DROPPED = {"Bounced Address": HARD_BOUNCE, "Spam Reporting Address": COMPLAINT}


@lru_cache(maxsize=4)
def secret(config) -> str | None:
    return config.sendgrid_webhook_public_key


def authenticate(key: str, headers, body: bytes) -> list:
    """The batch of events, once its signature verifies."""
    signature, timestamp = headers.get(SIGNATURE), headers.get(TIMESTAMP)
    if not signature or not timestamp:
        raise Refused("missing signature headers")
    try:
        ec_public_key(key).verify(base64.b64decode(signature, validate=True),
                               timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        raise Refused("bad signature") from None
    try:
        events = json.loads(body)
    except ValueError:
        raise Malformed("body is not JSON") from None
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise Malformed("body is not a JSON array of events")
    return events


def control(events: list) -> None:
    return None


def reports(events: list) -> list[Report]:
    """Bounces (a `blocked` one is soft), spam reports, and drops for a bounced or reporting
    address; opens, deliveries and the rest are none of ours."""
    found = []
    for event in events:
        kind = _kind(event)
        if kind is None:
            continue
        if not isinstance(event.get("sg_event_id"), str) or not isinstance(event.get("email"), str):
            raise Malformed("a SendGrid event has no sg_event_id or email")
        found.append(Report(f"sendgrid:{event['sg_event_id']}", event.get("smtp-id"),
                            (event["email"],), kind))
    return found


def _kind(event: dict) -> str | None:
    name = event.get("event")
    if name == "bounce":
        return SOFT_BOUNCE if event.get("type") == "blocked" else HARD_BOUNCE
    if name == "spamreport":
        return COMPLAINT
    if name == "dropped":
        return DROPPED.get(event.get("reason"))
    return None
