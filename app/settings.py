"""Store-wide settings a merchant can change: defaults, validation, and reading them back.

Stored as JSON on the store (only what differs from the defaults), so adding a setting needs a
line here and no migration. Flow-specific settings live with their flows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.base import normalize_email


class SettingError(ValueError):
    """A setting's name or value is not acceptable; the message says which and why."""


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(f"timezone: {value!r} is not an IANA time zone name") from None
    return value


def _quiet_hours(value: str) -> str:
    if value == "off":
        return value
    parse_quiet_hours(value)
    return value


def parse_quiet_hours(value: str) -> QuietHours | None:
    """`21:00-08:00` -> QuietHours; `off` -> None."""
    if value == "off":
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", value)
    try:
        h1, m1, h2, m2 = (int(g) for g in match.groups())  # type: ignore[union-attr]
        return QuietHours(time(h1, m1), time(h2, m2))
    except (AttributeError, ValueError):
        raise SettingError("quiet_hours: use HH:MM-HH:MM (e.g. 21:00-08:00) or off") from None


def _whole(name: str, low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise SettingError(f"{name}: {value!r} is not a whole number") from None
        if not low <= number <= high:
            raise SettingError(f"{name}: must be between {low} and {high}")
        return number
    return parse


def _email(value: str) -> str:
    address = normalize_email(value)
    if address is None:
        raise SettingError(f"from_email: {value!r} is not an email address")
    return address


def _text(limit: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        value = str(value).strip()
        if len(value) > limit:
            raise SettingError(f"at most {limit} characters")
        return value
    return parse


def _colour(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise SettingError("brand_color: use a hex colour such as #1a73e8")
    return value.lower()


# name -> (default, parser). The parser validates text from the CLI or the UI.
SETTINGS: dict[str, tuple[Any, Callable[[Any], Any]]] = {
    "timezone": ("UTC", _timezone),
    "quiet_hours": ("21:00-08:00", _quiet_hours),
    "frequency_cap_hours": (16, _whole("frequency_cap_hours", 0, 24 * 30)),
    "attribution_days": (5, _whole("attribution_days", 1, 90)),
    "from_email": ("", _email),
    "from_name": ("", _text(100)),
    "reply_to": ("", _email),
    "postal_address": ("", _text(300)),
    "brand_color": ("#1f2937", _colour),
    "logo_url": ("", _text(2048)),
}


def validate(changes: dict[str, Any]) -> dict[str, Any]:
    """Parse every `name=value`; raise SettingError naming the first bad one."""
    parsed = {}
    for name, value in changes.items():
        if name not in SETTINGS:
            raise SettingError(f"unknown setting {name!r}; known: {', '.join(SETTINGS)}")
        parsed[name] = SETTINGS[name][1](value)
    return parsed


def effective(stored: dict[str, Any] | None) -> dict[str, Any]:
    """Every setting with its current value: stored ones over the defaults."""
    stored = stored or {}
    return {name: stored.get(name, default) for name, (default, _) in SETTINGS.items()}
