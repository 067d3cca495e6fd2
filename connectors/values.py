"""Reading values out of platform payloads, one rule each: emails normalised once on the way in,
times made timezone-aware, money exact, ids bounded, text trimmed to its column. A bad value is a
PayloadError naming the field, never its content. Connectors use these; so does app wherever a
merchant or shopper types the same kinds of value."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from connectors.base import PayloadError


def normalize_email(value: Any) -> str | None:
    """Trim and lower-case an address; None for anything that is not one."""
    if not isinstance(value, str):
        return None
    email = value.replace("\x00", "").strip().lower()
    return email if "@" in email and len(email) <= 320 else None


def require(payload: Mapping[str, Any], key: str) -> Any:
    if not isinstance(payload, Mapping):
        raise PayloadError(f"expected an object around {key!r}")
    value = payload.get(key)
    if value is None:
        raise PayloadError(f"missing field {key!r}")
    return value


def require_text(payload: Mapping[str, Any], key: str, limit: int = 512) -> str:
    """A string field that must be there, trimmed to its column's size."""
    value = text(require(payload, key), limit)
    if value is None:
        raise PayloadError(f"field {key!r} is not text")
    return value


def parse_time(value: Any, name: str) -> datetime | None:
    """ISO 8601 with an offset -> aware datetime; None stays None."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(f"field {name!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise PayloadError(f"field {name!r} has no time zone")
    return parsed


def parse_date(value: Any, name: str) -> date | None:
    """A calendar date (YYYY-MM-DD); None stays None."""
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PayloadError(f"field {name!r} is not a date") from None


def parse_money(value: Any, name: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise PayloadError(f"field {name!r} is not an amount") from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e14"):
        raise PayloadError(f"field {name!r} is out of range")
    return amount


def parse_id(value: Any, name: str) -> int:
    """Platform ids are integers that fit a signed 64-bit column; never floats."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PayloadError(f"field {name!r} is not an id")
    try:
        number = int(value)
    except ValueError:
        raise PayloadError(f"field {name!r} is not an id") from None
    if not 0 < number < 2**63:
        raise PayloadError(f"field {name!r} is out of range")
    return number


def optional_id(value: Any, name: str) -> int | None:
    return None if value in (None, "", 0) else parse_id(value, name)


def text(value: Any, limit: int = 512) -> str | None:
    """A string field, trimmed to its column's size; anything else becomes None."""
    # PostgreSQL cannot store NUL in text or jsonb; it means nothing in a name or a code.
    return value.replace("\x00", "")[:limit] if isinstance(value, str) else None


def web_url(value: Any, limit: int = 2048) -> str | None:
    """An http(s) link as a field gives it; anything else (another scheme, spaces, longer
    than the column) becomes None."""
    if not isinstance(value, str) or len(value) > limit or any(c.isspace() for c in value):
        return None
    return value if value.lower().startswith(("https://", "http://")) else None
