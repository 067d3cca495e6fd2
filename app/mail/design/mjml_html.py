"""Resolved blocks -> MJML -> HTML, with MRML (the Rust port of MJML, through mjml-python).

MJML writes the mail-client markup we used to keep by hand: tables, Outlook's conditional
ghost tables and VML-free bulletproof buttons, columns that stack on a phone, inline styles.
We add the brand kit (colours, font, button shape), a dark-mode stylesheet and the preheader.
Every value that came from a merchant, a shopper or the catalogue is escaped here, once.
"""
from __future__ import annotations

from html import escape as e

import mjml

from app.mail.brand_kit import Kit, MUTED

WIDTH = 600
GUTTER = 32  # the card's inner padding, left and right
RULE = "#e4e4e7"
PREHEADER_PAD = "&#8199;&#65279;&#847;" * 40
# Media queries cannot be inlined: clients that keep a <style> get dark mode, the rest the
# light, already readable card. Text (sf-t) turns light; buttons keep their brand colours.
DARK = """@media (prefers-color-scheme: dark) {
  .sf-body, .sf-body > div { background: #18181b !important; }
  .sf-card > table, .sf-card { background: #27272a !important; }
  .sf-t div, .sf-t td, .sf-t h1, .sf-t h2, .sf-t p { color: #f4f4f5 !important; }
  .sf-panel { background: #18181b !important; }
  .sf-muted { color: #a1a1aa !important; }
  .sf-link { color: #f4f4f5 !important; }
}
.sf-pimg img { object-fit: cover; }"""


def document(blocks: list[dict], kit: Kit, store: dict, preheader: str, title: str) -> str:
    """The MJML source of one email."""
    font = e(str(kit.font))
    body = _body([block for block in blocks if block["type"] != "footer"], kit, _header(store, kit))
    footer = "".join(_section(_footer(block, kit)) for block in blocks if block["type"] == "footer")
    hidden = (f'<mj-raw><div style="display: none; max-height: 0; max-width: 0; overflow: hidden;'
              f' opacity: 0; mso-hide: all;">{e(preheader)}{PREHEADER_PAD}</div></mj-raw>'
              if preheader else "")
    return (
        f'<mjml lang="en"><mj-head><mj-title>{e(title)}</mj-title>'
        f'<mj-attributes><mj-all font-family="{font}" />'
        f'<mj-text font-size="16px" line-height="1.55" color="{kit.text}" padding="0 {GUTTER}px 16px" '
        f'css-class="sf-t" /><mj-table css-class="sf-t" />'
        f'<mj-section padding="0" /><mj-column padding="0" /></mj-attributes>'
        f'<mj-style>{DARK}</mj-style></mj-head>'
        f'<mj-body background-color="{kit.background}" width="{WIDTH}px" css-class="sf-body">{hidden}'
        f'<mj-raw><div style="height: 24px; line-height: 24px;">&#8202;</div></mj-raw>'
        f'<mj-wrapper background-color="#ffffff" border-radius="12px" padding="0 0 16px" css-class="sf-card">'
        f'{body}</mj-wrapper>{footer}</mj-body></mjml>')


def html(source: str) -> str:
    """MJML -> HTML."""
    return mjml.mjml2html(source, fonts={})  # no web fonts: nothing loads from a third party


def _section(content: str) -> str:
    return f'<mj-section><mj-column>{content}</mj-column></mj-section>'


def _body(blocks: list[dict], kit: Kit, header: str) -> str:
    """The blocks' MJML. Blocks of one column share a section: every section costs Outlook's
    ghost tables, which made the message a third longer and slower to render and encode."""
    sections, column = [], [header]
    for block in blocks:
        if block["type"] in COLUMNS:
            if column:
                sections.append(_section("".join(column)))
                column = []
            sections.append(COLUMNS[block["type"]](block, kit))
        else:
            column.append(DRAW[block["type"]](block, kit))
    if column:
        sections.append(_section("".join(column)))
    return "".join(sections)


def tag(name: str, content: str | None = None, **attributes) -> str:
    """`<name a="v">content</name>` (self-closing without content): attribute names with
    `_` for `-` (`class_` for class), values escaped; `content` is markup, already escaped."""
    pairs = "".join(f' {key.rstrip("_").replace("_", "-")}="{e(str(value))}"'
                    for key, value in attributes.items() if value is not None)
    return f"<{name}{pairs} />" if content is None else f"<{name}{pairs}>{content}</{name}>"


