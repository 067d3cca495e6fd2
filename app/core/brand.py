"""What a store's brand kit may be in an email: links mail clients show, colours and their
contrast (WCAG 2), email-safe font stacks, button shapes, and the social sites a footer links to.

Each check says why a value is refused (or None when it passes); app.core.settings turns that
into the setting's error, so the UI and the CLI refuse the same values with the same words.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

# A domain name as mail servers accept it: labels of letters, digits and inner hyphens.
DOMAIN = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.[a-z]{2,63}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# What a logo may be: an image every mail client shows. Gmail and Outlook do not show SVG, and
# Outlook for Windows does not show WebP (docs/deliverability.md).
RASTER_IMAGES = (".png", ".jpg", ".jpeg", ".gif")
# Stacks every mail client has a font for; the first is today's look. Single quotes only: the
# stack goes into style attributes written with double quotes.
FONT_STACKS = {
    "system": "-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif",
    "helvetica": "'Helvetica Neue', Helvetica, Arial, sans-serif",
    "georgia": "Georgia, 'Times New Roman', Times, serif",
    "verdana": "Verdana, Geneva, Tahoma, sans-serif",
    "trebuchet": "'Trebuchet MS', 'Lucida Grande', Tahoma, sans-serif",
}
BUTTON_RADII = {"rounded": "8px", "square": "0", "pill": "999px"}
# setting -> (site's name, the domains its profile links live on; subdomains such as www. pass)
SOCIAL_SITES = {
    "instagram_url": ("Instagram", ("instagram.com",)),
    "facebook_url": ("Facebook", ("facebook.com", "fb.com")),
    "tiktok_url": ("TikTok", ("tiktok.com",)),
    "x_url": ("X", ("x.com", "twitter.com")),
    "pinterest_url": ("Pinterest", ("pinterest.com",)),
    "youtube_url": ("YouTube", ("youtube.com", "youtu.be")),
}
# WCAG 2 AA for body-size text: button labels (16px semibold) and paragraphs.
MIN_CONTRAST = 4.5
DARK_TEXT, LIGHT_TEXT, CARD = "#18181b", "#ffffff", "#ffffff"


def link_problem(url: str, example: str) -> str | None:
    """Why `url` is not an https link an email may carry (one whose text cannot leave an HTML
    attribute), or None."""
    if len(url) > 2048:
        return f"at most 2048 characters, not {len(url)}"
    if CONTROL.search(url) or re.search(r"[\s\"'<>\\`]", url):
        return "no spaces, quotes or angle brackets in a link"
    parts = urlsplit(url)
    if parts.scheme.lower() == "http":
        return (f"use https://, not http:// (mail clients block or flag plain-http links), "
                f"{example}")
    if parts.scheme.lower() != "https":
        kind = f"a {parts.scheme}: link" if parts.scheme else "a link without https://"
        return f"use an https:// link {example}, not {kind}"
    try:
        parts.port
    except ValueError:
        return "the port is not a number from 1 to 65535"
    if not parts.hostname or parts.username is not None or not DOMAIN.fullmatch(parts.hostname):
        return f"name the host, {example}"
    return None


def logo_problem(url: str) -> str | None:
    """Why `url` is not a logo every mail client shows, or None (its form only: the image
    itself is looked at once, when saved, by app.core.logo_image)."""
    problem = link_problem(url, "such as https://cdn.yourstore.com/logo.png")
    if problem:
        return problem.replace("name the host", "name the image's host")
    if urlsplit(url).path.lower().endswith(".svg"):
        return ("link to a PNG, JPEG or GIF image: Gmail and Outlook do not show SVG "
                "(export the logo as a PNG)")
    if urlsplit(url).path.lower().endswith(".webp"):
        return ("link to a PNG, JPEG or GIF image: Outlook for Windows does not show WebP "
                "(export the logo as a PNG)")
    if not urlsplit(url).path.lower().endswith(RASTER_IMAGES):
        return ("link to a PNG, JPEG or GIF image (the path ends in .png, .jpg or .gif); "
                "pages are not shown as images")
    return None


def social_problem(setting: str, url: str) -> str | None:
    """Why `url` is not a profile link on the site `setting` names, or None."""
    site, domains = SOCIAL_SITES[setting]
    example = f"such as https://{domains[0]}/yourstore"
    problem = link_problem(url, example)
    if problem:
        return problem
    host = urlsplit(url).hostname or ""
    if not any(host == domain or host.endswith(f".{domain}") for domain in domains):
        return f"{site} links are on {' or '.join(domains)}, not {host}"
    if urlsplit(url).path.strip("/") == "":
        return f"link to your {site} page, {example}, not the site's home page"
    return None


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb colour."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(int(colour[i:i + 2], 16)) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours, from 1 to 21."""
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_on(background: str) -> str:
    """Near-black or white, whichever reads better on `background` (a button's label)."""
    return max((DARK_TEXT, LIGHT_TEXT), key=lambda text: contrast(text, background))


def tint(colour: str) -> str:
    """A 10% tint of `colour` on white: panels (coupons, placeholder tiles)."""
    return "#" + "".join(f"{int(int(colour[i:i + 2], 16) * 0.1 + 229.5):02x}" for i in (1, 3, 5))


def warnings(settings: dict) -> list[str]:
    """Colour choices that save but read poorly: `setting: why`, for the UI and the CLI."""
    found = []
    brand = settings["brand_color"]
    ratio = contrast(text_on(brand), brand)
    if ratio < MIN_CONTRAST:
        found.append(f"brand_color: button text on {brand} has a contrast of {ratio:.2f}:1, "
                     f"under the {MIN_CONTRAST}:1 WCAG asks for; a darker or lighter colour "
                     "reads better")
    ratio = contrast(settings["text_color"], CARD)
    if ratio < MIN_CONTRAST:
        found.append(f"text_color: {settings['text_color']} on the white email has a contrast "
                     f"of {ratio:.2f}:1, under the {MIN_CONTRAST}:1 WCAG asks for (and spam "
                     "filters read faint text as hidden)")
    return found
