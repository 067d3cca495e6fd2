"""Segments: a store's named audiences, each defined by one condition (docs/conditions.md).

The CLI and the UI call these and nothing else: one name check, one rule check, and counts and
members asked of the live customers and metrics (app.audiences.sql), never of a stored copy.
Saving a segment records who is in it now, without telling anyone (app.audiences.membership):
a merchant editing a rule is not thousands of customers entering it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audiences import conditions, membership, sql
from app.audiences.catalogue import facts
from app.core import audit, clock
from app.models import Customer, Segment

NAME = re.compile(r"[^\W_][\w \-]{0,59}")
NAME_RULE = "1 to 60 characters: letters, digits, spaces, - and _, starting with a letter or digit"
PAGE_SIZE = 50
# A segment of at most this many members is read whole and sorted for a page; a bigger one is
# read in page order from the sort's index, stopping after a page. (The index walk alone loses
# when a small segment's members lie at the far end of the sort: customers due to reorder are
# those whose last order is oldest.)
SORT_WHOLE_UP_TO = 20_000
# How members may be ordered: spend or last order, highest first; customers without stay last.
SORTS = {"spend": sql.M.total_spent, "last_order": sql.M.last_order_at}
# A count or a member page is a question a merchant waits for: a rule that takes longer than
# this is refused rather than left to hold a connection.
QUESTION_TIMEOUT_MS = 10_000
# The members' columns of an export, after the address: what their metrics say.
CSV_COLUMNS = ("email", "first_name", "last_name", "orders_count", "total_spent",
               "average_order_value", "first_order_at", "last_order_at",
               "predicted_next_order_at", "accepts_marketing")


class SegmentError(ValueError):
    """A name or rule that cannot be saved, or a segment that is not there; says why."""


@dataclass(frozen=True)
class Member:
    """One row of a members page or an export."""
    customer_id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    orders_count: int
    total_spent: object
    average_order_value: object
    first_order_at: datetime | None
    last_order_at: datetime | None
    predicted_next_order_at: datetime | None
    accepts_marketing: bool


def check_name(name: str) -> str:
    """The name without surrounding spaces, or SegmentError stating the rule."""
    name = (name or "").strip()
    if not NAME.fullmatch(name):
        raise SegmentError(f"a segment name is {NAME_RULE}")
    return name


def check_rule(rule_text: str):
    """The checked rule of JsonLogic text, or SegmentError naming the bad part (JSON pointer)."""
    try:
        return conditions.parse(rule_text)
    except conditions.ConditionError as error:
        raise SegmentError(f"rule {error}") from None


def all_of(session: Session, store_id: int) -> list[Segment]:
    """The store's segments by name."""
    return list(session.execute(select(Segment).where(Segment.store_id == store_id)
                                .order_by(Segment.name)).scalars())


def named(session: Session, store_id: int, name: str) -> Segment:
    """The store's segment of this name, or SegmentError."""
    found = session.execute(select(Segment).where(
        Segment.store_id == store_id, Segment.name == (name or "").strip())).scalar_one_or_none()
    if found is None:
        raise SegmentError(f"no segment named {name!r}")
    return found


def create(session: Session, store_id: int, name: str, rule_text: str, actor: str) -> Segment:
    """A new segment, its members recorded as they are now."""
    segment = Segment(store_id=store_id, name=check_name(name), rule=check_rule(rule_text))
    _save(session, segment)
    audit.record(session, store_id, actor, f"segment {segment.name}", None, _state(segment))
    return segment


def update(session: Session, segment: Segment, rule_text: str, actor: str,
           name: str | None = None) -> Segment:
    """A segment with a new rule (and name, if given), its members recorded afresh."""
    before = _state(segment)
    segment.rule = check_rule(rule_text)
    if name is not None:
        segment.name = check_name(name)
    _save(session, segment)
    audit.record(session, segment.store_id, actor, f"segment {segment.name}",
                 *audit.changed(before, _state(segment)))
    return segment


