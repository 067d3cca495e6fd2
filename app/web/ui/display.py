"""How the UI writes numbers, money and times, and the geometry of its small charts."""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Flask, g

from app.core import clock
from flows.reasons import in_words

SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}
ZERO_DECIMALS = {"JPY", "KRW"}
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)")


def money(amount: Decimal | int | None, currency: str, cents: bool = True) -> str:
    """$1,234.50 (or 1,234.50 SEK for currencies without a well-known symbol)."""
    places = 0 if currency in ZERO_DECIMALS or not cents else 2
    text = f"{Decimal(amount or 0):,.{places}f}"
    symbol = SYMBOLS.get(currency)
    if symbol is None:
        return f"{text} {currency}"
    return f"-{symbol}{text[1:]}" if text.startswith("-") else f"{symbol}{text}"


def percent(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.0f}%" if whole else "–"


def rate(part: int, whole: int) -> str:
    """A small rate (bounces, complaints) to a tenth of a percent, where 0.3 % matters."""
    return f"{part * 100 / whole:.1f}%" if whole else "–"


def local(moment: datetime | str | None, pattern: str = "%b %-d, %H:%M") -> str:
    """A time (or an ISO 8601 string, as timelines carry them) in the signed-in store's zone."""
    if moment is None:
        return "–"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    zone = ZoneInfo(g.store.effective_settings["timezone"]) if g.get("store") else None
    return moment.astimezone(zone).strftime(pattern)


def local_times(text: str) -> str:
    """A timeline's detail with the times it names (ISO 8601, UTC) in the store's zone."""
    return ISO_TIME.sub(lambda found: local(found.group()), text)


def ago(moment: datetime | None) -> str:
    """'just now', '5 minutes ago', '3 hours ago', '2 days ago'."""
    if moment is None:
        return "never"
    seconds = (clock.now() - moment).total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def nice_ceiling(value: float) -> float:
    """The round number a chart's scale ends at: 666 -> 700, 0.42 -> 0.5, 0 -> 0."""
    if value <= 0:
        return 0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 0.1
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def path(values: list[float], width: float, height: float, top: float | None = None,
         close: bool = False) -> str:
    """An SVG path through `values` spread over `width`, scaled so `top` (default the largest
    value) touches the top; `close` makes it an area down to the baseline."""
    if not values:
        return ""
    peak = top if top is not None else max(values)
    step = width / max(len(values) - 1, 1)
    points = [(i * step, height - (float(v) / float(peak) * height if peak else 0))
              for i, v in enumerate(values)]
    line = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f"{line} L{width:.1f},{height:.1f} L0,{height:.1f} Z" if close else line


def bars(values: list[float], width: float, height: float, gap: float = 2) -> list[tuple]:
    """(x, y, w, h) of one bar per value, tallest touching the top."""
    peak = max(values, default=0) or 1
    slot = width / max(len(values), 1)
    return [(i * slot + gap / 2, height - v / peak * height, max(slot - gap, 1), v / peak * height)
            for i, v in enumerate(values)]


def register(app: Flask) -> None:
    """Make these available to every template."""
    app.add_template_filter(money)
    app.add_template_filter(local)
    app.add_template_filter(local_times)
    app.add_template_filter(ago)
    app.add_template_filter(in_words)
    app.add_template_global(percent)
    app.add_template_global(rate)
    app.add_template_global(nice_ceiling)
    app.add_template_global(path, "chart_path")
    app.add_template_global(bars, "chart_bars")
