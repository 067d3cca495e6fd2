"""Who of a campaign's recipients is held out, and who is in its A/B test, at resolve time: shares
picked by a hash of the campaign's and the customer's ids, so the draw is random with respect to
anything a customer does, the same on every run, and exact in size (the lowest hashes, not a
coin per customer)."""
from __future__ import annotations

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from app.models import Campaign, CampaignRecipient

R = CampaignRecipient


def _ranked(campaign: Campaign, draw: str):
    """The campaign's pending recipients with their rank in this draw's hash order and how
    many there are."""
    order = func.md5(func.concat(draw, ":", campaign.id, ":", R.customer_id))
    return select(R.id, func.row_number().over(order_by=(order, R.id)).label("rank"),
                  func.count().over().label("total")).where(
        R.campaign_id == campaign.id, R.store_id == campaign.store_id,
        R.status == "pending").subquery()


def hold_out(session: Session, campaign: Campaign) -> int:
    """Mark `holdout_percent` % of the pending recipients (rounded down) held out; how many."""
    if not campaign.holdout_percent:
        return 0
    ranked = _ranked(campaign, "holdout")
    chosen = select(ranked.c.id).where(ranked.c.rank * 100 <= ranked.c.total
                                       * campaign.holdout_percent)
    return session.execute(update(R).where(R.id.in_(chosen)).values(status="held_out")).rowcount


def split_test(session: Session, campaign: Campaign) -> int:
    """Of the pending recipients left after the holdout, give the test share (rounded down)
    variant A or B, alternately in hash order (halves differing by one at most); the rest wait
    for the winner. How many are in the test."""
    if campaign.subject_b is None:
        return 0
    ranked = _ranked(campaign, "test")
    tested = ranked.c.rank * 100 <= ranked.c.total * campaign.test_share
    variants = session.execute(update(R).where(R.id == ranked.c.id).values(
        status=case((tested, R.status), else_="waiting"),
        variant=case((tested & (ranked.c.rank % 2 == 1), "A"), (tested, "B"), else_=None),
    ).returning(R.variant)).scalars().all()
    return len(variants) - variants.count(None)


def sizes(campaign: Campaign, recipients: int) -> tuple[int, int]:
    """How many of `recipients` the draws above would hold out and put in the A/B test."""
    held_out = recipients * campaign.holdout_percent // 100
    tested = (recipients - held_out) * campaign.test_share // 100 if campaign.subject_b else 0
    return held_out, tested
