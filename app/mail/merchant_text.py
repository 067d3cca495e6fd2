"""Text a merchant writes (a subject line, an email's opening message), rendered in Jinja2's
sandbox.

A merchant's template sees only a few plain values (the customer's first name, the store's
name, a discount code) and can reach nothing of the application: no attributes of Python
objects, no globals. Nor can it make work: the language is cut down to placeholders, `or`
fallbacks, `if` and a few case filters, so no loop, call or arithmetic can build a gigabyte
string in the web process or the mail worker. A text that breaks these rules or does not
render is refused when saved; should one still fail at send time, the flow's own text is used.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

SAMPLE = {"first_name": "Ana", "store_name": "Fernhill", "discount_code": "SF-1A2B3C4D",
          "shop_url": "https://fernhill.example"}
FILTERS = ("upper", "lower", "title", "capitalize", "trim", "default")
# What can repeat or grow text: loops, macros, calls (`"x".center(10**9)`), arithmetic
# (`"x" * 10**9`, `"%09999999d" % 1`). `or`, `and`, `not` and `~` stay.
FORBIDDEN = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.Assign,
             nodes.AssignBlock, nodes.With, nodes.Call, nodes.Add, nodes.Sub, nodes.Mul,
             nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow, nodes.Neg, nodes.Pos)
# What reaches for another template: the sandbox has no loader, so rendering would fail with a
# TypeError (no TemplateError) instead of a reason the merchant can act on.
ELSEWHERE = (nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)


class MerchantTextError(ValueError):
    """The merchant's text is not a template we can render; says why."""


@lru_cache(maxsize=1)
def _sandbox() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=False)
    env.globals.clear()  # no range(), dict(), lipsum()...
    env.filters = {name: env.filters[name] for name in FILTERS}
    return env


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    """A merchant's text compiled once per process: a built flow's email renders five of them,
    and compiling costs more than rendering (a text that does not compile is not kept)."""
    return _sandbox().from_string(source)


def _allowed(source: str) -> None:
    """Refuse what could make work: see FORBIDDEN."""
    try:
        tree = _sandbox().parse(source)
    except TemplateError as error:
        raise MerchantTextError(f"cannot render: {error.message or type(error).__name__}") from None
    if next(tree.find_all(ELSEWHERE), None) is not None:
        raise MerchantTextError("your text cannot include, extend or import other templates")
    if next(tree.find_all(FORBIDDEN), None) is not None:
        raise MerchantTextError("use only placeholders such as {{ first_name }}, `or` and `if`")


def values(context: dict[str, Any]) -> dict[str, str]:
    """The plain values a merchant's text may use, from a message's render context: a discount
    code only in an email that carries one (the preview lists these names)."""
    customer = context.get("customer")
    found = {"first_name": (customer.first_name if customer is not None else None) or "",
             "store_name": context["store"]["name"], "shop_url": context["store"]["url"]}
    about = context.get("about")  # a note to the store's staff: who the run is about
    if about is not None:
        found.update(first_name=about.first_name or "", customer_email=about.email or "")
    if context.get("discount_code"):
        found["discount_code"] = context["discount_code"]
    return found


def lines(source: str, variables: dict[str, str]) -> list[list[str]]:
    """Render merchant text: paragraphs parted by blank lines, each a list of its lines;
    MerchantTextError if it cannot be rendered."""
    try:
        rendered = _compiled(source).render(variables)
    except TemplateError as error:  # SecurityError and syntax errors are TemplateErrors
        raise MerchantTextError(f"cannot render: {error.message or type(error).__name__}") from None
    return [[" ".join(line.split()) for line in block.split("\n") if line.strip()]
            for block in rendered.replace("\r\n", "\n").split("\n\n") if block.strip()]


def paragraphs(source: str, variables: dict[str, str]) -> list[str]:
    """Render merchant text: paragraphs parted by blank lines, each on one line;
    MerchantTextError if it cannot be rendered."""
    return [" ".join(paragraph) for paragraph in lines(source, variables)]


def render(source: str, variables: dict[str, str]) -> str:
    """Render merchant text on one line (a subject)."""
    return " ".join(paragraphs(source, variables))


def check(source: str, sample: dict[str, str] = SAMPLE) -> str:
    """Validate merchant text before it is saved (rendered once with sample values)."""
    _allowed(source)
    if not render(source, sample):
        raise MerchantTextError("renders to nothing")
    return source
