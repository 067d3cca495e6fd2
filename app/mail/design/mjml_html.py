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
# light, already readable card. Buttons keep their brand colours in both.
DARK = """@media (prefers-color-scheme: dark) {
  .sf-body, .sf-body > div { background: #18181b !important; }
  .sf-card > table, .sf-card { background: #27272a !important; }
  .sf-card div, .sf-card td, .sf-card h1, .sf-card h2, .sf-card p { color: #f4f4f5 !important; }
  .sf-card .sf-btn td, .sf-card .sf-btn a { color: inherit !important; }
  .sf-panel { background: #18181b !important; }
  .sf-muted { color: #a1a1aa !important; }
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
        f'<mj-text font-size="16px" line-height="1.55" color="{kit.text}" padding="0 {GUTTER}px 16px" />'
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


def _header(store: dict, kit: Kit) -> str:
    name = e(store["name"])
    inner = (f'<img src="{e(kit.logo_url)}" alt="{name}" height="40" style="border: 0;">'
             if kit.logo_url else name)
    return (
        f'<mj-text padding="24px {GUTTER}px" font-size="20px" font-weight="700" color="{kit.brand}" '
        f'><a href="{e(store["url"])}" style="color: {kit.brand}; '
        f'text-decoration: none;">{inner}</a></mj-text>'
        f'<mj-divider border-width="1px" border-color="{RULE}" padding="0 0 24px" />')


def _heading(block: dict, kit: Kit) -> str:
    tag, size = ("h1", 26) if block["level"] == 1 else ("h2", 18)
    return (f'<mj-text align="{block["align"]}"><{tag} style="margin: 0; font-size: {size}px;'
                    f' line-height: 1.25; font-weight: 700;">{e(block["text"])}</{tag}></mj-text>')


def _text(block: dict, kit: Kit) -> str:
    size = ' font-size="14px" line-height="1.5"' if block["small"] else ""
    paragraphs = "".join(f'<p style="margin: 0 0 16px;">{"<br>".join(e(line) for line in lines)}</p>'
                         for lines in block["paragraphs"])
    return f'<mj-text align="{block["align"]}" padding="0 {GUTTER}px"{size}>{paragraphs}</mj-text>'


def _image(block: dict, kit: Kit) -> str:
    href = f' href="{e(block["href"])}"' if block["href"] else ""
    return (f'<mj-image src="{e(block["src"])}" width="{block["width"]}px" '
                    f'height="{block["height"]}px" alt="{e(block["alt"])}"{href} '
                    f'align="{block["align"]}" padding="0 {GUTTER}px 16px" />')


def _button(block: dict, kit: Kit, text: str | None = None, url: str | None = None) -> str:
    return (
        f'<mj-button href="{e(url or block["url"])}" align="{block["align"]}" '
        f'background-color="{kit.brand}" color="{kit.on_brand}" border-radius="{kit.radius}" '
        f'font-size="16px" font-weight="600" inner-padding="14px 28px" '
        f'padding="12px {GUTTER}px 24px" css-class="sf-btn">{e(text or block["text"])}</mj-button>')


def _divider(block: dict, kit: Kit) -> str:
    return f'<mj-divider border-width="1px" border-color="{RULE}" padding="8px {GUTTER}px 24px" />'


def _spacer(block: dict, kit: Kit) -> str:
    return f'<mj-spacer height="{block["height"]}px" />'


def _grid(block: dict, kit: Kit) -> str:
    """Cards in rows of up to three columns; MJML stacks them on a phone, and gives Outlook
    desktop the same columns in conditional ghost tables."""
    cards = block["cards"]
    per_row = 2 if len(cards) in (2, 4) else min(3, len(cards))
    image = (WIDTH - 2 * GUTTER) // per_row - 12
    title = _section(f'<mj-text><h2 style="margin: 16px 0 0; font-size: 18px; line-height: 1.3; '
                     f'font-weight: 700;">{e(block["title"])}</h2></mj-text>') if block["title"] else ""
    rows = []
    for start in range(0, len(cards), per_row):
        columns = "".join(f'<mj-column padding="0 6px 16px">{_card(card, image, kit)}</mj-column>'
                          for card in cards[start:start + per_row])
        rows.append(f'<mj-section padding="0 {GUTTER - 6}px">{columns}</mj-section>')
    return title + "".join(rows)


def _card(card: dict, size: int, kit: Kit) -> str:
    url, name = e(card["url"]), e(card["title"])
    if card["image_url"]:
        picture = (f'<mj-image src="{e(card["image_url"])}" width="{size}px" height="{size}px" '
                   f'alt="{name}" href="{url}" border-radius="10px" padding="0" css-class="sf-pimg" />')
    else:  # no photo: a tinted tile with the product's initial keeps the grid's rhythm
        picture = (f'<mj-text padding="0" align="center"><a href="{url}" class="sf-panel" style="display: '
                   f'block; height: {size}px; line-height: {size}px; background: {kit.brand_tint}; '
                   f'border-radius: 10px; color: {kit.brand}; font-family: Georgia, serif; font-size: 44px;'
                   f' text-decoration: none;">{e(card["title"][:1].upper())}</a></mj-text>')
    price = (f'<div class="sf-muted" style="padding: 4px 0 0; color: {MUTED}; font-size: 15px;">'
             f'{e(card["price"])}</div>' if card["price"] else "")
    return (f'{picture}<mj-text padding="12px 2px 0"><div style="font-weight: 600; font-size: 15px;'
            f' line-height: 1.35;"><a href="{url}" style="color: inherit; text-decoration: none;">{name}'
            f'</a></div>{price}<div style="padding: 8px 0 0; font-size: 14px;"><a href="{url}" '
            f'style="color: {kit.brand}; text-decoration: underline; font-weight: 600;">View item →</a>'
            f'</div></mj-text>')


def _discount(block: dict, kit: Kit) -> str:
    extra = " · ".join(part for part in (
        f"{block['percent']:g}% off" if block["percent"] else "",
        f"valid until {block['expires']}" if block["expires"] else "") if part)
    return (
        f'<mj-text align="center" padding="8px {GUTTER}px 24px"><div class="sf-panel" style="padding:'
        f' 22px 16px; background: {kit.brand_tint}; border: 2px dashed {kit.brand}; border-radius: 10px;">'
        f'<div class="sf-muted" style="color: {MUTED}; font-size: 12px; font-weight: 600; letter-spacing:'
        f' 0.12em; text-transform: uppercase;">Your code{e(" · " + extra) if extra else ""}</div>'
        f'<div style="padding: 6px 0 4px; color: #18181b; font-family: Menlo, Consolas, \'Courier New\','
        f' monospace; font-size: 26px; font-weight: 700; letter-spacing: 0.08em; word-break: break-all;">'
        f'{e(block["code"])}</div><div class="sf-muted" style="color: {MUTED}; font-size: 14px;">'
        f'{e(block["note"])}</div></div></mj-text>')


def _cell(content: str, style: str = "", align: str = "left") -> str:
    return (f'<td align="{align}" valign="top" style="padding: 14px 12px 14px 0; border-bottom: 1px solid'
            f' {RULE}; {style}">{content}</td>')


def _summary(block: dict, kit: Kit) -> str:
    rows, pictured = [], any(line["image_url"] for line in block["lines"])
    for line in block["lines"]:
        url, name = e(line["url"]), e(line["title"])
        picture = _cell(f'<a href="{url}"><img src="{e(line["image_url"])}" width="64" height="64" '
                        f'alt="{name}" style="display: block; width: 64px; height: 64px; border: 0; '
                        f'border-radius: 8px;"></a>', "width: 64px;") if line["image_url"] else (
            _cell("", "width: 64px;") if pictured else "")
        detail = " · ".join(([e(line["variant"])] if line["variant"] else []) + [f"Qty {line['quantity']}"])
        about = _cell(f'<div style="font-weight: 600;"><a href="{url}" style="color: inherit; '
                      f'text-decoration: none;">{name}</a></div><div class="sf-muted" style="color: '
                      f'{MUTED}; font-size: 14px;">{detail}</div>')
        amount = _cell(e(line["price"]), "white-space: nowrap; padding-right: 0;", "right")
        rows.append(f"<tr>{picture}{about}{amount}</tr>")
    total = (f'<tr><td colspan="{2 if pictured else 1}" '
             f'style="padding: 14px 0 0; font-weight: 700;">Total</td><td align="right" style="padding:'
             f' 14px 0 0; font-weight: 700; font-size: 18px; white-space: nowrap;">{e(block["total"])}</td></tr>')
    return (
        f'<mj-text padding="8px {GUTTER}px 0"><div class="sf-muted" style="color: {MUTED}; font-size: 13px;'
        f' font-weight: 600; letter-spacing: 0.06em; text-transform: uppercase;">{e(block["title"])}</div>'
        f'</mj-text><mj-table padding="0 {GUTTER}px 16px" color="{kit.text}" font-size="16px" '
        f'line-height="1.4">{"".join(rows)}{total}</mj-table>')


def _tracking(block: dict, kit: Kit) -> str:
    rows = "".join(
        f'<tr>{_cell(label, f"color: {MUTED};")}{_cell(e(value), "font-weight: 600; padding-right: 0;", "right")}</tr>'
        for label, value in (("Carrier", block["company"]), ("Tracking number", block["number"]))
        if value)
    table = f'<mj-table padding="0 {GUTTER}px 8px" color="{kit.text}" font-size="15px">{rows}</mj-table>'
    button = _button({"align": "left"}, kit, "Track your package", block["url"]) if block["url"] else ""
    return (table if rows else "") + button


def _footer(block: dict, kit: Kit) -> str:
    link = f'color: {kit.footer};'
    parts = [e(block["reason"])] if block["reason"] else []
    if block["postal_address"]:
        parts.append(f'{e(block["store_name"])} · {e(block["postal_address"])}')
    if block["socials"]:
        parts.append(" · ".join(f'<a href="{e(url)}" style="{link}">{e(site)}</a>'
                                for site, url in block["socials"]))
    if block["unsubscribe_url"]:
        parts.append(f'Don\'t want these emails? <a href="{e(block["unsubscribe_url"])}" '
                     f'style="{link}">Unsubscribe</a>')
    return (f'<mj-text align="center" font-size="12px" line-height="1.5" color="{kit.footer}" '
                    f'padding="16px {GUTTER}px 24px">{"<br>".join(parts)}</mj-text>')


DRAW = {"heading": _heading, "text": _text, "image": _image, "button": _button,
        "divider": _divider, "spacer": _spacer, "discount": _discount,
        "order_summary": _summary, "shipment_tracking": _tracking}
# Blocks drawn as sections of their own (several columns).
COLUMNS = {"product_grid": _grid}
