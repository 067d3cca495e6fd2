"""The recipient's clock: their time zone, and the next moment outside the store's quiet hours."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

from app.core.settings import QuietHours


@lru_cache(maxsize=1)
def _zones_by_country() -> dict[str, tuple[str, ...]]:
    """ISO country code -> its IANA zones, from the tz database's own zone.tab."""
    table: dict[str, list[str]] = {}
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            country, _, zone, *_ = line.split("\t")
            table.setdefault(country, []).append(zone)
    return {country: tuple(zones) for country, zones in table.items()}


def recipient_zone(country_code: str | None, store_zone: str) -> ZoneInfo:
    """The customer's zone when their country has one; in a country of several zones the store's
    when it is one of them; else the store's."""
    zones = _zones_by_country().get((country_code or "").upper(), ())
    if len(zones) == 1:
        return ZoneInfo(zones[0])
    return ZoneInfo(store_zone)


def _quiet(local: time, hours: QuietHours) -> bool:
    if hours.start <= hours.end:
        return hours.start <= local < hours.end
    return local >= hours.start or local < hours.end  # the window spans midnight


def next_allowed(now: datetime, zone: ZoneInfo, hours: QuietHours | None) -> datetime:
    """`now` if it is outside quiet hours in `zone`; else the end of the quiet window (DST-safe:
    the end is a wall-clock time on the recipient's calendar, converted with that day's offset)."""
    if hours is None:
        return now
    local = now.astimezone(zone)
    if not _quiet(local.time(), hours):
        return now
    day = local.date()
    if hours.start > hours.end and local.time() >= hours.start:
        day += timedelta(days=1)
    return datetime.combine(day, hours.end, tzinfo=zone).astimezone(now.tzinfo)
