"""A design and a message's render context -> the email's HTML and text part."""
from __future__ import annotations

from typing import Any

from app.mail.brand_kit import kit
from app.mail.design import blocks, mjml_html, text


def parts(design: dict, context: dict[str, Any], title: str) -> tuple[str, str]:
    """(HTML, text) of `design` for this context; `title` is the HTML's <title> (the subject)."""
    drawn = blocks.resolve(design, context)
    source = mjml_html.document(drawn, kit(context["store"]), context["store"],
                                blocks.preheader(design, context), title)
    return mjml_html.html(source), text.text(drawn)
