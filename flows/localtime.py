"""The recipient's clock: their time zone (their country's, or in a country of several zones their
state's or province's), and the next moment outside the store's quiet hours."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo, available_timezones

from iso3166_2 import Subdivisions
from timezonefinder import TimezoneFinder

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


@lru_cache(maxsize=1)
def _subdivisions() -> Subdivisions:
    return Subdivisions()


@lru_cache(maxsize=1)
def _zone_finder() -> TimezoneFinder:
    return TimezoneFinder()


@lru_cache(maxsize=1024)
def _region_zone(country: str, region: str) -> str | None:
    """The zone of a state or province (ISO 3166-2 code, as Shopify and WooCommerce give it for
    the US, Canada, Australia, Brazil, Russia...): the zone at its point in iso3166-2's data,
    found in timezonefinder's zone boundaries; None when either does not know it."""
    try:
        latitude, longitude = _subdivisions()[country][f"{country}-{region}"].latLng
    except (KeyError, TypeError, ValueError):  # not a code of that country, or no point kept
        return None
    zone = _zone_finder().timezone_at(lat=latitude, lng=longitude)
    return zone if zone in available_timezones() else None


def recipient_zone(country_code: str | None, store_zone: str,
                   province_code: str | None = None) -> ZoneInfo:
    """The customer's zone: their country's when it has one; in a country of several zones their
    state's or province's when we know it; else the store's."""
    country = (country_code or "").upper()
    zones = _zones_by_country().get(country, ())
    if len(zones) == 1:
        return ZoneInfo(zones[0])
    region = (province_code or "").strip().upper()
    zone = _region_zone(country, region) if zones and region else None
    return ZoneInfo(zone or store_zone)


def next_weekly(after: datetime, zone: ZoneInfo, weekday: int, at: time) -> datetime:
    """The first moment strictly after `after` that is `weekday` (0 is Monday) at `at` on the
    wall clock of `zone` (a time the clocks skip is read with the offset before the change)."""
    local = after.astimezone(zone)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    moment = datetime.combine(day, at, tzinfo=zone)
    if moment <= after:
        moment = datetime.combine(day + timedelta(days=7), at, tzinfo=zone)
    return moment.astimezone(after.tzinfo)


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
