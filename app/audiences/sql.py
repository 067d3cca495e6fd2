"""Checked conditions compiled to SQL over one store's customers and their metrics, with the
Python evaluator's answers: every comparison is two-valued (a missing value compares false,
except with null itself), money and numbers compare as floats, dates as instants.

Only names from the catalogue become columns and every value is a bound parameter, so nothing
in a rule reaches the SQL text.

A comparison of a variable with a value compiles to what an index can answer: the bare column
against a bound value (`last_order_at <= now - 90 days` for "90 days or more since the last
order"), made two-valued with IS NOT NULL rather than coalesce(). A members page then walks the
metrics index in page order and stops after a page.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable

from sqlalchemy import (BigInteger, Boolean, DateTime, Float, Numeric, String, and_, cast, false,
                        func, literal, not_, null, or_, select, true, type_coerce)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import find_tables

from app.audiences.catalogue import (BOOLEAN, DATETIME, ELEMENT, ENGAGEMENT_WINDOW, NUMBER, TEXT,
                                     VARIABLES)
from app.core import clock
from app.ingest import consent
from app.models import Customer, CustomerMetrics, StoreMetrics

M = CustomerMetrics
DAY_SECONDS = 86400
COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
EQUAL, UNEQUAL = ("==", "==="), ("!=", "!==")


@dataclass(frozen=True)
class Question:
    """What every compiled rule is asked against: one store, at one moment."""
    store_id: int | None
    now: datetime


def _days(earlier, later) -> ColumnElement:
    """Whole days from `earlier` to `later`, rounded down (as catalogue.days_between)."""
    return func.floor(func.extract("epoch", later - earlier) / DAY_SECONDS)


def _at(instant: datetime) -> ColumnElement:
    return literal(instant, DateTime(timezone=True))


def _top_spender(q: Question) -> ColumnElement:
    # The bar is read once per question (an InitPlan), not once per customer; a store whose
    # bar is not set yet has no top spender ('Infinity' is above every amount).
    bar = select(func.coalesce(func.max(StoreMetrics.top_spend),
                               literal("Infinity", Numeric))).where(
        StoreMetrics.store_id == q.store_id).scalar_subquery()
    return and_(M.total_spent.is_not(None), M.total_spent > 0, M.total_spent >= bar)


def _emails_30d(q: Question) -> ColumnElement:
    sent = func.unnest(M.recent_sends).table_valued("sent_at").render_derived()
    return func.coalesce(select(func.count()).select_from(sent).where(
        sent.c.sent_at > _at(q.now - ENGAGEMENT_WINDOW), sent.c.sent_at <= _at(q.now),
    ).scalar_subquery(), 0)


# The columns as stored; NULL only where the Python facts hold None (every customer has a
# metrics row: migration 0026).
STORED: dict[str, ColumnElement] = {
    "customer.email": Customer.email,
    "customer.first_name": Customer.first_name,
    "customer.last_name": Customer.last_name,
    "customer.tags": Customer.tags,
    "customer.orders_count": M.orders_count,
    "customer.total_spent": M.total_spent,
    "customer.average_order_value": M.average_order_value,
    "customer.first_order_at": M.first_order_at,
    "customer.last_order_at": M.last_order_at,
    "customer.products_bought": M.product_ids,
    "customer.product_titles": M.product_titles,
    "customer.product_types": M.product_types,
    "customer.vendors": M.vendors,
    "customer.country": Customer.country_code,
    "customer.region": Customer.province_code,
    "customer.score": Customer.score,
    "customer.last_opened_at": M.last_opened_at,
    "customer.last_clicked_at": M.last_clicked_at,
    "customer.predicted_next_order_at": M.predicted_next_order_at,
}
MONEY = {"customer.total_spent", "customer.average_order_value"}
WHOLE = {"customer.orders_count", "customer.score"}  # integer columns
# Whole days counted from a stored instant: (the instant, +1 when it lies behind now: days
# since; -1 when ahead: days to).
DAY_COUNTS = {"customer.days_since_last_order": (M.last_order_at, 1),
              "customer.days_since_last_open": (M.last_opened_at, 1),
              "customer.days_since_last_click": (M.last_clicked_at, 1),
              "customer.days_to_predicted_order": (M.predicted_next_order_at, -1)}


def _stored_value(name: str) -> Callable[[Question], ColumnElement]:
    column = cast(STORED[name], Float) if name in MONEY else STORED[name]
    return lambda q: column


def _day_count(name: str) -> Callable[[Question], ColumnElement]:
    column, sign = DAY_COUNTS[name]
    return lambda q: _days(column, _at(q.now)) if sign > 0 else _days(_at(q.now), column)


# The `customer.*` variables as expressions: NULL exactly where the Python facts hold None.
COLUMNS: dict[str, Callable[[Question], ColumnElement]] = {
    **{name: _stored_value(name) for name in STORED},
    **{name: _day_count(name) for name in DAY_COUNTS},
    "customer.accepts_marketing": lambda q: and_(Customer.email_consent.is_not(None),
                                                 Customer.email_consent == consent.SUBSCRIBED),
    "customer.emails_30d": _emails_30d,
    "customer.top_spender": _top_spender,
}
BIND_TYPES = {NUMBER: Float, TEXT: String, BOOLEAN: Boolean, DATETIME: DateTime(timezone=True)}
# Boolean variables whose expression is never NULL, so they are used as they are.
TWO_VALUED = {"customer.accepts_marketing", "customer.top_spender"}


def _two_valued(expression: ColumnElement) -> ColumnElement:
    return func.coalesce(expression, false(), type_=Boolean)


def _present(column: ColumnElement, comparison: ColumnElement) -> ColumnElement:
    """A comparison of a stored column, two-valued: a missing value compares false."""
    return and_(column.is_not(None), comparison)


def _whole(op: str, value: float) -> tuple[str, int] | None:
    """An order comparison of a whole number with `value` as `>=` or `<` a whole number
    (floor(x) >= n holds exactly when x >= ceil(n), and so on); None for `==` a fraction."""
    if op in EQUAL:
        return ("==", int(value)) if value == int(value) else None
    return {">=": (">=", math.ceil(value)), ">": (">=", math.floor(value) + 1),
            "<": ("<", math.ceil(value)), "<=": ("<", math.floor(value) + 1)}[op]


class _Compiler:
    def __init__(self, question: Question):
        self.q = question

    def condition(self, node) -> ColumnElement:
        if isinstance(node, bool):
            return true() if node else false()
        op, args = next(iter(node.items()))
        if op == "and":
            return and_(*(self.condition(arg) for arg in args))
        if op == "or":
            return or_(*(self.condition(arg) for arg in args))
        if op == "!":
            return not_(self.condition(args[0]))
        if op == "!!":
            return self.condition(args[0])
        if op == "var":
            return self.truthy(node)
        if op == "in":
            return self.membership(*args)
        return self.comparison(op, args)

    def variable(self, node) -> tuple[ColumnElement, str]:
        variable = VARIABLES[node["var"]]
        if variable.name not in COLUMNS:  # check() with the CUSTOMER scope keeps these out
            raise ValueError(f"{variable.name} is not a customer variable")
        return COLUMNS[variable.name](self.q), variable.type

    def truthy(self, node) -> ColumnElement:
        """JsonLogic's truthiness: not null, not 0, not "", not an empty list."""
        if node["var"] in TWO_VALUED:
            return self.variable(node)[0]
        column, kind = self.variable(node)
        if kind == BOOLEAN:
            return _two_valued(column)
        if kind == DATETIME:
            return column.is_not(None)
        if kind in ELEMENT:
            return func.jsonb_array_length(column) > 0
        return _two_valued(column != (0 if kind == NUMBER else ""))

    def operands(self, args: list) -> list[ColumnElement]:
        kinds = {VARIABLES[arg["var"]].type for arg in args if isinstance(arg, dict)}
        kind = kinds.pop() if kinds else None
        return [self.variable(arg)[0] if isinstance(arg, dict) else self.value(arg, kind)
                for arg in args]

    def value(self, value, kind: str | None) -> ColumnElement:
        if value is None:
            return null()
        if kind is None:
            kind = (BOOLEAN if isinstance(value, bool) else
                    NUMBER if isinstance(value, (int, float)) else TEXT)
        return literal(_typed(value, kind), BIND_TYPES[kind])

    def comparison(self, op: str, args: list) -> ColumnElement:
        pairs = zip(args, args[1:])  # a < b < c is a < b and b < c
        return and_(*(self.pair(op, left, right) for left, right in pairs))

    def pair(self, op: str, left, right) -> ColumnElement:
        if isinstance(right, dict) and not isinstance(left, dict):
            op, left, right = FLIPPED.get(op, op), right, left
        if isinstance(left, dict) and not isinstance(right, dict) and right is not None:
            found = self.against_value(op, left["var"], right)
            if found is not None:
                return found
        a, b = self.operands([left, right])
        if op in EQUAL:
            return a.is_not_distinct_from(b)
        if op in UNEQUAL:
            return a.is_distinct_from(b)
        return _two_valued(COMPARE[op](a, b))

    def membership(self, needle, haystack) -> ColumnElement:
        if isinstance(haystack, list):  # a variable among listed values
            column, kind = self.variable(needle)
            return _two_valued(column.in_([self.value(item, kind) for item in haystack]))
        column, kind = self.variable(haystack)
        if kind in ELEMENT:  # a value among a list variable's items
            return _two_valued(column.op("@>", is_comparison=True)(type_coerce([needle], JSONB)))
        return _two_valued(func.strpos(column, literal(needle, String)) > 0)

    def against_value(self, op: str, name: str, value) -> ColumnElement | None:
        """A variable compared with a value, as an index can answer it; None where only the
        general form will do."""
        if op in UNEQUAL:
            equal = self.against_value("==", name, value)
            return None if equal is None else not_(equal)
        kind = VARIABLES[name].type
        if name in TWO_VALUED and op in EQUAL:
            expression = COLUMNS[name](self.q)
            return expression if value else not_(expression)
        if name in DAY_COUNTS and op in COMPARE:
            return self.day_count(op, name, value)
        if name not in STORED:
            return None
        column, typed = STORED[name], _typed(value, kind)
        if name in WHOLE:
            whole = _whole(op, typed)
            if whole is None:
                return false()
            op, typed = whole
        bound = (literal(Decimal(repr(typed)), Numeric) if name in MONEY
                 else literal(typed, BIND_TYPES[kind]) if name not in WHOLE
                 else literal(typed, BigInteger))
        return _present(column, (operator.eq if op in EQUAL else COMPARE[op])(column, bound))

    def day_count(self, op: str, name: str, value) -> ColumnElement | None:
        """Whole days since (or to) an instant against a number of days, as the instant
        against a moment."""
        column, sign = DAY_COUNTS[name]
        op, days = _whole(op, value)
        try:
            moment = _at(self.q.now - sign * timedelta(days=days))
        except OverflowError:  # further than any date: the general form answers
            return None
        if sign > 0:  # days since: the instant lies at least (or less than) n days behind
            return _present(column, column <= moment if op == ">=" else column > moment)
        return _present(column, column >= moment if op == ">=" else column < moment)


