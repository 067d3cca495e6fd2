"""The overview's numbers: what each flow sent and earned over a period, day by day, what the
holdout says it added, and how often its mail bounced, was reported as spam or unsubscribed."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from statistics import fmean
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, true
from sqlalchemy.orm import Session

from app.models import Attribution, FlowRun, Message, MessageEvent, Order, Store, Suppression
from app.reports.attribution import one_flow, revenue_by_flow

# Below this many runs in either group, a difference in revenue is noise, not a result.
MIN_GROUP_SIZE = 20
# A lift counts once a Welch t-test says chance alone would show it less than 5 % of the time.
CONFIDENCE = 0.95
# Gmail's sender guidelines: keep spam complaints under 0.1 % and never reach 0.3 %.
COMPLAINT_LINE = Decimal("0.003")


@dataclass
class FlowStats:
    flow: str
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    orders: int = 0
    # Attributed revenue per currency.
    revenue: dict[str, Decimal] = field(default_factory=dict)
    # Revenue the flow added over its holdout, in the store's currency; None when not computable.
    incremental: "Lift | None" = None
    # Of the messages sent: hard bounces and spam complaints the mail provider reported, and
    # unsubscribes credited to the flow whose marketing email last reached the address.
    bounced: int = 0
    complained: int = 0
    unsubscribed: int = 0

    @property
    def over_complaint_line(self) -> bool:
        """More complaints than Gmail's 0.3 % of what was sent."""
        return bool(self.sent) and Decimal(self.complained) / self.sent > COMPLAINT_LINE


def sent_counted(store_id: int, since):
    """The messages every report counts as sent: the store's, sent since `since` (a time, or a
    column holding each row's own start)."""
    return and_(Message.store_id == store_id, Message.status == "sent", Message.sent_at >= since)


def flow_stats(session: Session, store: Store, since: datetime,
               flow: str | None = None) -> dict[str, FlowStats]:
    """Per flow (only `flow` when given): messages sent since `since`, how many were opened and
    clicked, and revenue."""
    stats: dict[str, FlowStats] = {}
    rows = session.execute(
        select(Message.flow, func.count(), func.count(Message.first_opened_at),
               func.count(Message.first_clicked_at))
        .where(sent_counted(store.id, since), one_flow(Message.flow, flow))
        .group_by(Message.flow)).all()
    for name, sent, opened, clicked in rows:
        stats[name] = FlowStats(name, sent, opened, clicked)
    for earned in revenue_by_flow(session, store.id, since, flow):
        entry = stats.setdefault(earned.flow, FlowStats(earned.flow))
        entry.orders += earned.orders
        entry.revenue[earned.currency] = earned.revenue
    for name, entry in stats.items():
        entry.incremental = incremental_revenue(session, store, name, since)
    _add_feedback(session, store, since, stats, flow)
    return stats


def _add_feedback(session: Session, store: Store, since: datetime,
                  stats: dict[str, FlowStats], flow: str | None) -> None:
    """Bounces and complaints of the messages sent since `since`, and unsubscribes since then."""
    kinds = {"hard_bounce": "bounced", "complaint": "complained"}
    rows = session.execute(
        select(Message.flow, MessageEvent.kind, func.count(func.distinct(Message.id)))
        .join(MessageEvent, (MessageEvent.message_id == Message.id)
              & (MessageEvent.store_id == Message.store_id))
        .where(sent_counted(store.id, since), one_flow(Message.flow, flow),
               MessageEvent.kind.in_(kinds))
        .group_by(Message.flow, MessageEvent.kind)).all()
    for name, kind, count in rows:
        setattr(stats.setdefault(name, FlowStats(name)), kinds[kind], count)
    for name, count in _unsubscribes(session, store, since, flow):
        stats.setdefault(name, FlowStats(name)).unsubscribed = count


def _unsubscribes(session: Session, store: Store, since: datetime,
                  flow: str | None) -> list[tuple[str, int]]:
    """Unsubscribes since `since`, each credited to the flow of the last marketing email sent to
    the address before it (the unsubscribe link does not record which message it came from)."""
    last = (select(Message.flow)
            .where(Message.store_id == Suppression.store_id, Message.email == Suppression.email,
                   Message.marketing.is_(True), Message.status == "sent",
                   Message.sent_at <= Suppression.created_at)
            .order_by(Message.sent_at.desc()).limit(1).lateral("last"))
    return session.execute(
        select(last.c.flow, func.count()).select_from(Suppression).join(last, true())
        .where(Suppression.store_id == store.id, Suppression.reason == "unsubscribed",
               Suppression.created_at >= since, one_flow(last.c.flow, flow))
        .group_by(last.c.flow)).all()


@dataclass(frozen=True)
class Lift:
    """Revenue a flow added over its holdout, with its CONFIDENCE interval (Welch's t-test on
    revenue per run, from SciPy); `significant` once the interval excludes no lift at all."""
    amount: Decimal
    low: Decimal
    high: Decimal
    significant: bool


