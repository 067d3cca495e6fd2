"""The store's brand kit as every email template reads it: colours with the text that reads on
them, the font stack, the button radius and the footer's social links (app.core.brand)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from markupsafe import Markup

from app.core import brand, settings

MUTED = "#71717a"


@dataclass(frozen=True)
class Kit:
    brand: str
    on_brand: str
    brand_tint: str
    text: str
    background: str
    footer: str
    font: Markup
    radius: str
    logo_url: str
    socials: tuple[tuple[str, str], ...]


def kit(store: Mapping[str, Any]) -> Kit:
    """The kit from a template's `store`. Read through settings.effective, so a stored value its
    parser refuses (one that could leave a style attribute) renders as the default."""
    values = settings.effective({name: value for name, value in store.items()
                                 if name in settings.SETTINGS})
    colour, background = values["brand_color"], values["background_color"]
    return Kit(
        brand=colour, on_brand=brand.text_on(colour), brand_tint=brand.tint(colour),
        text=values["text_color"], background=background,
        # The footer sits on the background: its grey while that reads, else plain text colour.
        footer=MUTED if brand.contrast(MUTED, background) >= 3 else brand.text_on(background),
        # A fixed stack from the list, never typed text: safe inside <style> and style="".
        font=Markup(brand.FONT_STACKS[values["font_stack"]]),
        radius=brand.BUTTON_RADII[values["button_style"]], logo_url=values["logo_url"],
        socials=tuple((site, values[name]) for name, (site, _) in brand.SOCIAL_SITES.items()
                      if values[name]))
