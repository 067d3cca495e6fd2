"""Sending a campaign: its recipients resolved once, in one INSERT ... SELECT, then handed to the
outbox in chunks on the `campaigns` queue, which workers serve after the flows and their mail.

Each recipient goes from pending to queued in the transaction that writes its outbox message, so
a chunk retried after a crash finds only those it had not reached: nobody gets two. The outbox
does the rest as for a flow's email (suppression, consent per address, DKIM, unsubscribe,
tracking, exactly-once delivery); its send guard `campaign_still_sending` holds back the messages
of a paused or cancelled campaign, and resuming puts the paused ones' recipients back to pending.
"""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Mapping

from sqlalchemy import (BigInteger, String, Text, exists, func, literal, or_, select, union,
                        update)
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.orm import Session

from app import jobs
from app.audiences import segments, sql
from app.campaigns import abtest, codes, groups, timing
from app.core import audit, clock
from app.core.db import array, db
from app.ingest import consent
from app.mail import outbox
from app.models import Campaign, CampaignRecipient, Customer, Message, Store, Suppression

R = CampaignRecipient
# Recipients per sending job: a chunk's transaction stays short, and workers share a campaign.
CHUNK = 500
# Why the outbox cancels a paused campaign's message (resume looks for it).
PAUSED = "campaign paused"
# Why a recipient was skipped when their chunk came.
CAPPED, UNWANTED = "frequency cap", "consent withdrawn or address changed"
# Recipients still to be sent: now, after an A/B test's winner, at their local time.
UNSENT = ("pending", "waiting", "scheduled")
# Marketing mail that counts against the frequency cap, as flows.guards.frequency_cap counts it.
COUNTED = ("queued", "sending", "sent", "unknown")


def key(campaign_id: int) -> str:
    """What a campaign's messages carry as their `flow`: reports and attribution group by it,
    and no flow can be called so (flow names have no colon)."""
    return f"campaign:{campaign_id}"


def _members(session: Session, store_id: int, names: list[str]):
    """SELECT the ids of the customers in any of these segments, as the rules say now."""
    now = clock.now()
    return union(*(sql.matching(store_id, segments.named(session, store_id, name).rule, now)
                   for name in names)).subquery()


def _chosen(session: Session, campaign: Campaign):
    """SELECT the campaign's recipients as they are now: the members of its segments minus
    those of its excluded ones, with an address, subscribed to marketing and not suppressed;
    one per address."""
    store_id = campaign.store_id
    included = _members(session, store_id, campaign.segments)
    chosen = select(literal(campaign.id), literal(store_id), Customer.id, Customer.email,
                    literal("pending")).where(
        Customer.store_id == store_id, Customer.id.in_(select(included.c.id)),
        Customer.email.is_not(None), Customer.email != "",
        Customer.email_consent == consent.SUBSCRIBED,
        ~exists().where(Suppression.store_id == store_id, Suppression.email == Customer.email))
    if campaign.excluded_segments:
        excluded = _members(session, store_id, campaign.excluded_segments)
        chosen = chosen.where(Customer.id.not_in(select(excluded.c.id)))
    return chosen.ext(distinct_on(Customer.email)).order_by(Customer.email, Customer.id)


def count(session: Session, campaign: Campaign) -> int:
    """How many recipients `resolve` would write now, writing nothing (the page before a send)."""
    return session.execute(select(func.count()).select_from(
        _chosen(session, campaign).subquery())).scalar_one()


def resolve(session: Session, campaign: Campaign) -> int:
    """Write the campaign's recipients (`_chosen`), once: the holdout share of them held out,
    and of the rest the A/B test's share split between its variants. Returns how many (held out
    included)."""
    store_id = campaign.store_id
    session.execute(insert(R).from_select(
        ["campaign_id", "store_id", "customer_id", "email", "status"], _chosen(session, campaign),
    ).on_conflict_do_nothing(index_elements=["campaign_id", "customer_id"]))
    groups.hold_out(session, campaign)
    groups.split_test(session, campaign)
    return session.execute(select(func.count()).where(
        R.campaign_id == campaign.id, R.store_id == store_id)).scalar_one()


