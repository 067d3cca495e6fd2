"""Email design documents (docs/email-designs.md): read and checked in one place.

A design is checked against its published JSON Schema (email-design-1.schema.json beside this
module), then for what a schema cannot say: every merchant text renders in the sandbox of
app.mail.merchant_text, and image and button addresses are https with a host. Every problem is
named by JSON pointer (RFC 6901), as flows.document does for flow documents.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from app.core import pointed
from app.mail import merchant_text
from app.mail.design.blocks import SAMPLE

FORMAT = 1
SCHEMA = Path(__file__).parent / "email-design-1.schema.json"
MAX_BYTES = 64_000
MAX_PROBLEMS = 20
# The fields holding a merchant's text (placeholders allowed), block by block.
TEXTS = ("text", "title", "note", "reason")
URLS = ("src", "href", "url")


class DesignError(pointed.PointedError):
    """A design that cannot be used: every problem, each with its JSON pointer."""


def parse(text: str | bytes) -> dict:
    """A design from JSON text, checked; DesignError if it cannot be used."""
    if len(text) > MAX_BYTES:  # before parsing: a huge document costs nothing to refuse
        raise DesignError([("", f"a design is at most {MAX_BYTES:,} bytes")])
    try:
        design = json.loads(text)
    except ValueError as error:
        raise DesignError([("", f"not JSON: {error}")]) from None
    return check(design)


def check(design) -> dict:
    """The design if it can be used, else DesignError listing every problem."""
    if len(json.dumps(design, ensure_ascii=False).encode()) > MAX_BYTES:
        raise DesignError([("", f"a design is at most {MAX_BYTES:,} bytes")])
    shape = sorted(pointed.validator(SCHEMA).iter_errors(design), key=lambda e: list(e.absolute_path))
    if shape:
        raise DesignError([_explain(error) for error in shape[:MAX_PROBLEMS]])
    problems = []
    if "preheader" in design:
        problems += _text_problems(design["preheader"], "/preheader")
    for index, block in enumerate(design["blocks"]):
        for field in TEXTS:
            if field in block:
                problems += _text_problems(block[field], f"/blocks/{index}/{field}")
        for field in URLS:
            if field in block and not urlsplit(block[field]).hostname:
                problems.append((f"/blocks/{index}/{field}", "an https address with a host"))
    if problems:
        raise DesignError(problems[:MAX_PROBLEMS])
    return design


def _text_problems(source: str, pointer: str) -> list[tuple[str, str]]:
    try:
        merchant_text.check(source, SAMPLE)
    except merchant_text.MerchantTextError as error:
        return [(pointer, str(error))]
    return []


def _explain(error) -> tuple[str, str]:
    """(pointer, reason) of a schema error, in words a merchant can act on."""
    pointer = pointed.pointer(error.absolute_path)
    if error.validator == "additionalProperties":
        return pointer, f"unknown field(s): {error.message.split('(')[-1].rstrip(')')}"
    if error.validator == "pattern" and error.schema.get("pattern", "").startswith("^https://"):
        return pointer, "only https:// addresses (no javascript:, http: or spaces)"
    if error.validator == "oneOf":
        return pointer, "a button has either a `link` (shop, cart, offer, confirm, tracking) " \
                        "or its own https `url`, not both"
    return pointer, error.message[:200]
