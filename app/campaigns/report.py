"""What a campaign did: its recipients, and what its messages did, counted as the flow reports
count them (app.reports.report: sent, opens, clicks, bounces, complaints, unsubscribes, and the
orders and revenue attributed with the flows' window rules)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.campaigns.sending import CAPPED, UNWANTED, key
from app.models import Campaign, CampaignRecipient, Store
from app.reports import report as reports

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
        "sent": stats.sent, "opened": stats.opened, "clicked": stats.clicked,
        "unsubscribed": stats.unsubscribed, "bounced": stats.bounced,
        "complained": stats.complained, "orders": stats.orders,
        # Exact, as a string (JSON numbers are floats): "42.5" in the store's currency.
        "revenue": format(stats.revenue.get(store.currency, Decimal(0)).normalize(), "f"),
        "currency": store.currency,
        "started_at": campaign.started_at.isoformat() if campaign.started_at else None,
        "finished_at": campaign.finished_at.isoformat() if campaign.finished_at else None,
    }
