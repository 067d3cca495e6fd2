"""A checked design and a message's render context -> the blocks to draw, every value worked
out once (merchant texts rendered in the sandbox, links chosen, products read, money written)
so the HTML (mjml_html) and the text part (text) say the same thing."""
from __future__ import annotations

import logging
from datetime import date
from typing import Any, Callable

from jinja2 import UndefinedError

from app.mail import merchant_text
from app.mail.brand_kit import kit
from app.mail.money import money

log = logging.getLogger(__name__)
Block = dict[str, Any]
LEAD = "lead"  # the merchant's own opening message (app.mail.render), replacing an `opening` text
DEFAULT_FOOTER: Block = {"type": "footer"}
GRID_LIMIT = 3


class SubjectGone(UndefinedError):
    """A block shows a cart or an order the email has not (any more): it cannot be drawn (an
    UndefinedError, as a subject line's missing value is). The UI says so; the outbox does not
    send a cart email with no cart."""


def _about(context: dict[str, Any], name: str):
    """The checkout or order the email is about."""
    if context.get(name) is None:  # none referred to, or deleted since the email was queued
        raise SubjectGone(f"this email has no {name} to show")
    return context[name]


def values(context: dict[str, Any]) -> dict[str, str]:
    """What a design's texts may use: the merchant-text placeholders, the sign-off's name, the
    subject line (a built flow's heading), and in a note to the staff who it is about."""
    store, order, shipment = context["store"], context.get("order"), context.get("shipment")
    about = context.get("about")
    return {**merchant_text.values(context),
            "sender_name": store.get("from_name") or f"The {store['name']} team",
            "order_name": order.name if order is not None else "",
            "carrier": (shipment.tracking_company if shipment is not None else None) or "",
            "subject": context.get("subject_line", ""),
            "flow_title": context.get("flow_title", ""),
            "customer_name": " ".join(filter(None, (about.first_name, about.last_name)))
            if about is not None else ""}


# What a design's texts are checked with before they are saved (each must render to something).
SAMPLE = {**merchant_text.SAMPLE, "sender_name": "The Fernhill team", "order_name": "#1001",
          "carrier": "UPS", "subject": "Your order is on its way", "flow_title": "Big orders",
          "customer_name": "Ana Lima", "customer_email": "ana@example.com"}


def shows_lines(design: dict) -> bool:
    """Whether drawing `design` can show a cart's or an order's lines: a send reads them only
    then."""
    return any(block["type"] == "order_summary" or block.get("source") in LINE_SOURCES
               for block in design["blocks"])


LINE_SOURCES = {"cart_lines": "checkout", "order_lines": "order"}


def _lines_of(context: dict[str, Any], name: str, owner) -> list:
    """The lines of the checkout or order `owner`: as compose read them (app.mail.product_picks
    .lines), else its own (a preview's sample)."""
    read = context.get("lines", {}).get(name)
    return owner.lines if read is None else read


def shows_recommendations(design: dict) -> bool:
    """Whether drawing `design` can show the customer's recommendations (a grid of them, or a
    block shown on whether the email has products): a send reads them only then."""
    return any(block.get("source") == "recommendations"
               or block.get("if") in ("products", "no_products") for block in design["blocks"])


def _shows(show: str | None, context: dict[str, Any]) -> bool:
    """A block's `if`: shown only when the email has (or lacks) the thing it names."""
    if show is None:
        return True
    store, checkout = context["store"], context.get("checkout")
    have = {"discount": bool(context.get("discount_code")),
            "products": bool(context.get("recommendations") or context.get("products")),
            "can_reply": bool(store.get("reply_to") or store.get("from_email")),
            "cart_link": bool(checkout is not None and checkout.recovery_url),
            "tracking": _tracking({}, context, {}) is not None,
            "marketing": bool(context.get("marketing")),
            "step_button": bool(context.get("own_button_text"))}
    return have[show.removeprefix("no_").replace("cannot_", "can_")] == (
        not show.startswith(("no_", "cannot_")))


def resolve(design: dict, context: dict[str, Any]) -> list[Block]:
    """The design's shown blocks, ready to draw; a marketing email always ends in a footer."""
    variables = values(context)
    drawn = []
    for block in design["blocks"]:
        if not _shows(block.get("if"), context):
            continue
        try:
            ready = RESOLVERS[block["type"]](block, context, variables)
        except merchant_text.MerchantTextError:  # checked when saved; a stale one is left out
            log.warning("a %s block of a design did not render; left out", block["type"])
            continue
        if ready is not None:
            drawn.append({"type": block["type"], "align": block.get("align", "left"), **ready})
    if context.get("marketing") and not any(b["type"] == "footer" for b in drawn):
        drawn.append({"type": "footer", **_footer(DEFAULT_FOOTER, context, variables)})
    return drawn