def remove(session: Session, segment: Segment, actor: str) -> None:
    """Delete a segment (its recorded members go with it)."""
    session.execute(delete(Segment).where(Segment.id == segment.id,
                                          Segment.store_id == segment.store_id))
    audit.record(session, segment.store_id, actor, f"segment {segment.name}", _state(segment),
                 None)


def _state(segment: Segment) -> dict:
    return {"name": segment.name, "rule": segment.rule}


def _save(session: Session, segment: Segment) -> None:
    try:
        with session.begin_nested():
            session.add(segment)
            session.flush()
    except IntegrityError:
        raise SegmentError(f"there is already a segment named {segment.name!r}") from None
    _limit_time(session)
    membership.reset(session, segment, clock.now())


def _limit_time(session: Session) -> None:
    session.execute(text(f"SET LOCAL statement_timeout = {QUESTION_TIMEOUT_MS}"))


def count(session: Session, store_id: int, rule) -> int:
    """How many of the store's customers a checked rule holds for, now."""
    _limit_time(session)
    return sql.count(session, store_id, rule)


def page(session: Session, store_id: int, rule, sort: str = "spend",
         number: int = 1) -> tuple[int, list[Member]]:
    """What a segment's page shows: how many customers the rule holds for, and page `number`
    of them (see `members`)."""
    total = count(session, store_id, rule)
    return total, members(session, store_id, rule, sort, number, PAGE_SIZE,
                          whole=total <= SORT_WHOLE_UP_TO)


def members(session: Session, store_id: int, rule, sort: str = "spend", page: int = 1,
            size: int | None = PAGE_SIZE, whole: bool = False) -> list[Member]:
    """One page of the customers a checked rule holds for (every one when `size` is None),
    highest spend or latest order first, then by id so pages never overlap. `whole`: find
    them all first, then sort (see SORT_WHOLE_UP_TO)."""
    key = SORTS.get(sort, SORTS["spend"])
    _limit_time(session)
    columns = (Customer.id, Customer.email, Customer.first_name, Customer.last_name,
               sql.M.orders_count, sql.M.total_spent, sql.M.average_order_value,
               sql.M.first_order_at, sql.M.last_order_at, sql.M.predicted_next_order_at,
               sql.COLUMNS["customer.accepts_marketing"](None))
    offset = (max(page, 1) - 1) * (size or 0)
    if whole:  # every match with its sort key, the page cut from them, then its rows
        found = (sql.matching(store_id, rule).add_columns(key.label("key"))
                 .cte("found").prefix_with("MATERIALIZED"))
        chosen = (select(found.c.id, found.c.key)
                  .order_by(found.c.key.desc().nulls_last(), found.c.id)
                  .limit(size).offset(offset).subquery())
        query = (select(*columns).select_from(chosen)
                 .join(Customer, Customer.id == chosen.c.id).join(sql.M, sql.M.customer_id == chosen.c.id)
                 .where(Customer.store_id == store_id)
                 .order_by(chosen.c.key.desc().nulls_last(), chosen.c.id))
    else:  # read in the sort's order, stopping after a page
        query = (sql.joined(store_id, rule).with_only_columns(*columns)
                 .order_by(key.desc().nulls_last(), Customer.id))
        if size is not None:
            query = query.limit(size).offset(offset)
    return [Member(*row) for row in session.execute(query.execution_options(yield_per=1000))]


def export(session: Session, store_id: int, rule) -> Iterator[tuple]:
    """Every member as a CSV row of CSV_COLUMNS, highest spend first."""
    for member in members(session, store_id, rule, size=None):
        yield tuple(getattr(member, column) for column in CSV_COLUMNS)


def of_customer(session: Session, customer: Customer) -> list[Segment]:
    """The store's segments this customer is in now (each rule evaluated for them alone)."""
    known = facts(session, customer, clock.now())
    return [segment for segment in all_of(session, customer.store_id)
            if conditions.evaluate(segment.rule, known)]


def spreadsheet_safe(value) -> str:
    """A cell a spreadsheet shows as text: a leading = + - @ would make a formula of a name."""
    if not isinstance(value, str):
        return "" if value is None else str(value)
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value