def _header(store: dict, kit: Kit) -> str:
    inner = (tag("img", src=kit.logo_url, alt=store["name"], height=40, style="border: 0;")
             if kit.logo_url else e(store["name"]))
    link = tag("a", inner, href=store["url"], class_="sf-link",
               style=f"color: {kit.brand}; text-decoration: none;")
    return (tag("mj-text", link, padding=f"24px {GUTTER}px", font_size="20px", font_weight="700",
                color=kit.brand)
            + tag("mj-divider", border_width="1px", border_color=RULE, padding="0 0 24px"))


def _heading(block: dict, kit: Kit) -> str:
    level, size = ("h1", 26) if block["level"] == 1 else ("h2", 18)
    return tag("mj-text", tag(level, e(block["text"]), style=f"margin: 0; font-size: {size}px; "
                              "line-height: 1.25; font-weight: 700;"), align=block["align"])


def _text(block: dict, kit: Kit) -> str:
    paragraphs = "".join(tag("p", "<br>".join(e(line) for line in lines), style="margin: 0 0 16px;")
                         for lines in block["paragraphs"])
    small = {"font_size": "14px", "line_height": "1.5"} if block["small"] else {}
    return tag("mj-text", paragraphs, align=block["align"], padding=f"0 {GUTTER}px", **small)


def _image(block: dict, kit: Kit) -> str:
    return tag("mj-image", src=block["src"], width=f'{block["width"]}px', alt=block["alt"],
               height=f'{block["height"]}px', href=block["href"], align=block["align"],
               padding=f"0 {GUTTER}px 16px")


def _button(block: dict, kit: Kit, text: str | None = None, url: str | None = None) -> str:
    return tag("mj-button", e(text or block["text"]), href=url or block["url"],
               align=block["align"], background_color=kit.brand, color=kit.on_brand,
               border_radius=kit.radius, font_size="16px", font_weight="600",
               inner_padding="14px 28px", padding=f"12px {GUTTER}px 24px", css_class="sf-btn")


def _divider(block: dict, kit: Kit) -> str:
    return tag("mj-divider", border_width="1px", border_color=RULE, padding=f"8px {GUTTER}px 24px")


def _spacer(block: dict, kit: Kit) -> str:
    return tag("mj-spacer", height=f'{block["height"]}px')


def _grid(block: dict, kit: Kit) -> str:
    """Cards in rows of up to three columns; MJML stacks them on a phone, and gives Outlook
    desktop the same columns in conditional ghost tables."""
    cards = block["cards"]
    per_row = 2 if len(cards) in (2, 4) else min(3, len(cards))
    image = (WIDTH - 2 * GUTTER) // per_row - 12
    title = _section(tag("mj-text", tag("h2", e(block["title"]), style=(
        "margin: 16px 0 0; font-size: 18px; line-height: 1.3; font-weight: 700;")))) \
        if block["title"] else ""
    rows = [tag("mj-section", "".join(tag("mj-column", _card(card, image, kit), padding="0 6px 16px")
                                      for card in cards[start:start + per_row]),
                padding=f"0 {GUTTER - 6}px") for start in range(0, len(cards), per_row)]
    return title + "".join(rows)


def _card(card: dict, size: int, kit: Kit) -> str:
    url = card["url"]
    if card["image_url"]:
        picture = tag("mj-image", src=card["image_url"], width=f"{size}px", height=f"{size}px",
                      alt=card["title"], href=url, border_radius="10px", padding="0",
                      css_class="sf-pimg")
    else:  # no photo: a tinted tile with the product's initial keeps the grid's rhythm
        picture = tag("mj-text", tag("a", e(card["title"][:1].upper()), href=url, class_="sf-panel", style=(
            f"display: block; height: {size}px; line-height: {size}px; background: "
            f"{kit.brand_tint}; border-radius: 10px; color: {kit.brand}; font-family: Georgia, "
            "serif; font-size: 44px; text-decoration: none;")), padding="0", align="center")
    name = tag("div", tag("a", e(card["title"]), href=url, style="color: inherit; text-decoration: none;"),
               style="font-weight: 600; font-size: 15px; line-height: 1.35;")
    price = tag("div", e(card["price"]), class_="sf-muted",
                style=f"padding: 4px 0 0; color: {MUTED}; font-size: 15px;") if card["price"] else ""
    view = tag("div", tag("a", "View item →", href=url, class_="sf-link", style=(
        f"color: {kit.brand}; text-decoration: underline; font-weight: 600;")),
        style="padding: 8px 0 0; font-size: 14px;")
    return picture + tag("mj-text", name + price + view, padding="12px 2px 0")


