"""Checked conditions compiled to SQL over one store's customers and their metrics, with the
Python evaluator's answers: every comparison is two-valued (a missing value compares false,
except with null itself), money and numbers compare as floats, dates as instants.

Only names from the catalogue become columns and every value is a bound parameter, so nothing
in a rule reaches the SQL text.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy import (Boolean, DateTime, Float, String, and_, cast, false, func, literal, not_,
                        null, or_, select, true, type_coerce)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.audiences.catalogue import (BOOLEAN, DATETIME, ELEMENT, ENGAGEMENT_WINDOW, NUMBER, TEXT,
                                     VARIABLES)
from app.core import clock
from app.ingest import consent
from app.models import Customer, CustomerMetrics, StoreMetrics

M = CustomerMetrics
DAY_SECONDS = 86400


def _money(column) -> ColumnElement:
    return cast(column, Float)


def _days(earlier, later) -> ColumnElement:
    """Whole days from `earlier` to `later`, rounded down (as catalogue.days_between)."""
    return func.floor(func.extract("epoch", later - earlier) / DAY_SECONDS)


def _top_spender() -> ColumnElement:
    bar = select(StoreMetrics.top_spend).where(
        StoreMetrics.store_id == Customer.store_id).scalar_subquery()
    spent = func.coalesce(M.total_spent, 0)
    return _two_valued(and_(spent > 0, spent >= bar))


def _emails_30d(now: datetime) -> ColumnElement:
    sent = func.unnest(M.recent_sends).table_valued("sent_at").render_derived()
    return func.coalesce(select(func.count()).select_from(sent).where(
        sent.c.sent_at > _at(now - ENGAGEMENT_WINDOW), sent.c.sent_at <= _at(now),
    ).scalar_subquery(), 0)


def _at(instant: datetime) -> ColumnElement:
    return literal(instant, DateTime(timezone=True))


# The `customer.*` variables as expressions: NULL exactly where the Python facts hold None.
COLUMNS: dict[str, Callable[[datetime], ColumnElement]] = {
    "customer.email": lambda now: Customer.email,
    "customer.first_name": lambda now: Customer.first_name,
    "customer.last_name": lambda now: Customer.last_name,
    "customer.tags": lambda now: func.coalesce(Customer.tags, cast("[]", JSONB)),
    "customer.orders_count": lambda now: func.coalesce(M.orders_count, 0),
    "customer.total_spent": lambda now: _money(func.coalesce(M.total_spent, 0)),
    "customer.average_order_value": lambda now: _money(M.average_order_value),
    "customer.first_order_at": lambda now: M.first_order_at,
    "customer.last_order_at": lambda now: M.last_order_at,
    "customer.days_since_last_order": lambda now: _days(M.last_order_at, _at(now)),
    "customer.products_bought": lambda now: func.coalesce(M.product_ids, cast("[]", JSONB)),
    "customer.product_titles": lambda now: func.coalesce(M.product_titles, cast("[]", JSONB)),
    "customer.country": lambda now: Customer.country_code,
    "customer.accepts_marketing": lambda now: func.coalesce(
        Customer.email_consent == consent.SUBSCRIBED, false()),
    "customer.score": lambda now: func.coalesce(Customer.score, 0),
    "customer.last_opened_at": lambda now: M.last_opened_at,
    "customer.last_clicked_at": lambda now: M.last_clicked_at,
    "customer.days_since_last_open": lambda now: _days(M.last_opened_at, _at(now)),
    "customer.days_since_last_click": lambda now: _days(M.last_clicked_at, _at(now)),
    "customer.emails_30d": _emails_30d,
    "customer.predicted_next_order_at": lambda now: M.predicted_next_order_at,
    "customer.days_to_predicted_order": lambda now: _days(_at(now), M.predicted_next_order_at),
    "customer.top_spender": lambda now: _top_spender(),
}
BIND_TYPES = {NUMBER: Float, TEXT: String, BOOLEAN: Boolean, DATETIME: DateTime(timezone=True)}


def _two_valued(expression: ColumnElement) -> ColumnElement:
    return func.coalesce(expression, false(), type_=Boolean)


class _Compiler:
    def __init__(self, now: datetime):
        self.now = now

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
        return COLUMNS[variable.name](self.now), variable.type

    def truthy(self, node) -> ColumnElement:
        """JsonLogic's truthiness: not null, not 0, not "", not an empty list."""
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
        if kind == DATETIME:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif kind == NUMBER:
            value = float(value)
        return literal(value, BIND_TYPES[kind])

    def comparison(self, op: str, args: list) -> ColumnElement:
        operands = self.operands(args)
        if op in ("==", "==="):
            return operands[0].is_not_distinct_from(operands[1])
        if op in ("!=", "!=="):
            return operands[0].is_distinct_from(operands[1])
        compare = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
                   ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}[op]
        return and_(*(_two_valued(compare(a, b)) for a, b in zip(operands, operands[1:])))

    def membership(self, needle, haystack) -> ColumnElement:
        if isinstance(haystack, list):  # a variable among listed values
            column, kind = self.variable(needle)
            return _two_valued(column.in_([self.value(item, kind) for item in haystack]))
        column, kind = self.variable(haystack)
        if kind in ELEMENT:  # a value among a list variable's items
            return _two_valued(column.op("@>", is_comparison=True)(type_coerce([needle], JSONB)))
        return _two_valued(func.strpos(column, literal(needle, String)) > 0)


def expression(rule, now: datetime | None = None) -> ColumnElement:
    """A checked rule (conditions.check, CUSTOMER scope) as a WHERE clause over Customer
    outer-joined to CustomerMetrics (see `matching`)."""
    return _Compiler(now or clock.now()).condition(rule)


def matching(store_id: int, rule, now: datetime | None = None):
    """SELECT the ids of one store's customers for whom the checked rule holds."""
    return (select(Customer.id)
            .outerjoin(M, (M.customer_id == Customer.id) & (M.store_id == Customer.store_id))
            .where(Customer.store_id == store_id, expression(rule, now)))


def count(session: Session, store_id: int, rule, now: datetime | None = None) -> int:
    """How many of one store's customers the checked rule holds for."""
    return session.execute(select(func.count()).select_from(
        matching(store_id, rule, now).subquery())).scalar_one()
