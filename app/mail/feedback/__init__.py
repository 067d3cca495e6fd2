"""Bounces and complaints the mail provider reports: each report is matched to the message it is
about, recorded once (a MessageEvent keyed by the provider's id of the report), and a hard bounce
or a complaint suppresses the address in that message's store.

A provider module (ses, postmark, sendgrid, mailgun) authenticates a delivery and turns its body
into Reports; `recording.record` does the rest, the same for all of them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

HARD_BOUNCE, SOFT_BOUNCE, COMPLAINT = "hard_bounce", "soft_bounce", "complaint"
# The Suppression reason each kind leaves behind; a soft bounce is only recorded.
SUPPRESSES = {HARD_BOUNCE: "hard_bounce", COMPLAINT: "complaint"}
# A Message-ID is <local@domain>; anything longer than our column is not one of ours.
MAX_MESSAGE_ID = 255


class Refused(Exception):
    """The delivery is not from the provider (bad or missing signature, wrong topic, replay)."""


class Malformed(ValueError):
    """The body is not what the provider sends (not JSON, a field missing or of the wrong type)."""


@dataclass(frozen=True)
class Report:
    """One bounce or complaint: the provider's id of it, our Message-ID as the provider echoes
    it, the addresses it concerns and its kind."""
    key: str
    message_id: str | None
    recipients: tuple[str, ...]
    kind: str


def json_object(body: bytes) -> dict:
    """The body as a JSON object, or Malformed saying why not."""
    try:
        value = json.loads(body)
    except ValueError:
        raise Malformed("body is not JSON") from None
    if not isinstance(value, dict):
        raise Malformed("body is not a JSON object")
    return value


def message_id_header(value: object) -> str | None:
    """Our Message-ID in its stored form (<...>), however the provider spells it (Mailgun drops
    the angle brackets); None for anything that cannot be one."""
    if not isinstance(value, str):
        return None
    core = value.strip().removeprefix("<").removesuffix(">")
    if not core or "@" not in core or any(c.isspace() or c in "<>" for c in core):
        return None
    header = f"<{core}>"
    return header if len(header) <= MAX_MESSAGE_ID else None
