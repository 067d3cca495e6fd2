"""Segments every store starts from: a merchant copies one (and may change it) rather than
writing the rule. Each is an ordinary rule of the condition language, checked like any other."""
from __future__ import annotations

from dataclasses import dataclass


def _var(name: str) -> dict:
    return {"var": f"customer.{name}"}


def _lapsed(days: int) -> dict:
    return {">=": [_var("days_since_last_order"), days]}


@dataclass(frozen=True)
class Builtin:
    key: str
    name: str
    description: str
    rule: object


BUILTINS = {b.key: b for b in (
    Builtin("vip", "VIP", "the top 5 % of buyers by total spent",
            {"==": [_var("top_spender"), True]}),
    Builtin("repeat", "Repeat buyers", "two orders or more", {">=": [_var("orders_count"), 2]}),
    Builtin("one_time", "One-time buyers", "exactly one order",
            {"==": [_var("orders_count"), 1]}),
    Builtin("never", "Never purchased", "no order that counts",
            {"==": [_var("orders_count"), 0]}),
    Builtin("lapsed_90", "Lapsed 90 days", "no order for 90 days or more", _lapsed(90)),
    Builtin("lapsed_180", "Lapsed 180 days", "no order for 180 days or more", _lapsed(180)),
    Builtin("lapsed_365", "Lapsed 365 days", "no order for a year or more", _lapsed(365)),
    Builtin("engaged_30", "Engaged in the last 30 days", "opened or clicked an email lately",
            {"or": [{"<=": [_var("days_since_last_open"), 30]},
                    {"<=": [_var("days_since_last_click"), 30]}]}),
    Builtin("due_to_reorder", "Due to reorder", "predicted to order again within 7 days",
            {"<=": [0, _var("days_to_predicted_order"), 7]}),
)}
