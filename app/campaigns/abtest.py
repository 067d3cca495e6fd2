"""A campaign's A/B test of two subjects: what each variant did, and the winner, picked once
`winner_after_hours` after the start by unique clickers or attributed revenue per recipient sent
(a tie goes to A). The rest of the recipients wait until then and get the winner's subject."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.core import clock
from app.core.db import db
from app.models import Attribution, Campaign, CampaignRecipient, Message, Store

R = CampaignRecipient
VARIANTS = ("A", "B")
JUDGES = ("clicks", "revenue")


def subject(campaign: Campaign, variant: str | None) -> str:
    """The subject a recipient gets: their variant's, else the winner's (A without a test)."""
    return campaign.subject_b if (variant or campaign.winner) == "B" else campaign.subject


def decide_at(campaign: Campaign) -> datetime | None:
    """When the winner is due; None for a campaign without a test, or not yet started."""
    if campaign.subject_b is None or campaign.started_at is None:
        return None
    return campaign.started_at + timedelta(hours=campaign.winner_after_hours)


def figures(session: Session, store: Store, campaign: Campaign) -> dict[str, dict]:
    """Per variant of the test share: its subject, emails sent, unique clickers, and orders and
    revenue attributed to them (store currency)."""
    found = {variant: {"subject": subject(campaign, variant), "sent": 0, "clicked": 0,
                       "orders": 0, "revenue": Decimal(0)} for variant in VARIANTS}
    tested = (R.store_id == store.id, R.campaign_id == campaign.id, R.variant.is_not(None))
    for variant, sent, clicked in session.execute(
            select(R.variant, func.count(), func.count(Message.first_clicked_at))
            .join(Message, (Message.id == R.message_id) & (Message.store_id == R.store_id))
            .where(*tested, Message.status == "sent").group_by(R.variant)).all():
        found[variant].update(sent=sent, clicked=clicked)
    for variant, orders, revenue in session.execute(
            select(R.variant, func.count(), func.sum(Attribution.revenue))
            .join(Attribution, (Attribution.message_id == R.message_id)
                  & (Attribution.store_id == R.store_id))
            .where(*tested, Attribution.currency == store.currency).group_by(R.variant)).all():
        found[variant].update(orders=orders, revenue=revenue)
    return found


def _winner(judge: str, found: dict[str, dict]) -> str:
    """B only when its clickers (or revenue) per recipient sent beat A's; compared
    cross-multiplied, so a variant sent to nobody scores nothing."""
    measure = "clicked" if judge == "clicks" else "revenue"
    a, b = found["A"], found["B"]
    return "B" if b[measure] * a["sent"] > a[measure] * b["sent"] else "A"


def decide(campaign_id: int) -> str | None:
    """Pick and record the winner once it is due, and make the waiting recipients pending (the
    caller queues their chunks); None when there is nothing to pick (no test, picked already,
    not due, or the campaign cancelled). A paused campaign gets its winner too: its recipients
    then wait, pending, for the resume."""
    with db.session() as session:
        campaign = session.execute(select(Campaign).where(Campaign.id == campaign_id)
                                   .with_for_update()).scalar_one_or_none()
        due = decide_at(campaign) if campaign is not None else None
        if (due is None or campaign.winner or campaign.status not in ("sending", "paused")
                or clock.now() < due):
            return None
        store = session.get(Store, campaign.store_id)
        campaign.winner = _winner(campaign.judge, figures(session, store, campaign))
        campaign.winner_picked_at = clock.now()
        session.execute(update(R).where(R.campaign_id == campaign.id,
                                        R.store_id == campaign.store_id,
                                        R.status == "waiting").values(status="pending"))
        return campaign.winner


def due() -> list[int]:
    """Campaigns whose winner is due and not picked (their scheduled job lost, or late)."""
    with db.session() as session:
        tests = session.execute(select(Campaign).where(
            Campaign.subject_b.is_not(None), Campaign.winner.is_(None),
            Campaign.status.in_(("sending", "paused")))).scalars().all()
        return [c.id for c in tests if decide_at(c) <= clock.now()]
