"""Store-wide settings a merchant can change: defaults, validation, and reading them back.

Stored as JSON on the store (only what differs from the defaults), so adding a setting needs a
line here and no migration. Flow-specific settings live with their flows.

Each value has one parser, used for what the UI and the CLI submit and, through `problems`, for
what is already stored (a row written before a rule existed): a bad stored value stops the
store's mail in one place (`refusal`) instead of failing deep inside a job.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from email.errors import HeaderParseError
from email.headerregistry import Address
from functools import lru_cache, partial
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.core import brand, logo_image

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
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise SettingError(f"timezone: {value!r} is not an IANA time zone name "
                           "(such as Europe/Berlin or America/New_York)") from None
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
    match = re.fullmatch(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", str(value))
    try:
        h1, m1, h2, m2 = (int(g) for g in match.groups())  # type: ignore[union-attr]
        return QuietHours(time(h1, m1), time(h2, m2))
    except (AttributeError, ValueError):
        raise SettingError("quiet_hours: use HH:MM-HH:MM between 00:00 and 23:59 "
                           "(e.g. 21:00-08:00), or off") from None


def _whole(name: str, low: int, high: int, unit: str) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            raise SettingError(f"{name}: {value!r} is not a whole number; "
                               f"use {low} to {high} {unit}") from None
        if not low <= number <= high:
            raise SettingError(f"{name}: must be from {low} to {high} {unit}, not {number}")
        return number
    return parse


def address_problem(value: str) -> str | None:
    """Why `value` is not one plain address a mail header can carry, or None if it is."""
    if len(value) > 254:
        return "at most 254 characters"
    if brand.CONTROL.search(value) or re.search(r"[\s,;<>]", value):
        return "one address only, without spaces, commas or line breaks"
    local, at, domain = value.rpartition("@")
    if not at:
        return "it has no @"
    if not local:
        return "nothing before the @"
    if not domain:
        return "nothing after the @"
    if not brand.DOMAIN.fullmatch(domain):
        return f"{domain!r} is not a domain name such as yourstore.com"
    try:
        # The parser the mail job's headers use: what passes here cannot fail there.
        parsed = Address(addr_spec=value)
    except (HeaderParseError, ValueError, IndexError):
        return "the part before the @ is not valid"
    if parsed.addr_spec != value:
        return "the part before the @ is not valid"
    return None


def _address(name: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        address = str(value).replace("\x00", "").strip().lower()
        problem = address_problem(address)
        if problem:
            raise SettingError(f"{name}: {value!r} is not an email address: {problem}")
        return address
    return parse


def _text(name: str, limit: int, lines: bool = False) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        value = str(value).replace("\r\n", "\n").strip()
        if len(value) > limit:
            raise SettingError(f"{name}: at most {limit} characters, not {len(value)}")
        if brand.CONTROL.search(value.replace("\n", "") if lines else value):
            raise SettingError(f"{name}: no control characters" if lines
                               else f"{name}: one line, without line breaks or control characters")
        return value
    return parse


def _colour(name: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not brand.HEX_COLOUR.fullmatch(str(value)):
            raise SettingError(f"{name}: use a hex colour #rrggbb such as #1a73e8, "
                               f"not {str(value)[:40]!r}")
        return str(value).lower()
    return parse


def _choice(name: str, options: dict[str, str]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in options:
            raise SettingError(f"{name}: one of {', '.join(options)}, not {str(value)[:40]!r}")
        return value
    return parse


def _checked(name: str, problem: Callable[[str], str | None]) -> Callable[[Any], str]:
    """A parser for a link: `problem` says why one is refused."""
    def parse(value: Any) -> str:
        url = str(value).strip()
        why = problem(url)
        if why:
            raise SettingError(f"{name}: {why}")
        return url
    return parse


# name -> (default, parser). The parser validates text from the CLI or the UI, and stored values.
SETTINGS: dict[str, tuple[Any, Callable[[Any], Any]]] = {
    "timezone": ("UTC", _timezone),
    "quiet_hours": ("21:00-08:00", _quiet_hours),
    "frequency_cap_hours": (16, _whole("frequency_cap_hours", 0, 24 * 30, "hours")),
    "attribution_days": (5, _whole("attribution_days", 1, 90, "days")),
    "from_email": ("", _address("from_email")),
    "from_name": ("", _text("from_name", 100)),
    "reply_to": ("", _address("reply_to")),
    "postal_address": ("", _text("postal_address", 300, lines=True)),
    "brand_color": ("#1f2937", _colour("brand_color")),
    "text_color": (brand.DARK_TEXT, _colour("text_color")),
    "background_color": ("#f4f4f5", _colour("background_color")),
    "font_stack": ("system", _choice("font_stack", brand.FONT_STACKS)),
    "button_style": ("rounded", _choice("button_style", brand.BUTTON_RADII)),
    "logo_url": ("", _checked("logo_url", brand.logo_problem)),
    **{name: ("", _checked(name, partial(brand.social_problem, name)))
       for name in brand.SOCIAL_SITES},
}
# The ones that may be left empty (an empty value clears them back to "not set").
OPTIONAL = frozenset(name for name, (default, _) in SETTINGS.items() if default == "")
POSTAL_ADDRESS_NEEDED = ("postal_address: marketing flows are switched on ({flows}) and marketing "
                         "email must carry your postal address; switch them off first")


def check(changes: dict[str, Any], *, marketing_on: tuple[str, ...] = ()
          ) -> tuple[dict[str, Any], dict[str, str]]:
    """(parsed values, errors by name) for submitted `name=value`s; an optional setting given
    as "" is cleared. `marketing_on` names the store's marketing flows switched on: while there
    are any, the postal address cannot be cleared."""
    parsed, errors = {}, {}
    for name, value in changes.items():
        if name not in SETTINGS:
            errors[name] = f"unknown setting {name!r}; known: {', '.join(SETTINGS)}"
            continue
        if name in OPTIONAL and str(value).strip() == "":
            parsed[name] = ""
            continue
        try:
            parsed[name] = SETTINGS[name][1](value)
        except SettingError as error:
            errors[name] = str(error)
    if parsed.get("logo_url"):
        # The image itself is fetched here, once per save: parsers also re-check stored values.
        why = logo_image.problem(parsed["logo_url"])
        if why:
            errors["logo_url"] = f"logo_url: {why}"
            del parsed["logo_url"]
    if parsed.get("postal_address", None) == "" and marketing_on:
        errors["postal_address"] = POSTAL_ADDRESS_NEEDED.format(flows=", ".join(marketing_on))
    return parsed, errors


def validate(changes: dict[str, Any], *, marketing_on: tuple[str, ...] = ()) -> dict[str, Any]:
    """Parse every `name=value`; raise SettingError naming every bad one (one per line)."""
    parsed, errors = check(changes, marketing_on=marketing_on)
    if errors:
        raise SettingError("\n".join(errors.values()))
    return parsed


def warnings(stored: dict[str, Any] | None, parsed: dict[str, Any]) -> list[str]:
    """What reads poorly among the `parsed` changes once saved (low colour contrast): they
    save, and the UI and the CLI say so."""
    return [warning for warning in brand.warnings(effective(updated(stored, parsed)))
            if warning.partition(":")[0] in parsed]


def updated(stored: dict[str, Any] | None, parsed: dict[str, Any]) -> dict[str, Any]:
    """The stored settings after `parsed` changes: what equals its default is not kept."""
    merged = {**(stored or {}), **parsed}
    return {name: value for name, value in merged.items()
            if name not in SETTINGS or SETTINGS[name][0] != value}


def problems(stored: dict[str, Any] | None) -> dict[str, str]:
    """Each stored setting its parser refuses today, with why: a row written before the rule."""
    try:
        return dict(_known_problems(tuple(sorted((stored or {}).items()))))
    except TypeError:  # a value JSON holds but a tuple cannot hash (a list): check it afresh
        return _problems(stored or {})


@lru_cache(maxsize=1024)
def _known_problems(items: tuple) -> tuple:
    # Every read of a store's settings asks (a page's clock, each mail header): once per value.
    return tuple(_problems(dict(items)).items())


def _problems(stored: dict[str, Any]) -> dict[str, str]:
    found = {}
    for name, value in stored.items():
        if name not in SETTINGS or (name in OPTIONAL and value in ("", None)):
            continue
        try:
            SETTINGS[name][1](value)
        except SettingError as error:
            found[name] = str(error)
    return found


def refusal(stored: dict[str, Any] | None, marketing: bool) -> str | None:
    """Why no email (or, with `marketing`, no marketing email) may go out with these stored
    settings, naming the settings to fix but never their values (an address is personal data);
    None when mail may go."""
    bad = problems(stored)
    if bad:
        return f"store settings to fix: {', '.join(bad)}"
    if marketing and not effective(stored)["postal_address"]:
        return ("no postal address: marketing email must carry the store's postal address "
                "(the postal_address setting)")
    return None


def effective(stored: dict[str, Any] | None) -> dict[str, Any]:
    """Every setting with its current value: stored ones over the defaults. A stored value its
    parser refuses reads as the default, so nothing that reads settings (the attribution window
    in an ingest job, the UI's clock, a mail header) fails on it; `refusal` stops the mail and
    the pages say what to fix."""
    stored, bad = stored or {}, problems(stored)
    return {name: default if name in bad else stored.get(name, default)
            for name, (default, _) in SETTINGS.items()}
