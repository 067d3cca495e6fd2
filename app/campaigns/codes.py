"""A campaign's discount block: one single-use code per recipient, made by the store's platform
before the recipient's email is queued and shown in it.

The code is written on the recipient's row, and committed, before the platform is asked for it:
a chunk retried after a crash asks again for that same code (a platform never makes two codes of
one name), never for a second one; a store's codes are unique among its recipients, so the
platform's "already exists" means made by that earlier try. The platform is asked a slice at a
time, its answers noted after each, so a crash or a job timeout loses at most one slice's notes
and a pause or cancel stops the asking. A recipient whose code the platform has not made yet
stays pending, and a later chunk (the sweep queues them again) asks again; the others go
meanwhile; one whose code it refused REFUSALS times is skipped. The percent and days are the
block's, within the flows' ranges for their discount settings.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, Text, case, column, func, select, update, values
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core import clock
from app.core.db import db
from app.mail import samples
from app.models import Campaign, CampaignRecipient, Customer, Store
from app.sync import discounts
from connectors.base import CodeOffer, CodeRefused
from flows import limits

R = CampaignRecipient
# The discount block's settings: each checked as the flows' setting of that name, and what a
# block that does not name it gives.
SETTINGS = (("percent", "discount_percent", 10), ("valid_days", "discount_valid_days", 14))
# A recipient whose code the platform refused this often, for something about its record (not
# our access: that waits for the merchant), is skipped, so the campaign can finish.
REFUSALS = 3
# Such a recipient's reason, followed by the platform's words.
REFUSED = "discount code refused"
# Draws of a chunk's codes before giving up, should each repeat a code the store has (48 bits).
DRAWS = 5


def problems(design: dict) -> list[tuple[str, str]]:
    """Each discount block's percent or days outside the flows' ranges, by JSON pointer."""
    found = []
    for at, block in enumerate(design["blocks"]):
        for key, setting, default in SETTINGS if block["type"] == "discount" else ():
            try:
                limits.number(setting, block.get(key, default))
            except limits.LimitError as error:
                found.append((f"/blocks/{at}/{key}", str(error)))
    return found


def offer(design: dict) -> tuple[float, int] | None:
    """The percent and days of the design's first discount block (checked by `problems` when
    it was saved), None without one."""
    for block in design["blocks"]:
        if block["type"] == "discount":
            percent, days = (limits.number(setting, block.get(key, default))
                             for key, setting, default in SETTINGS)
            return percent, int(days)
    return None


def sample(design: dict) -> dict:
    """A preview's or a test send's stand-in for a recipient's code (nothing is asked of the
    store): {} without a discount block."""
    given = offer(design)
    if given is None:
        return {}
    return {"discount_code": samples.discount_code(given[0]), "discount_percent": given[0],
            "discount_expires_on": (clock.now() + timedelta(days=given[1])).date().isoformat()}


def ensure(campaign_id: int, first: int, last: int) -> dict[int, dict] | None:
    """Have the platform make the codes of the chunk's pending recipients (ids `first` to
    `last`) that have none made yet, a slice at a time, each slice's answers noted (committed)
    before the next, and none asked once the campaign is no longer sending; then what each whose
    code is made shows of it, by recipient id (the others wait). None without a discount block
    or unless the campaign is sending. Call it with no transaction open."""
    drawn = _draw(campaign_id, first, last)
    if drawn is None:
        return None
    store, percent, wanted = drawn
    size = discounts.batch_size(store)
    for start in range(0, len(wanted), size):
        answers = discounts.create_codes(store, wanted[start:start + size], percent)
        if not _note(campaign_id, store.id, answers):
            break  # paused or cancelled meanwhile: no more codes
    with db.session() as session:
        ready = session.execute(select(R.id, R.discount_code, R.discount_expires_at).where(
            R.campaign_id == campaign_id, R.store_id == store.id, R.status == "pending",
            R.id.between(first, last), R.discount_made.is_(True))).all()
    return {row.id: {"discount_code": row.discount_code, "discount_percent": percent,
                     "discount_expires_on": row.discount_expires_at.date().isoformat()}
            for row in ready}


def _draw(campaign_id: int, first: int, last: int) -> tuple[Store, float, list[CodeOffer]] | None:
    """If the campaign is sending with a discount block: its store, percent, and the codes the
    chunk's pending recipients still need, drawn (and committed) where they had none."""
    with db.session() as session:
        campaign = session.get(Campaign, campaign_id)
        given = offer(campaign.design) if campaign and campaign.status == "sending" else None
        if given is None:
            return None
        (percent, days), store_id = given, campaign.store_id
        rows = session.execute(select(R, Customer.platform_id).join(
            Customer, (Customer.id == R.customer_id) & (Customer.store_id == R.store_id)).where(
            R.campaign_id == campaign_id, R.store_id == store_id, R.status == "pending",
            R.id.between(first, last), R.discount_made.is_(False),
        ).order_by(R.id).with_for_update(of=R, skip_locked=True)).all()
        _assign(session, [r for r, _ in rows if r.discount_code is None],
                clock.now() + timedelta(days=days))
        wanted = [CodeOffer(r.discount_code, r.email, platform_id, r.discount_expires_at)
                  for r, platform_id in rows]
        store = session.get(Store, store_id)
        session.expunge(store)
    return store, percent, wanted


def _assign(session: Session, recipients: list[CampaignRecipient], expires_at: datetime) -> None:
    """Give each recipient a fresh code. The store's codes are unique (a unique index), so a draw
    that repeats one is drawn again: "already exists" can only mean our own earlier try."""
    for _ in range(DRAWS):
        try:
            with session.begin_nested():
                for recipient in recipients:
                    recipient.discount_code = discounts.new_code()
                    recipient.discount_expires_at = expires_at
                session.flush()
            return
        except IntegrityError:
            continue  # the savepoint is undone, the rows stay locked
    raise RuntimeError(f"{DRAWS} draws of discount codes in a row repeated a code")


def _note(campaign_id: int, store_id: int, answers: dict[str, str | None]) -> bool:
    """In one transaction: the codes the platform made marked made, and each it refused for its
    record counted (the recipient skipped, with the platform's words, at REFUSALS); whether the
    campaign is still sending (so the next slice may be asked for)."""
    made = [code for code, why_not in answers.items() if why_not is None]
    refused = [(code, str(why_not)) for code, why_not in answers.items()
               if isinstance(why_not, CodeRefused)]
    ours = (R.campaign_id == campaign_id) & (R.store_id == store_id)
    with db.session() as session:
        if made:
            session.execute(update(R).where(ours, R.discount_code.in_(made))
                            .values(discount_made=True))
        if refused:
            marks = values(column("code", String), column("why", Text),
                           name="refused").data(refused)
            count = R.discount_refusals + 1
            gives_up = count >= REFUSALS
            session.execute(update(R).where(ours, R.status == "pending",
                                            R.discount_code == marks.c.code).values(
                discount_refusals=count,
                status=case((gives_up, "skipped"), else_=R.status),
                reason=case((gives_up, REFUSED + ": " + marks.c.why), else_=R.reason),
            ).execution_options(synchronize_session=False))
        status = session.execute(select(Campaign.status).where(
            Campaign.id == campaign_id, Campaign.store_id == store_id)).scalar_one_or_none()
    return status == "sending"


def waiting(session: Session, campaign: Campaign) -> int:
    """How many of the campaign's recipients wait for the platform to make their code."""
    return session.execute(select(func.count()).where(
        R.campaign_id == campaign.id, R.store_id == campaign.store_id, R.status == "pending",
        R.discount_code.is_not(None), R.discount_made.is_(False))).scalar_one()
