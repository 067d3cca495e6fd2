"""Resolved blocks -> the text part: the same facts as the HTML, as a person would type them,
with a blank line between blocks and every address on a line of its own."""
from __future__ import annotations


def _heading(block):
    return block["text"] if block["level"] == 1 else block["text"].upper()


def _text(block):
    return "\n\n".join("\n".join(lines) for lines in block["paragraphs"])


def _button(block):
    return f"{block['text']}:\n{block['url']}"


def _grid(block):
    cards = "\n\n".join(f"- {card['title']}" + (f", {card['price']}" if card["price"] else "")
                        + f"\n  {card['url']}" for card in block["cards"])
    return f"{block['title'].upper()}\n{cards}" if block["title"] else cards


def _discount(block):
    extra = "".join(part for part in (f" ({block['percent']:g}% off)" if block["percent"] else "",
                                      f", valid until {block['expires']}" if block["expires"] else ""))
    return f"Your code: {block['code']}{extra}\n{block['note']}"


def _summary(block):
    lines = "\n".join(f"- {line['title']}" + (f" ({line['variant']})" if line["variant"] else "")
                      + (f" × {line['quantity']}" if line["quantity"] != 1 else "")
                      + f" — {line['price']}" for line in block["lines"])
    return f"{block['title'].upper()}\n{lines}\n\nTotal: {block['total']}"


def _tracking(block):
    found = [f"Carrier: {block['company']}" if block["company"] else "",
             f"Tracking number: {block['number']}" if block["number"] else "",
             f"Track your package:\n{block['url']}" if block["url"] else ""]
    return "\n".join(part for part in found if part)


def _footer(block):
    found = ["--", block["store_name"] + (f" · {block['postal_address']}"
                                          if block["postal_address"] else "")]
    found += [f"{site}: {url}" for site, url in block["socials"]]
    if block["reason"]:
        found.append(f"\n{block['reason']}")
    if block["unsubscribe_url"]:
        found.append(f"\nUnsubscribe: {block['unsubscribe_url']}")
    return "\n".join(found)


WRITE = {"heading": _heading, "text": _text, "image": lambda block: "",
         "button": _button, "divider": lambda block: "", "spacer": lambda block: "",
         "product_grid": _grid, "discount": _discount, "order_summary": _summary,
         "shipment_tracking": _tracking, "footer": _footer}


def text(blocks: list[dict]) -> str:
    """The text part of these blocks, ending in one newline."""
    parts = [WRITE[block["type"]](block) for block in blocks]
    return "\n\n".join(part for part in parts if part).strip() + "\n"
