"""Templates -> subject, HTML (CSS inlined) and text, addressed by name:
`flows/templates/<flow>/<step>/{subject.txt, body.html, body.txt}` extending `_layout/`."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parents[2] / "flows" / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(keep_style_tags=True)


def render(template: str, context: dict[str, Any]) -> Rendered:
    """Render one step's three parts with `context`."""
    env = environment()
    subject = env.get_template(f"{template}/subject.txt").render(context)
    html = env.get_template(f"{template}/body.html").render(context)
    text = env.get_template(f"{template}/body.txt").render(context)
    return Rendered(subject=" ".join(subject.split()), html=_inliner().inline(html),
                    text=text.strip() + "\n")