def _typed(value, kind: str):
    if kind == DATETIME:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if kind == NUMBER:
        return float(value)
    return value


def expression(rule, question: Question) -> ColumnElement:
    """A checked rule (conditions.check, CUSTOMER scope) as a WHERE clause over Customer
    joined to CustomerMetrics (see `matching`)."""
    return _Compiler(question).condition(rule)


def joined(store_id: int, rule, now: datetime | None = None):
    """SELECT the ids of one store's customers for whom the checked rule holds, from the
    customers joined to their metrics (other columns of either can be selected)."""
    question = Question(store_id, now or clock.now())
    return (select(Customer.id)
            .join(M, (M.customer_id == Customer.id) & (M.store_id == Customer.store_id))
            .where(Customer.store_id == store_id, expression(rule, question)))


def matching(store_id: int, rule, now: datetime | None = None):
    """SELECT the ids (`id`) of one store's customers for whom the checked rule holds. A rule
    that reads only metrics reads their rows alone (one per customer), without joining a
    million customers; metrics columns can be added to either form."""
    where = expression(rule, Question(store_id, now or clock.now()))
    if Customer.__table__ in find_tables(where, check_columns=True):
        return joined(store_id, rule, now)
    return select(M.customer_id.label("id")).where(M.store_id == store_id, where)


def count(session: Session, store_id: int, rule, now: datetime | None = None) -> int:
    """How many of one store's customers the checked rule holds for."""
    return session.execute(select(func.count()).select_from(
        matching(store_id, rule, now).subquery())).scalar_one()
