"""Daily audience queries: who a date-driven flow (win-back, birthday) should enroll now."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator

from sqlalchemy import extract, func, or_, select, tuple_
from sqlalchemy.orm import Session

from app.models import Customer, CustomerMetrics, Order, Store
from flows.localtime import recipient_zone
from flows.steps import rungs


@dataclass(frozen=True)
class Found:
    customer_id: int
    subject: str
    subject_id: int
    triggered_at: datetime
    anchor_at: datetime


def lapsed_customers(session: Session, store: Store, settings: dict,
                     at: datetime) -> Iterator[Found]:
    """Customers whose last order is the first of `lapse_days` old (give or take the entry
    window): the subject is that last order, so each lapse starts one run (which climbs the
    rest of the ladder) and a new order resets it."""
    lapse = timedelta(days=rungs(settings["lapse_days"])[0])
    window = timedelta(days=settings["entry_window_days"])
    # Orders up to `at` only: live that is every order; a dry run asks as of past days.
    last = (select(Order.customer_id, func.max(Order.placed_at).label("placed_at"))
            .where(Order.store_id == store.id, Order.customer_id.is_not(None),
                   Order.placed_at <= at)
            .group_by(Order.customer_id)
            .having(func.max(Order.placed_at).between(at - lapse - window, at - lapse))
            .subquery())
    rows = session.execute(
        select(Order.id, Order.customer_id, Order.placed_at)
        .join(last, (Order.customer_id == last.c.customer_id)
              & (Order.placed_at == last.c.placed_at))
        .where(Order.store_id == store.id)
    ).all()
    for row in rows:
        yield Found(row.customer_id, "order", row.id, row.placed_at, row.placed_at + lapse)


def first_order_anniversaries(session: Session, store: Store, settings: dict,
                              at: datetime) -> Iterator[Found]:
    """Customers whose first counted order is a whole number of years old today on their own
    calendar (as birthdays are found); the subject is the anniversary's year."""
    days = {(at + timedelta(hours=h)).date() for h in (-14, 0, 14)}
    first = CustomerMetrics.first_order_at
    rows = session.execute(select(Customer.id, first, Customer.country_code,
                                  Customer.province_code)
                           .join(CustomerMetrics, CustomerMetrics.customer_id == Customer.id)
                           .where(Customer.store_id == store.id, first.is_not(None),
                                  first < at - timedelta(days=300),
                                  or_(*(tuple_(extract("month", first), extract("day", first))
                                        == (d.month, d.day) for d in days)))).all()
    store_zone = store.effective_settings["timezone"]
    for row in rows:
        zone = recipient_zone(row.country_code, store_zone, row.province_code)
        local_today, ordered = at.astimezone(zone).date(), row.first_order_at.astimezone(zone).date()
        if (ordered.month, ordered.day) == (local_today.month, local_today.day):
            yield Found(row.id, "anniversary", local_today.year, at, at)


# The dates a `days_after` trigger can count from (flows/documents/flow-format-1.schema.json
# lists the same names): the audiences' date variables, kept on each customer's metrics row.
DATE_PROPERTIES = {
    "customer.first_order_at": CustomerMetrics.first_order_at,
    "customer.last_order_at": CustomerMetrics.last_order_at,
    "customer.last_opened_at": CustomerMetrics.last_opened_at,
    "customer.last_clicked_at": CustomerMetrics.last_clicked_at,
    "customer.predicted_next_order_at": CustomerMetrics.predicted_next_order_at,
}


def days_after_date(session: Session, store: Store, settings: dict, at: datetime, *,
                    date: str, days: int) -> Iterator[Found]:
    """Customers for whom today, on their own calendar, is `days` days after the day of their
    `date` (one of DATE_PROPERTIES). The subject is that day, so a date that moves (a newer
    last order) can start the flow again, and the same date never twice."""
    column = DATE_PROPERTIES[date]
    # Candidates within a zone's reach of the day; each is then checked on its own calendar.
    around = at - timedelta(days=days)
    rows = session.execute(select(Customer.id, column.label("on"), Customer.country_code,
                                  Customer.province_code)
                           .join(CustomerMetrics, CustomerMetrics.customer_id == Customer.id)
                           .where(Customer.store_id == store.id,
                                  column.between(around - timedelta(days=2),
                                                 around + timedelta(days=1)),
                                  column <= at)).all()
    store_zone = store.effective_settings["timezone"]
    for row in rows:
        zone = recipient_zone(row.country_code, store_zone, row.province_code)
        day = row.on.astimezone(zone).date()
        if day + timedelta(days=days) == at.astimezone(zone).date():
            yield Found(row.id, "date", day.toordinal(), at, at)


def birthdays_today(session: Session, store: Store, settings: dict,
                    at: datetime) -> Iterator[Found]:
    """Customers whose birthday it is today on their own calendar (their country's or region's
    zone, else the store's): candidates from the dates around `at`, checked one by one."""
    days = {(at + timedelta(hours=h)).date() for h in (-14, 0, 14)}
    rows = session.execute(select(Customer.id, Customer.birthday, Customer.country_code,
                                  Customer.province_code).where(
        Customer.store_id == store.id, Customer.birthday.is_not(None),
        or_(*(tuple_(extract("month", Customer.birthday), extract("day", Customer.birthday))
              == (d.month, d.day) for d in days)),
    )).all()
    store_zone = store.effective_settings["timezone"]
    for row in rows:
        zone = recipient_zone(row.country_code, store_zone, row.province_code)
        local_today = at.astimezone(zone).date()
        if (row.birthday.month, row.birthday.day) == (local_today.month, local_today.day):
            yield Found(row.id, "birthday", local_today.year, at, at)


