"""Templates -> subject, HTML (CSS inlined) and text, addressed by name:
`flows/templates/<flow>/<step>/{subject.txt, body.html, body.txt}` extending `_layout/`.
A step with a `design.json` beside them (blocks, app.mail.design) draws its body from that
design, or from the store's own design of the email when it has one."""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.mail import merchant_text
from app.mail.brand_kit import kit
from app.mail.design import document, email
from app.mail.money import money

log = logging.getLogger(__name__)
# Optional blocks leave blank lines behind; the text part keeps one between paragraphs.
BLANK_RUNS = re.compile(r"\n(?:[ \t]*\n){2,}")
TEMPLATES = Path(__file__).resolve().parents[2] / "flows" / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["brand_kit"] = kit
    env.globals["format_money"] = money
    return env


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(keep_style_tags=True)


@lru_cache(maxsize=None)
def default_design(template: str) -> dict | None:
    """The prebuilt email's design (`design.json` beside its templates); None until ported."""
    path = TEMPLATES / template / "design.json"
    return document.check(json.loads(path.read_text())) if path.exists() else None


def render(template: str, context: dict[str, Any], design: dict | None = None) -> Rendered:
    """Render one step's three parts with `context`. The merchant's own subject line and
    message (`subject`, `message` in context) replace the template's subject and opening
    paragraph (`lead`) when they render; a built flow's email also has its own preheader and
    button (an https address, else the shop's). `design` (a store's own, checked) replaces the
    template's body; else the step's default design, else its Jinja body."""
    env = environment()
    subject = _merchant(context, "subject") or env.get_template(f"{template}/subject.txt").render(context)
    url = _merchant(context, "button_url")
    context = {**context, "lead": _merchant(context, "message", merchant_text.paragraphs),
               "subject_line": " ".join(subject.split()),
               # A built flow's email (flows/templates/built): its preheader and button.
               "own_preheader": _merchant(context, "preheader"),
               "own_button_text": _merchant(context, "button_text"),
               "own_button_url": url if url and url.startswith("https://") else None}
    design = design or default_design(template)
    if design is not None:
        html, text = email.parts(design, context, context["subject_line"])
        return Rendered(subject=context["subject_line"], html=html, text=text)
    html = env.get_template(f"{template}/body.html").render(context)
    text = env.get_template(f"{template}/body.txt").render(context)
    return Rendered(subject=context["subject_line"], html=_inliner().inline(html),
                    text=BLANK_RUNS.sub("\n\n", text).strip() + "\n")


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
