"""The overview: the last 30 days per flow, a chart over time, and whether data still arrives."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import g, render_template
from sqlalchemy import text

from app.core import clock
from app.core.db import db
from app.jobs import failures as job_failures
from app.reports import report
from app.sync import health as sync_health
from app.web.ui import bp
from flows import choices
from flows.catalog import FLOWS

PERIOD = timedelta(days=30)


@bp.get("/")
def overview():
    """Sent, opened, clicked, orders and revenue per flow; the store's sync health."""
    now = clock.now()
    since = now - PERIOD
    with db.session() as session:
        # The best plan for a period depends on its dates and the store's size. After a connection
        # has run these ~10 times PostgreSQL may keep a generic plan, one that reads every order
        # of the store (bench/ui.py: 150 ms instead of 85), so they are planned afresh each time.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        stats = report.flow_stats(session, g.store, since)
        days = report.daily(session, g.store, since, now)
        health = sync_health.read(session, g.store.id, now)
        troubles = job_failures.troubles(job_failures.open_failures(session, g.store.id))
        effective = {name: choices.effective(session, g.store.id, flow)
                     for name, flow in FLOWS.items()}
    enabled = {name: on for name, (on, _) in effective.items()}
    # Flows switched on that the engine skips, and why (settings to fix, no postal address).
    skipped = [(FLOWS[name], choices.skip_reason(g.store, FLOWS[name], settings))
               for name, (on, settings) in effective.items() if on]
    skipped = [(flow, reason) for flow, reason in skipped if reason]
    rows = [(flow, stats.get(name, report.FlowStats(name)), enabled[name])
            for name, flow in FLOWS.items()]
    # Flows that are on or did something first; the rest stay listed, quietly.
    rows.sort(key=lambda row: (not (row[2] or row[1].sent), list(FLOWS).index(row[0].name)))
    totals = report.FlowStats("all", sent=sum(s.sent for s in stats.values()),
                              opened=sum(s.opened for s in stats.values()),
                              clicked=sum(s.clicked for s in stats.values()),
                              orders=sum(s.orders for s in stats.values()),
                              bounced=sum(s.bounced for s in stats.values()),
                              complained=sum(s.complained for s in stats.values()),
                              unsubscribed=sum(s.unsubscribed for s in stats.values()))
    revenue = sum((s.revenue.get(g.store.currency, Decimal(0)) for s in stats.values()), Decimal(0))
    # Only lifts the control group can tell from chance add up to a figure worth showing.
    lifts = [s.incremental for s in stats.values() if s.incremental is not None]
    proven = [lift.amount for lift in lifts if lift.significant]
    complaining = [(flow, s) for flow, s, _ in rows if s.over_complaint_line]
    return render_template("ui/overview.html", rows=rows, totals=totals, revenue=revenue,
                           incremental=sum(proven) if proven else None,
                           measuring=bool(lifts), days=days,
                           health=health, troubles=troubles, min_group=report.MIN_GROUP_SIZE,
                           skipped=skipped, complaining=complaining)