def preheader(design: dict, context: dict[str, Any]) -> str:
    """The inbox preview line: the design's, rendered; empty when it has none."""
    source = context.get("own_preheader") or design.get("preheader")
    if not source:
        return ""
    try:
        return merchant_text.render(source, values(context))
    except merchant_text.MerchantTextError:
        return ""


def _text(source: str, variables: dict[str, str]) -> str:
    return merchant_text.render(source, variables)


def _heading(block, context, variables):
    return {"text": _text(block["text"], variables), "level": block.get("level", 1)}


def _paragraphs(block, context, variables):
    lead = context.get(LEAD) if block.get("opening") else None
    found = [[paragraph] for paragraph in lead] if lead else \
        merchant_text.lines(block["text"], variables)
    return {"paragraphs": found, "small": block.get("style") == "small"} if found else None


def _image(block, context, variables):
    return {key: block.get(key) for key in ("src", "width", "height", "alt", "href")}


def _button(block, context, variables):
    url = block.get("url") or _link(block["link"], context)
    # A built flow's step brings its own button text (flows.steps.Content), else the block's.
    own = context.get("own_button_text") if block.get("link") == "step" else None
    return {"text": own or _text(block["text"], variables), "url": url} if url else None


def _link(name: str, context: dict[str, Any]) -> str | None:
    shop = context["store"]["url"]
    checkout, shipment = context.get("checkout"), context.get("shipment")
    return {"shop": shop,
            "cart": (checkout.recovery_url if checkout is not None else None) or shop,
            "offer": context.get("discount_url") or shop,
            "confirm": context.get("confirm_url"),
            "tracking": shipment.tracking_url if shipment is not None else None,
            "step": context.get("own_button_url") or shop}[name]


def _card(title: str, price, currency: str, product, shop: str) -> Block:
    """One product: its own page (the shop's home when the catalogue has none), its picture."""
    return {"title": title, "price": None if price is None else money(price, currency),
            "url": getattr(product, "url", None) or shop,
            "image_url": getattr(product, "image_url", None)}


def _grid(block, context, variables):
    shop, currency = context["store"]["url"], context["store"]["currency"]
    source = block["source"]
    if source in LINE_SOURCES:
        owner = _about(context, LINE_SOURCES[source])
        cards = [_card(line.title, line.price, owner.currency, getattr(line, "product", None), shop)
                 for line in _lines_of(context, LINE_SOURCES[source], owner)]
    else:
        items = context.get("products" if source == "browsed" else "recommendations") or []
        cards = [_card(product.title, product.price, currency, product, shop) for product in items]
    cards = cards[:block.get("limit", GRID_LIMIT)]
    return {"title": _text(block["title"], variables) if "title" in block else None,
            "cards": cards} if cards else None


def _discount(block, context, variables):
    code = context.get("discount_code")
    if not code:
        return None
    expires = context.get("discount_expires_on")  # an ISO date (flows.execute keeps it so)
    return {"code": code, "percent": context.get("discount_percent"),
            "expires": _day(expires) if expires else None,
            "note": _text(block.get("note", "Enter it at checkout."), variables)}


def _day(iso: str) -> str:
    """An ISO date as a shopper reads it: December 21, 2026."""
    day = date.fromisoformat(iso)
    return f"{day:%B} {day.day}, {day.year}"


def _summary(block, context, variables):
    of = block.get("of") or ("order" if context.get("order") is not None else "cart")
    name = "order" if of == "order" else "checkout"
    owner = _about(context, name)
    shop = context["store"]["url"]
    lines = [{**_card(line.title, line.price * line.quantity, owner.currency,
                      getattr(line, "product", None), shop),
              "variant": line.variant_title, "quantity": line.quantity}
             for line in _lines_of(context, name, owner)]
    title = _text(block["title"], variables) if "title" in block else (
        f"Order {owner.name}" if of == "order" else "Your cart")
    return {"title": title, "lines": lines, "total": money(owner.total_price, owner.currency)}


def _tracking(block, context, variables):
    shipment = context.get("shipment")
    if shipment is None or not (shipment.tracking_company or shipment.tracking_number
                                or shipment.tracking_url):
        return None
    return {"company": shipment.tracking_company, "number": shipment.tracking_number,
            "url": shipment.tracking_url}


def _footer(block, context, variables):
    store = context["store"]
    return {"store_name": store["name"], "postal_address": store.get("postal_address") or None,
            "socials": kit(store).socials,
            "reason": _text(block["reason"], variables) if "reason" in block else None,
            "unsubscribe_url": context.get("unsubscribe_url")}


RESOLVERS: dict[str, Callable[[dict, dict, dict], Block | None]] = {
    "heading": _heading, "text": _paragraphs, "image": _image, "button": _button,
    "divider": lambda block, context, variables: {},
    "spacer": lambda block, context, variables: {"height": block["height"]},
    "product_grid": _grid, "discount": _discount, "order_summary": _summary,
    "shipment_tracking": _tracking, "footer": _footer,
}
