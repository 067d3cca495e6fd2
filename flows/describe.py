"""A flow's description in the merchant's words, with the numbers of their own settings: a
description names settings (`{email_1_delay_hours:hours}`), never copies their defaults, so the
text and the settings cannot disagree."""
from __future__ import annotations

import string
from typing import Any

NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven"}


def duration(amount: int, unit: str) -> str:
    """3 days, a day, an hour, 36 hours (a whole number of days reads in days)."""
    if unit == "hour" and amount % 24 == 0:
        amount, unit = amount // 24, "day"
    if amount == 1:
        return f"an {unit}" if unit == "hour" else f"a {unit}"
    return f"{NUMBERS.get(amount, amount)} {unit}s"


class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "hours":
            return duration(int(value), "hour")
        if format_spec == "days" and isinstance(value, list):  # a ladder: 90, 180 and 365 days
            counts = [str(NUMBERS.get(int(v), int(v))) for v in value]
            return duration(int(value[0]), "day") if len(counts) == 1 else \
                f"{', '.join(counts[:-1])} and {counts[-1]} days"
        if format_spec == "days":
            return duration(int(value), "day")
        if format_spec == "percent":
            return f"{value}%"
        return super().format_field(value, format_spec)


def describe(template: str, settings: dict[str, Any]) -> str:
    """The description with each named setting's value, as the merchant reads it."""
    text = _Formatter().format(template, **settings)
    return text[:1].upper() + text[1:]