def incremental_revenue(session: Session, store: Store, flow: str,
                        since: datetime) -> Lift | None:
    """(revenue per emailed run - revenue per held-out run) x emailed runs, counting each run's
    customer's orders within the attribution window, with its uncertainty; None with too few
    runs in either group."""
    runs = (select(FlowRun.id, FlowRun.holdout, FlowRun.customer_id, FlowRun.triggered_at)
            .where(FlowRun.store_id == store.id, FlowRun.flow == flow, FlowRun.started_at >= since)
            .cte("runs"))
    sizes = dict(session.execute(
        select(runs.c.holdout, func.count()).group_by(runs.c.holdout)).all())
    # Counted before any order is read: most flows have no control group to compare with.
    if any(sizes.get(h, 0) < MIN_GROUP_SIZE for h in (True, False)):
        return None
    per_run = revenue_per_run(session, store, runs)
    return lift([float(v) for v in per_run[False]], [float(v) for v in per_run[True]])


def lift(emailed: list[float], held: list[float]) -> Lift:
    """The lift over `len(emailed)` runs from each group's revenue per run."""
    # SciPy (and NumPy with it) is about 85 MB resident: imported on a report's first lift, so
    # a web process that only takes webhooks and serves pages never holds it.
    from scipy import stats as scipy_stats

    runs = len(emailed)
    with warnings.catch_warnings():
        # Identical values in a group (every held-out run spent nothing) make SciPy warn of
        # precision loss; the interval it then gives, or NaN, is handled below.
        warnings.simplefilter("ignore", RuntimeWarning)
        test = scipy_stats.ttest_ind(emailed, held, equal_var=False)
        interval = test.confidence_interval(CONFIDENCE)
    difference = fmean(emailed) - fmean(held)
    low, high = interval.low, interval.high
    if math.isnan(low) or math.isnan(high):  # no spread in either group: the difference is exact
        low = high = difference
    significant = bool(low > 0 or high < 0) if not math.isnan(test.pvalue) else difference != 0

    def money(per_run: float) -> Decimal:
        return Decimal(str(per_run * runs)).quantize(Decimal("0.01"))
    return Lift(money(difference), money(low), money(high), significant)


def revenue_per_run(session: Session, store: Store, runs) -> dict[bool, list[Decimal]]:
    """Emailed and held-out: each run's customer's orders within the attribution window after
    its trigger, summed per run (0 for a run without one). `runs` is any selectable with the
    columns id, holdout, customer_id and triggered_at (a campaign's recipients are one too)."""
    window = timedelta(days=store.effective_settings["attribution_days"])
    # Every such order lies between the earliest trigger and the latest one plus the window;
    # saying so lets the (store_id, placed_at) index fetch them instead of every order.
    earliest = select(func.min(runs.c.triggered_at)).scalar_subquery()
    latest = select(func.max(runs.c.triggered_at)).scalar_subquery()
    joined = and_(Order.store_id == store.id, Order.customer_id == runs.c.customer_id,
                  Order.placed_at > runs.c.triggered_at,
                  Order.placed_at <= runs.c.triggered_at + window,
                  Order.placed_at > earliest, Order.placed_at <= latest + window,
                  Order.currency == store.currency, Order.cancelled_at.is_(None))
    rows = session.execute(
        select(runs.c.holdout, func.coalesce(func.sum(Order.total_price), 0))
        .select_from(runs).outerjoin(Order, joined).group_by(runs.c.id, runs.c.holdout)).all()
    grouped: dict[bool, list[Decimal]] = {True: [], False: []}
    for holdout, revenue in rows:
        grouped[holdout].append(Decimal(revenue))
    return grouped


@dataclass(frozen=True)
class Day:
    day: date
    sent: int
    revenue: Decimal


def daily(session: Session, store: Store, since: datetime, until: datetime) -> list[Day]:
    """Emails sent and attributed revenue (store currency) per day in the store's time zone."""
    zone = store.effective_settings["timezone"]
    sent_day = func.date(func.timezone(zone, Message.sent_at))
    sent = dict(session.execute(
        select(sent_day, func.count()).where(
            Message.store_id == store.id, Message.flow.is_not(None), Message.status == "sent",
            Message.sent_at >= since).group_by(sent_day)).all())
    order_day = func.date(func.timezone(zone, Order.placed_at))
    earned = dict(session.execute(
        select(order_day, func.sum(Attribution.revenue))
        .join(Order, (Order.id == Attribution.order_id) & (Order.store_id == Attribution.store_id))
        .where(Attribution.store_id == store.id, Attribution.currency == store.currency,
               Order.placed_at >= since).group_by(order_day)).all())
    first, last = since.astimezone(ZoneInfo(zone)).date(), until.astimezone(ZoneInfo(zone)).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [Day(d, sent.get(d, 0), earned.get(d, Decimal(0))) for d in days]
