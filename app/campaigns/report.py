"""What a campaign did: its recipients, and what its messages did, counted as the flow reports
count them (app.reports.report: sent, opens, clicks, bounces, complaints, unsubscribes, and the
orders and revenue attributed with the flows' window rules)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import DateTime, String, and_, column, exists, func, literal, or_, select, values
from sqlalchemy.orm import Session

from app.campaigns import abtest, codes
from app.campaigns.sending import CAPPED, UNWANTED, key
from app.models import Attribution, Campaign, CampaignRecipient, Message, Order, Store
from app.reports import attribution, report as reports

R = CampaignRecipient


def figures(session: Session, store: Store, campaign: Campaign) -> dict:
    """The campaign's report as the `report --json` command prints it."""
    counts = dict(session.execute(select(func.coalesce(R.reason, R.status), func.count()).where(
        R.store_id == store.id, R.campaign_id == campaign.id)
        .group_by(func.coalesce(R.reason, R.status))).all())
    stats = reports.FlowStats(key(campaign.id))
    if campaign.started_at is not None:
        stats = reports.flow_stats(session, store, campaign.started_at,
                                   stats.flow).get(stats.flow, stats)
    return {
        "name": campaign.name, "status": campaign.status,
        "recipients": sum(counts.values()), "pending": counts.get("pending", 0),
        "skipped_frequency_cap": counts.get(CAPPED, 0),
        "skipped_no_consent": counts.get(UNWANTED, 0),
        # The platform's words for each code it refused for good, and how many.
        "skipped_code_refused": {reason: n for reason, n in counts.items()
                                 if reason.startswith(codes.REFUSED)},
        "sent": stats.sent, "opened": stats.opened, "clicked": stats.clicked,
        "unsubscribed": stats.unsubscribed, "bounced": stats.bounced,
        "complained": stats.complained, "orders": stats.orders,
        # Exact, as a string (JSON numbers are floats): "42.5" in the store's currency.
        "revenue": _money(stats.revenue.get(store.currency, Decimal(0))),
        "held_out": counts.get("held_out", 0),
        "incremental_revenue": _incremental(session, store, campaign),
        "waiting_for_winner": counts.get("waiting", 0),
        "waiting_for_local_time": counts.get("scheduled", 0),
        "waiting_for_code": codes.waiting(session, campaign),
        "send_at": campaign.send_at.isoformat() if campaign.send_at else None,
        "local_time": campaign.local_time,
        "ab_test": _ab_test(session, store, campaign),
        "currency": store.currency,
        "started_at": campaign.started_at.isoformat() if campaign.started_at else None,
        "finished_at": campaign.finished_at.isoformat() if campaign.finished_at else None,
    }


def listed(session: Session, store: Store, campaigns: list[Campaign]) -> dict[int, dict]:
    """The Campaigns list's figures of every started campaign, by id: the recipients, sent,
    opened, clicked, orders and revenue `figures` gives, with its window rules (messages sent
    and orders placed since the campaign's start), in three statements however many there are."""
    started = [c for c in campaigns if c.started_at is not None]
    if not started:
        return {}
    ids = [c.id for c in started]
    recipients = dict(session.execute(select(R.campaign_id, func.count()).where(
        R.store_id == store.id, R.campaign_id.in_(ids)).group_by(R.campaign_id)).all())
    starts = values(column("flow", String), column("since", DateTime(timezone=True)),
                    name="starts").data([(key(c.id), c.started_at) for c in started])
    mail = {flow: rest for flow, *rest in session.execute(
        select(starts.c.flow, func.count(), func.count(Message.first_opened_at),
               func.count(Message.first_clicked_at)).select_from(starts)
        .join(Message, and_(Message.flow == starts.c.flow,
                            reports.sent_counted(store.id, starts.c.since)))
        .group_by(starts.c.flow)).all()}
    # Orders in every currency, revenue in the store's: as `figures` counts them.
    earned = {flow: rest for flow, *rest in session.execute(
        select(starts.c.flow, func.count(),
               func.sum(Attribution.revenue).filter(Attribution.currency == store.currency))
        .select_from(starts)
        .join(Attribution, Attribution.flow == starts.c.flow)
        .join(Order, attribution.orders_counted(store.id, starts.c.since))
        .group_by(starts.c.flow)).all()}
    shown = {}
    for campaign in started:
        sent, opened, clicked = mail.get(key(campaign.id), (0, 0, 0))
        orders, revenue = earned.get(key(campaign.id), (0, None))
        shown[campaign.id] = {
            "recipients": recipients.get(campaign.id, 0), "sent": sent, "opened": opened,
            "clicked": clicked, "orders": orders, "revenue": _money(revenue or Decimal(0)),
            "currency": store.currency}
    return shown


def _money(amount: Decimal) -> str:
    return format(amount.normalize(), "f")


def _ab_test(session: Session, store: Store, campaign: Campaign) -> dict | None:
    """Each variant's figures in the test share, how it is judged, when, and the winner."""
    if campaign.subject_b is None:
        return None
    due = abtest.decide_at(campaign)
    variants = abtest.figures(session, store, campaign)
    for figures_of in variants.values():
        figures_of["revenue"] = _money(figures_of["revenue"])
    return {"variants": variants, "test_share": campaign.test_share, "judge": campaign.judge,
            "winner_due_at": due.isoformat() if due else None, "winner": campaign.winner}


def _incremental(session: Session, store: Store, campaign: Campaign) -> dict | None:
    """What the campaign added over its holdout: (revenue per recipient sent - revenue per
    held-out customer) x recipients sent, each customer's orders counted within the attribution
    window from the campaign's start, with the 95 % interval of Welch's t-test on that
    per-customer difference (reports.lift, as for a flow's holdout); None without a holdout
    or before anything was sent."""
    if not campaign.holdout_percent or campaign.started_at is None:
        return None
    sent = exists().where(Message.id == R.message_id, Message.store_id == R.store_id,
                          Message.status == "sent")
    members = select(R.id, (R.status == "held_out").label("holdout"), R.customer_id,
                     literal(campaign.started_at, DateTime(timezone=True)).label("triggered_at"),
                     ).where(R.store_id == store.id, R.campaign_id == campaign.id,
                             or_(R.status == "held_out", sent)).cte("members")
    per_customer = reports.revenue_per_run(session, store, members)
    if not per_customer[True] or not per_customer[False]:
        return None
    lift = reports.lift([float(v) for v in per_customer[False]],
                        [float(v) for v in per_customer[True]])
    return {"amount": _money(lift.amount), "low": _money(lift.low), "high": _money(lift.high),
            "significant": lift.significant}
