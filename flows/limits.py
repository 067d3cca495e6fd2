"""What each flow setting may hold: its range in its unit, and the rules between settings (a
flow's later emails wait longer than its earlier ones; a control group leaves someone to email).

Ranges are by setting name: a name means the same thing in every flow that has it. Every
refusal states the range, so a merchant knows what would be accepted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flows.steps import Flow, Wait, WaitUntil

HOURS, DAYS, PERCENT, POINTS = "hours", "days", "%", "points"
# From this share on, the control group is most of the flow's customers: allowed, with a word.
HOLDOUT_WARNING = 50


class LimitError(ValueError):
    """A value outside its range, or two settings that contradict each other."""


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    unit: str
    whole: bool = False

    def __str__(self) -> str:
        low, high = (_number(self.low), _number(self.high))
        unit = self.unit if self.unit == PERCENT else f" {self.unit}"
        days = f" ({self.high / 24:g} days)" if self.unit == HOURS and self.high >= 48 else ""
        return f"{low} to {high}{unit}{days}"

    def hours(self, value: float) -> float:
        """The value as hours, to compare delays counted in hours with ones counted in days."""
        return value * 24 if self.unit == DAYS else value


def _number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e15 else str(value)


def _typed(value: Any) -> str:
    """A refused value as the merchant typed it (cut short: a refusal is read, not scrolled)."""
    text = str(value).strip()
    return text if len(text) <= 40 else f"{text[:40]}..."


RANGES: dict[str, Range] = {
    # When each email goes out, counted from what started the run.
    "delay_hours": Range(1, 2160, HOURS),
    "email_1_delay_hours": Range(1, 2160, HOURS),
    "email_2_delay_hours": Range(1, 2160, HOURS),
    "email_3_delay_hours": Range(1, 2160, HOURS),
    "thank_you_delay_hours": Range(0, 720, HOURS),
    "status_note_hours": Range(1, 720, HOURS),
    "delivery_wait_days": Range(1, 60, DAYS),
    "review_delay_days": Range(1, 365, DAYS),
    "offer_delay_days": Range(0, 90, DAYS),
    "reminder_1_days": Range(1, 60, DAYS),
    "reminder_2_days": Range(1, 60, DAYS),
    "give_up_days": Range(1, 90, DAYS),
    "lapse_days": Range(14, 730, DAYS),  # each rung of the win-back ladder (LADDERS)
    "second_reminder_days": Range(1, 365, DAYS),
    "last_notice_days": Range(1, 365, DAYS),
    "sunset_days": Range(1, 730, DAYS),
    # Who may enter, and when a send is too late to make sense.
    "reentry_days": Range(0, 365, DAYS),
    "entry_window_days": Range(1, 90, DAYS),
    "stale_after_hours": Range(1, 2160, HOURS),
    "drop_after_hours": Range(1, 720, HOURS),
    # Codes, the control group and points.
    "discount_percent": Range(1, 90, PERCENT),
    "discount_valid_days": Range(1, 365, DAYS),
    "holdout_percent": Range(0, 99, PERCENT, whole=True),
    "repeat_order_points": Range(0, 1000, POINTS, whole=True),
    "vip_score": Range(1, 100000, POINTS, whole=True),
}


# Settings that hold a rising list of values, each in its range: at most this many.
LADDERS = {"lapse_days": 3}


def ladder(name: str, value: Any) -> list[float]:
    """A ladder setting's rungs ("90, 180, 365", a list, or one number as older settings hold
    it), each in its range and each above the one before; LimitError stating the rule if not."""
    most = LADDERS[name]
    if isinstance(value, list):
        items = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        items = [value]
    else:
        items = [item.strip() for item in str(value).strip("[] ").split(",") if item.strip()]
    rungs = [number(name, item) for item in items]
    if not 1 <= len(rungs) <= most or any(b <= a for a, b in zip(rungs, rungs[1:])):
        raise LimitError(f"{name}: 1 to {most} values from {RANGES[name]}, each larger than the "
                         f"one before (e.g. 90, 180, 365), not {_typed(value)}")
    return rungs


def number(name: str, value: Any) -> float:
    """A numeric setting's value if it lies in its range; LimitError stating the range if not."""
    limit = RANGES[name]
    try:
        parsed = float(str(value).strip())
    except (TypeError, ValueError):
        parsed = math.nan
    if isinstance(value, bool) or not math.isfinite(parsed):
        raise LimitError(f"{name}: {value!r} is not a number; use a number from {limit}")
    if limit.whole and not parsed.is_integer():
        raise LimitError(f"{name}: use a whole number from {limit}, not {_typed(value)}")
    if not limit.low <= parsed <= limit.high:
        raise LimitError(f"{name}: must be from {limit}, not {_typed(value)}")
    return parsed


def waits(flow: Flow) -> list[str]:
    """The settings a flow waits on, in the order its steps wait (each named once)."""
    names: list[str] = []
    for planned in flow.planned:
        if isinstance(planned.step, (Wait, WaitUntil)):
            name = planned.step.hours or planned.step.days
            if name and name not in names:
                names.append(name)
    return names


def check_order(flow: Flow, settings: dict[str, Any]) -> None:
    """Later waits must be longer than earlier ones (delays count from the same start), so no
    email goes out before the one it follows; LimitError naming both settings if not."""
    previous = None
    for name in waits(flow):
        if name not in settings:
            continue
        limit = RANGES[name]
        value = float(settings[name])
        if previous is not None and limit.hours(value) <= previous[1]:
            earlier, _, shown = previous
            raise LimitError(
                f"{name}: must be more than {earlier} ({shown}) and at most "
                f"{_number(limit.high)} {limit.unit}, as it comes later in the flow; "
                f"{_number(value)} is not")
        previous = (name, limit.hours(value), f"{_number(value)} {limit.unit}")


def warnings(settings: dict[str, Any]) -> list[str]:
    """What is allowed but probably not meant."""
    share = settings.get("holdout_percent", 0)
    if share >= HOLDOUT_WARNING:
        return [f"holdout_percent: {_number(share)} % of customers will get none of this flow's "
                f"emails; a control group of 10 to 20 % is usually enough to measure it"]
    return []
