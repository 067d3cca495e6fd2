"""A flow step's email -> subject, HTML and text part. The subject is its template,
`flows/templates/<flow>/<step>/subject.txt`; the body is drawn from a block design
(app.mail.design): the store's own design of the email when it has one, else the step's
default, `design.json` beside the subject."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.mail import merchant_text
from app.mail.design import document, email

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parents[2] / "flows" / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


@lru_cache(maxsize=1)
def _subjects() -> Environment:
    """The subject lines' templates: plain text, one line each."""
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


@lru_cache(maxsize=None)
def default_design(template: str) -> dict | None:
    """The step's default design (`design.json` beside its subject); None for no such step."""
    path = TEMPLATES / template / "design.json"
    return document.check(json.loads(path.read_text())) if path.exists() else None


def render(template: str, context: dict[str, Any], design: dict | None = None) -> Rendered:
    """Render one step's three parts with `context`. The merchant's own subject line and
    message (`subject`, `message` in context) replace the template's subject and opening
    paragraph (`lead`) when they render; a built flow's email also has its own preheader and
    button (an https address, else the shop's). `design` (a store's own, checked) replaces the
    step's default design."""
    subject = _merchant(context, "subject") or _subjects().get_template(
        f"{template}/subject.txt").render(context, first_name=_first_name(context))
    url = _merchant(context, "button_url")
    context = {**context, "lead": _merchant(context, "message", merchant_text.paragraphs),
               "subject_line": " ".join(subject.split()),
               # A built flow's email (flows/templates/built): its preheader and button.
               "own_preheader": _merchant(context, "preheader"),
               "own_button_text": _merchant(context, "button_text"),
               "own_button_url": url if url and url.startswith("https://") else None}
    html, text = email.parts(design or default_design(template), context, context["subject_line"])
    return Rendered(subject=context["subject_line"], html=html, text=text)


def _first_name(context: dict[str, Any]) -> str:
    """The customer's first name for a subject line; empty when unknown."""
    customer = context.get("customer")
    return ((customer.first_name if customer is not None else None) or "").strip()


def _merchant(context: dict[str, Any], part: str, render_text=merchant_text.render) -> Any:
    """The merchant's `part` rendered in the sandbox; None when absent or when it does not
    render (the template's own text is used then)."""
    if not context.get(part):
        return None
    try:
        return render_text(context[part], merchant_text.values(context)) or None
    except merchant_text.MerchantTextError:
        log.warning("merchant %s did not render; the flow's own text was used", part)
        return None
