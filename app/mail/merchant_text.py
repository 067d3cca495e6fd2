"""Text a merchant writes (a subject line, an email's opening message), rendered in Jinja2's
sandbox.

A merchant's template sees only a few plain values (the customer's first name, the store's
name, a discount code) and can reach nothing of the application: no attributes of Python
objects, no globals. A line that does not render is refused when saved; should one still fail
at send time, the flow's own text is used instead.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

SAMPLE = {"first_name": "Ana", "store_name": "Fernhill", "discount_code": "SF-1A2B3C4D"}


class MerchantTextError(ValueError):
    """The merchant's text is not a template we can render; says why."""


@lru_cache(maxsize=1)
def _sandbox() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(autoescape=False)


def values(context: dict[str, Any]) -> dict[str, str]:
    """The plain values a merchant's text may use, from a message's render context."""
    customer = context.get("customer")
    return {"first_name": (customer.first_name if customer is not None else None) or "",
            "store_name": context["store"]["name"], "discount_code": context.get("discount_code") or ""}


def paragraphs(source: str, variables: dict[str, str]) -> list[str]:
    """Render merchant text: paragraphs parted by blank lines, each on one line;
    MerchantTextError if it cannot be rendered."""
    try:
        rendered = _sandbox().from_string(source).render(variables)
    except TemplateError as error:  # SecurityError and syntax errors are TemplateErrors
        raise MerchantTextError(f"cannot render: {error.message or type(error).__name__}") from None
    return [" ".join(block.split()) for block in rendered.replace("\r\n", "\n").split("\n\n")
            if block.strip()]


def render(source: str, variables: dict[str, str]) -> str:
    """Render merchant text on one line (a subject)."""
    return " ".join(paragraphs(source, variables))


def check(source: str) -> str:
    """Validate merchant text before it is saved (rendered once with sample values)."""
    if not render(source, SAMPLE):
        raise MerchantTextError("renders to nothing")
    return source