def enqueue_chunks(campaign_id: int, started_grace: timedelta = timedelta(minutes=5)) -> int:
    """Queue a sending job per CHUNK of the campaign's pending recipients (after the commit
    that made them pending) unless it is waiting, or running within `started_grace` of a
    heartbeat; how many. A campaign with nothing left to send is marked sent."""
    with db.session() as session:
        numbered = select(R.id, ((func.row_number().over(order_by=R.id) - 1) // CHUNK).label("n")
                          ).where(R.campaign_id == campaign_id, R.status == "pending").subquery()
        bounds = session.execute(select(func.min(numbered.c.id), func.max(numbered.c.id))
                                 .group_by(numbered.c.n).order_by(func.min(numbered.c.id))).all()
    chunks = [(campaign_id, first, last) for first, last in bounds
              if not jobs.job_pending(jobs.policy(send_chunk).job_id((campaign_id, first, last)),
                                      started_grace)]
    jobs.enqueue_many(send_chunk, chunks)
    if not bounds:
        _finish(campaign_id)
    return len(chunks)


def begin(session: Session, campaign: Campaign) -> int:
    """Resolve the campaign's recipients (a local-time send's waiting for their moment) and mark
    it sending; how many. Call `start` after commit."""
    resolved = resolve(session, campaign)
    if campaign.local_time:
        timing.spread(session, session.get(Store, campaign.store_id), campaign)
    campaign.status, campaign.started_at = "sending", clock.now()
    return resolved


def start(campaign_id: int) -> int:
    """After the commit that scheduled or started a campaign: schedule its start, or queue its
    chunks and schedule its A/B test's winner and its local-time recipients' moments (each a
    job on RQ's scheduler; the sweep stands in for any Redis lost); how many chunks."""
    with db.session() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign.status == "scheduled":
            zone = session.get(Store, campaign.store_id).effective_settings["timezone"]
            jobs.enqueue(start_scheduled, campaign_id, at=timing.start_at(campaign, zone))
            return 0
        due, moments = abtest.decide_at(campaign), timing.moments(session, campaign_id)
    if due is not None:
        jobs.enqueue(pick_winner, campaign_id, at=due)
    for moment in moments:
        jobs.enqueue(release, campaign_id, at=moment,
                     job_id=f"campaign-release-{campaign_id}-{int(moment.timestamp())}")
    return enqueue_chunks(campaign_id)


def start_scheduled(campaign_id: int) -> int:
    """A scheduled campaign's job, at its start: resolve and start it unless it was cancelled
    (or started) meanwhile; how many recipients. A segment deleted since ends it, cancelled."""
    with db.session() as session:
        campaign = session.execute(select(Campaign).where(Campaign.id == campaign_id)
                                   .with_for_update()).scalar_one_or_none()
        if campaign is None or campaign.status != "scheduled":
            return 0
        try:
            with session.begin_nested():
                resolved = begin(session, campaign)
        except segments.SegmentError as error:
            campaign.status, campaign.finished_at = "cancelled", clock.now()
            audit.record(session, campaign.store_id, "the scheduler", f"campaign {campaign.name}",
                         {"status": "scheduled"}, {"status": "cancelled", "reason": str(error)})
            return 0
    start(campaign_id)
    return resolved


def release(campaign_id: int) -> int:
    """A local-time send's job at one of its moments: the recipients due then go; how many."""
    released = timing.release(campaign_id)
    if released:
        enqueue_chunks(campaign_id)
    return released


def pick_winner(campaign_id: int) -> str | None:
    """The A/B test's job, scheduled for when its winner is due: pick it (abtest.decide) and
    send the rest with the winner's subject; the winner, or None if none was picked now."""
    winner = abtest.decide(campaign_id)
    if winner is not None:
        enqueue_chunks(campaign_id)
    return winner


def sweep_campaigns(started_grace: timedelta = timedelta(minutes=5)) -> int:
    """Start scheduled campaigns, release local-time recipients and pick A/B winners whose job
    was lost, queue again the chunks of sending campaigns whose jobs were lost (Redis flushed, a
    worker killed; a chunk job started more than `started_grace` ago counts as lost) and mark
    sent those with nothing left: the database, not Redis, says what is owed. Sweeping a chunk
    twice is harmless (a chunk takes only pending recipients, under lock); how many chunks."""
    for campaign_id in timing.starts_due():
        start_scheduled(campaign_id)
    for campaign_id in timing.releases_due():
        timing.release(campaign_id)
    for campaign_id in abtest.due():
        abtest.decide(campaign_id)
    with db.session() as session:
        sending = session.execute(select(Campaign.id).where(Campaign.status == "sending")
                                  .order_by(Campaign.id)).scalars().all()
    return sum(enqueue_chunks(campaign_id, started_grace) for campaign_id in sending)


def send_chunk(campaign_id: int, first: int, last: int) -> int:
    """The sending job: queue an outbox message for each pending recipient with an id from
    `first` to `last`, unless the frequency cap holds them back; how many were queued. Does
    nothing unless the campaign is sending (read under a shared lock: a pause waits for it).
    The chunk is written in a few statements, its messages in one INSERT (and their consent
    in one more) and its recipients in one UPDATE, all in one transaction. A recipient whose
    discount code is not made yet stays pending for a later chunk."""
    ready = codes.ensure(campaign_id, first, last)
    with db.session() as session:
        campaign = session.execute(select(Campaign).where(Campaign.id == campaign_id)
                                   .with_for_update(read=True)).scalar_one_or_none()
        if campaign is None or campaign.status != "sending":
            return 0
        if ready is None and codes.offer(campaign.design) is not None:
            return 0  # its codes were not asked for (it was paused then): a later chunk asks
        rows = session.execute(select(R.id, R.customer_id, R.email, R.variant, _still_wanted).join(
            Customer, (Customer.id == R.customer_id) & (Customer.store_id == R.store_id)).where(
            R.campaign_id == campaign.id, R.store_id == campaign.store_id, R.status == "pending",
            R.id.between(first, last)).order_by(R.id).with_for_update(of=R, skip_locked=True)).all()
        rows = [row for row in rows if ready is None or row.id in ready]
        capped = _capped(session, campaign, rows)
        # The consent ledger keeps what a message is queued on, so it is judged now.
        reasons = {row.id: UNWANTED if not row.still_wanted else
                   CAPPED if row.id in capped else None for row in rows}
        going = [row for row in rows if reasons[row.id] is None]
        queued = outbox.queue_messages(
            session, store_id=campaign.store_id, template="campaign", marketing=True,
            flow=key(campaign.id), step="email",
            outgoing=[outbox.Outgoing(row.email, {**_context(campaign, row.variant),
                                                  **(ready or {}).get(row.id, {})}, row.customer_id)
                      for row in going])
        _mark(session, campaign.store_id, reasons, dict(zip((row.id for row in going), queued)))
    instant = clock.frozen()
    ids = sorted(queued)
    jobs.enqueue_many(deliver_several, [
        (campaign_id, ids[start:start + outbox.BATCH], instant.isoformat() if instant else None)
        for start in range(0, len(ids), outbox.BATCH)])
    _finish(campaign_id)
    return len(queued)


def _context(campaign: Campaign, variant: str | None) -> dict:
    """What a recipient's message is rendered with: the subject of their A/B variant, if any."""
    return {"campaign_id": campaign.id, "subject": abtest.subject(campaign, variant)}


def _mark(session: Session, store_id: int, reasons: dict[int, str | None],
          messages: dict[int, int]) -> None:
    """In one UPDATE: each recipient queued with its message, or skipped for its reason."""
    if not reasons:
        return
    marks = func.unnest(
        array(list(reasons), BigInteger),
        array(["skipped" if reason else "queued" for reason in reasons.values()], String),
        array(list(reasons.values()), Text),
        array([messages.get(recipient) for recipient in reasons], BigInteger),
    ).table_valued("id", "status", "reason", "message_id").render_derived()
    session.execute(update(R).where(R.store_id == store_id, R.id == marks.c.id).values(
        status=marks.c.status, reason=marks.c.reason, message_id=marks.c.message_id,
    ).execution_options(synchronize_session=False))


# A recipient is still wanted while their address is the one resolved and they still consent.
_still_wanted = ((Customer.email == R.email) & (Customer.email_consent == consent.SUBSCRIBED)
                 ).label("still_wanted")


def _capped(session: Session, campaign: Campaign, recipients: list) -> set[int]:
    """The ids of these recipients who had a marketing email (to their customer or address)
    within the store's frequency cap (none when the campaign bypasses it or the store has no
    cap)."""
    hours = session.get(Store, campaign.store_id).effective_settings["frequency_cap_hours"]
    if campaign.bypass_frequency_cap or not hours or not recipients:
        return set()
    chunk = func.unnest(array([r.id for r in recipients], BigInteger),
                        array([r.customer_id for r in recipients], BigInteger),
                        array([r.email for r in recipients], String),
                        ).table_valued("id", "customer_id", "email").render_derived()
    recent = select(Message.id).where(
        Message.store_id == campaign.store_id, Message.marketing.is_(True),
        Message.status.in_(COUNTED), Message.created_at > clock.now() - timedelta(hours=hours))
    # Asked recipient by recipient, so each question is an index lookup by customer or by
    # address. Asked for the whole chunk at once, the planner scanned every message of the
    # window (the campaign's own, newer than the statistics: it thought them few) for each chunk.
    return set(session.execute(select(chunk.c.id).where(or_(
        recent.where(Message.customer_id == chunk.c.customer_id).exists(),
        recent.where(Message.email == chunk.c.email).exists()))).scalars())


def _finish(campaign_id: int) -> None:
    """Mark the campaign sent once no recipient is left UNSENT and none of its messages is still
    waiting to leave (until then it can be paused)."""
    with db.session() as session:
        session.execute(update(Campaign).where(
            Campaign.id == campaign_id, Campaign.status == "sending",
            ~exists().where(R.campaign_id == campaign_id, R.status.in_(UNSENT)),
            ~exists().where(Message.store_id == Campaign.store_id,
                            Message.status.in_(("queued", "sending")),
                            Message.flow == key(campaign_id)),
        ).values(status="sent", finished_at=clock.now(), updated_at=clock.now()))


def deliver(message_id: int, campaign_id: int, at: str | None = None) -> str:
    """A campaign message's mail job: the outbox's own, on the campaigns queue (below the
    flows' mail, so a campaign never holds back a checkout reminder), sending the campaign's
    mail waiting behind it; the last one marks the campaign sent."""
    status = outbox.deliver_as(lane(key(campaign_id)), message_id, at)
    _finish(campaign_id)
    return status


def deliver_several(campaign_id: int, message_ids: list[int], at: str | None = None) -> None:
    """The mail job a chunk queues for up to outbox.BATCH of its messages (one RQ job, not one
    each): named after the first, which it sends last (the outbox's sweep counts on it), on the
    campaigns queue; the last one marks the campaign sent."""
    outbox.deliver_each(lane(key(campaign_id)), message_ids[::-1], at)
    _finish(campaign_id)


def lane(flow: str | None) -> tuple | None:
    """An outbox lane (registered by app.wiring): a campaign's message is delivered by
    `deliver` on the campaigns queue, however it is queued again (over the rate, by the sweep)."""
    prefix, _, campaign_id = (flow or "").partition(":")
    if prefix != "campaign" or not campaign_id.isdigit():
        return None
    return deliver, (int(campaign_id),)


def campaign_still_sending(session: Session, message: Message,
                           read: Mapping[str, Any]) -> str | None:
    """A send guard (registered by app.wiring): a paused or cancelled campaign's message does
    not leave. The campaign is read under a shared lock, so a pause committed after this check
    waits for this send's claim, and none claimed after it goes."""
    campaign_id = message.context.get("campaign_id")
    if campaign_id is None or message.flow != key(campaign_id):
        return None
    status = session.execute(select(Campaign.status).where(
        Campaign.id == campaign_id, Campaign.store_id == message.store_id,
    ).with_for_update(read=True)).scalar_one_or_none()
    if status in ("sending", "sent"):
        return None
    return PAUSED if status == "paused" else f"campaign {status or 'deleted'}"


def requeue_held(session: Session, campaign: Campaign) -> int:
    """On resume: recipients whose message the pause held back are pending again (that message
    never left: it is cancelled). Enqueue `enqueue_chunks` after commit."""
    held = select(Message.id).where(Message.store_id == campaign.store_id,
                                    Message.flow == key(campaign.id),
                                    Message.status == "cancelled", Message.reason == PAUSED)
    return session.execute(update(R).where(
        R.campaign_id == campaign.id, R.store_id == campaign.store_id, R.status == "queued",
        R.message_id.in_(held)).values(status="pending", message_id=None)).rowcount


def wait_in_flight(store_id: int, campaign_id: int, timeout: float = 60.0) -> int:
    """After a pause or cancel: wait until no message of the campaign is being handed to the
    mail server; how many still are when `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        with db.session() as session:
            sending = session.execute(select(func.count()).select_from(Message).where(
                Message.store_id == store_id, Message.status == "sending",
                Message.flow == key(campaign_id))).scalar_one()
        if not sending or time.monotonic() >= deadline:
            return sending
        time.sleep(0.2)
