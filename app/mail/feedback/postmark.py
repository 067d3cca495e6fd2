"""Postmark's bounce and spam complaint webhooks.

Postmark signs nothing; it documents HTTP Basic credentials in the webhook URL
(https://postmark:PASSWORD@host/webhooks/mail/postmark), sent over TLS with every delivery.
Both parts are compared in full, in constant time. Postmark replaces the Message-ID over SMTP
with its own, so our outgoing mail carries it as metadata too (X-PM-Metadata-storeflow-message,
app/mail/compose.py), which Postmark echoes in the webhook's Metadata.
"""
from __future__ import annotations

import hmac

from werkzeug.datastructures import Authorization

from app.mail.feedback import (COMPLAINT, HARD_BOUNCE, SOFT_BOUNCE, Malformed, Refused, Report,
                                json_object)

NAME = "postmark"
USER = "postmark"
METADATA_KEY = "storeflow-message"
# Postmark's bounce Types (developer docs, "Bounce types"): which say the address is gone, which
# say try later; the rest (auto-replies, subscribe requests, ...) are not about delivery.
HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated"}
SOFT = {"Transient", "SoftBounce", "DnsError", "Blocked", "DMARCPolicy"}


def secret(config) -> str | None:
    return config.postmark_webhook_password


def authenticate(password: str, headers, body: bytes) -> dict:
    """The payload, once the request carries our Basic credentials."""
    sent = Authorization.from_header(headers.get("Authorization"))
    if sent is None or sent.type != "basic":
        raise Refused("no Basic credentials")
    user_ok = hmac.compare_digest((sent.username or "").encode(), USER.encode())
    password_ok = hmac.compare_digest((sent.password or "").encode(), password.encode())
    if not (user_ok and password_ok):
        raise Refused("wrong Basic credentials")
    return json_object(body)


def control(payload: dict) -> None:
    return None


def reports(payload: dict) -> list[Report]:
    """A Bounce or SpamComplaint record as one Report; other records as none."""
    record_type = payload.get("RecordType")
    if record_type == "SpamComplaint":
        kind = COMPLAINT
    elif record_type == "Bounce" and payload.get("Type") in HARD | SOFT:
        kind = HARD_BOUNCE if payload["Type"] in HARD else SOFT_BOUNCE
    else:
        return []
    metadata = payload.get("Metadata")
    if payload.get("ID") is None or not isinstance(payload.get("Email"), str):
        raise Malformed(f"the Postmark {record_type} record has no ID or Email")
    header = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    return [Report(f"postmark:{record_type}:{payload['ID']}", header, (payload["Email"],), kind)]