def _discount(block: dict, kit: Kit) -> str:
    extra = "".join(f" · {part}" for part in (
        f"{block['percent']:g}% off" if block["percent"] else "",
        f"valid until {block['expires']}" if block["expires"] else "") if part)
    label = tag("div", e("Your code" + extra), class_="sf-muted", style=(
        f"color: {MUTED}; font-size: 12px; font-weight: 600; letter-spacing: 0.12em; "
        "text-transform: uppercase;"))
    code = tag("div", e(block["code"]), style=(
        "padding: 6px 0 4px; color: #18181b; font-family: Menlo, Consolas, 'Courier New', "
        "monospace; font-size: 26px; font-weight: 700; letter-spacing: 0.08em; word-break: break-all;"))
    note = tag("div", e(block["note"]), class_="sf-muted", style=f"color: {MUTED}; font-size: 14px;")
    panel = tag("div", label + code + note, class_="sf-panel", style=(
        f"padding: 22px 16px; background: {kit.brand_tint}; border: 2px dashed {kit.brand}; "
        "border-radius: 10px;"))
    return tag("mj-text", panel, align="center", padding=f"8px {GUTTER}px 24px")


def _cell(content: str, style: str = "", align: str = "left", **attributes) -> str:
    return tag("td", content, align=align, valign="top", style=(
        f"padding: 14px 12px 14px 0; border-bottom: 1px solid {RULE}; {style}"), **attributes)


def _summary(block: dict, kit: Kit) -> str:
    rows, pictured = [], any(line["image_url"] for line in block["lines"])
    for line in block["lines"]:
        url = line["url"]
        picture = tag("a", tag("img", src=line["image_url"], width=64, height=64, alt=line["title"],
                               style="display: block; width: 64px; height: 64px; border: 0; "
                                     "border-radius: 8px;"), href=url) if line["image_url"] else ""
        detail = " · ".join(([line["variant"]] if line["variant"] else []) + [f"Qty {line['quantity']}"])
        about = (tag("div", tag("a", e(line["title"]), href=url, style="color: inherit; "
                                "text-decoration: none;"), style="font-weight: 600;")
                 + tag("div", e(detail), class_="sf-muted", style=f"color: {MUTED}; font-size: 14px;"))
        rows.append(tag("tr", (_cell(picture, "width: 64px;") if pictured else "") + _cell(about)
                        + _cell(e(line["price"]), "white-space: nowrap; padding-right: 0;", "right")))
    last = "padding: 14px 0 0; font-weight: 700; border: 0;"
    rows.append(tag("tr", _cell("Total", last, colspan=2 if pictured else 1)
                    + _cell(e(block["total"]), f"{last} font-size: 18px; white-space: nowrap;", "right")))
    title = tag("div", e(block["title"]), class_="sf-muted", style=(
        f"color: {MUTED}; font-size: 13px; font-weight: 600; letter-spacing: 0.06em; "
        "text-transform: uppercase;"))
    return (tag("mj-text", title, padding=f"8px {GUTTER}px 0")
            + tag("mj-table", "".join(rows), padding=f"0 {GUTTER}px 16px", color=kit.text,
                  font_size="16px", line_height="1.4"))


def _tracking(block: dict, kit: Kit) -> str:
    rows = "".join(tag("tr", _cell(label, f"color: {MUTED};")
                       + _cell(e(value), "font-weight: 600; padding-right: 0;", "right"))
                   for label, value in (("Carrier", block["company"]),
                                        ("Tracking number", block["number"])) if value)
    table = tag("mj-table", rows, padding=f"0 {GUTTER}px 8px", color=kit.text, font_size="15px")
    button = _button({"align": "left"}, kit, "Track your package", block["url"]) if block["url"] else ""
    return (table if rows else "") + button


def _footer(block: dict, kit: Kit) -> str:
    link = f"color: {kit.footer};"
    parts = [e(block["reason"])] if block["reason"] else []
    if block["postal_address"]:
        parts.append(e(f'{block["store_name"]} · {block["postal_address"]}'))
    if block["socials"]:
        parts.append(" · ".join(tag("a", e(site), href=url, style=link) for site, url in block["socials"]))
    if block["unsubscribe_url"]:
        parts.append("Don't want these emails? "
                     + tag("a", "Unsubscribe", href=block["unsubscribe_url"], style=link))
    return tag("mj-text", "<br>".join(parts), align="center", font_size="12px", line_height="1.5",
               color=kit.footer, padding=f"16px {GUTTER}px 24px")


DRAW = {"heading": _heading, "text": _text, "image": _image, "button": _button,
        "divider": _divider, "spacer": _spacer, "discount": _discount,
        "order_summary": _summary, "shipment_tracking": _tracking}
# Blocks drawn as sections of their own (several columns).
COLUMNS = {"product_grid": _grid}
