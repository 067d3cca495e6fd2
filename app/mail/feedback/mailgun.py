"""Mailgun's webhooks.

Mailgun puts the signature in the body: `signature.signature` is the hex HMAC-SHA256 of
`timestamp + token` with the HTTP webhook signing key, compared in constant time. Mailgun
keeps the Message-ID we set and echoes it, without angle brackets, in
`event-data.message.headers.message-id`.
"""
from __future__ import annotations

import hashlib
import hmac
import json

from app.mail.feedback import COMPLAINT, HARD_BOUNCE, SOFT_BOUNCE, Malformed, Refused, Report

NAME = "mailgun"


def secret(config) -> str | None:
    return config.mailgun_webhook_signing_key


def authenticate(key: str, headers, body: bytes) -> dict:
    """The payload, once its signature block verifies."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise Malformed("body is not JSON") from None
    signed = payload.get("signature") if isinstance(payload, dict) else None
    parts = [signed.get(name) for name in ("timestamp", "token", "signature")] \
        if isinstance(signed, dict) else []
    if len(parts) != 3 or not all(isinstance(part, str) for part in parts):
        raise Refused("missing signature")
    timestamp, token, signature = parts
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise Refused("bad signature")
    if not isinstance(payload.get("event-data"), dict):
        raise Malformed("no event-data object")
    return payload


def control(payload: dict) -> None:
    return None


def reports(payload: dict) -> list[Report]:
    """A failed delivery (permanent: hard, temporary: soft) or a complaint as one Report."""
    event = payload["event-data"]
    if event.get("event") == "failed":
        kind = HARD_BOUNCE if event.get("severity") == "permanent" else SOFT_BOUNCE
    elif event.get("event") == "complained":
        kind = COMPLAINT
    else:
        return []
    try:
        header = event["message"]["headers"]["message-id"]
        recipient = event["recipient"]
    except (KeyError, TypeError):
        raise Malformed("the Mailgun event has no message-id or recipient") from None
    # Mailgun's event id; the signature's token is unique per delivery too.
    key = event.get("id") or payload["signature"]["token"]
    return [Report(f"mailgun:{key}", header, (recipient,), kind)]
