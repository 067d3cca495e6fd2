"""A store's email designs: one per (flow, send step), for the prebuilt flows' emails and the
built flows' send steps alike. Reading a design gives the store's own, else the default of the
email the step sends; saving checks it first, and only for an email the store sends; resetting
goes back to the default. Every query names the store."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core import clock, stores
from app.mail.design import document
from app.mail.render import default_design
from app.models import Campaign, EmailDesign, Message

# A test send's context names the email whose design it carries (it has no run, and no flow,
# which would count it in the flow's reports).
DESIGN_OF = "design_of"


@dataclass(frozen=True)
class Listed:
    flow: str
    step: str
    source: str  # "store" (the merchant's) or "default" (design.json)
    updated_at: datetime | None


def unknown(flow: str, step: str, emails: list[tuple[str, str]]) -> document.DesignError:
    """The refusal of a design for an email the store does not send, naming those it does."""
    return document.DesignError([("", f"this store sends no email {flow}/{step}; it sends "
                                      + ", ".join(f"{f}/{s}" for f, s in emails))])


def own(session: Session, store_id: int, flow: str, step: str) -> EmailDesign | None:
    """The store's own design of this email, if it made one."""
    return session.execute(select(EmailDesign).where(
        EmailDesign.store_id == store_id, EmailDesign.flow == flow, EmailDesign.step == step,
    )).scalar_one_or_none()


def current(session: Session, store_id: int, flow: str, step: str, template: str) -> dict:
    """The design this email is drawn from now: the store's own, else the default of the email
    template the step sends (`template`)."""
    row = own(session, store_id, flow, step)
    return row.design if row is not None else default_design(template)


def for_message(session: Session, message: Message, read: dict | None = None) -> dict | None:
    """The store's own design of the email a message is (None: render's default applies); a
    campaign's message is drawn from its campaign's design. `read` keeps what was read for the
    next messages of one mail job (its batch): a design saved meanwhile is used from the next
    job on, as if the batch had been sent a moment earlier."""
    key = (message.store_id, message.context.get("campaign_id"), *_email_of(message))
    if read is not None and key in read:
        return read[key]
    if key[1] is not None:
        campaign = stores.get_owned(session, Campaign, message.store_id, key[1])
        design = campaign.design if campaign is not None else None
    else:
        row = own(session, message.store_id, *key[2:])
        design = row.design if row is not None else None
    if read is not None:
        read[key] = design
    return design


def _email_of(message: Message) -> tuple[str, str]:
    """The (flow, step) whose design a message is drawn from, outside a campaign."""
    flow, _, step = message.template.partition("/")
    if DESIGN_OF in message.context:
        flow, step = message.context[DESIGN_OF]
    elif message.flow and message.step:  # a run's send: a built flow's step is named there
        flow, step = message.flow, message.step
    return flow, step


def save(session: Session, store_id: int, flow: str, step: str, design, actor: str,
         emails: list[tuple[str, str]]) -> dict:
    """Check and store the store's design of this email, one of the (flow, step) `emails` it
    sends; DesignError naming each problem."""
    if (flow, step) not in emails:
        raise unknown(flow, step, emails)
    checked = document.check(design)
    session.execute(insert(EmailDesign).values(
        store_id=store_id, flow=flow, step=step, design=checked, updated_by=actor,
        updated_at=clock.now(),
    ).on_conflict_do_update(index_elements=["store_id", "flow", "step"], set_={
        "design": checked, "updated_by": actor, "updated_at": clock.now()}))
    return checked


def reset(session: Session, store_id: int, flow: str, step: str) -> bool:
    """Back to the default design; False if the store had none of its own."""
    return session.execute(delete(EmailDesign).where(
        EmailDesign.store_id == store_id, EmailDesign.flow == flow, EmailDesign.step == step,
    )).rowcount > 0


def listing(session: Session, store_id: int, emails: list[tuple[str, str]]) -> list[Listed]:
    """These (flow, step) emails and what each is drawn from, then any other the store has a
    design of (a built flow's step since removed)."""
    rows = {(row.flow, row.step): row for row in session.execute(
        select(EmailDesign).where(EmailDesign.store_id == store_id)).scalars()}
    keys = list(dict.fromkeys([*emails, *sorted(rows)]))
    return [Listed(flow, step, "store", rows[(flow, step)].updated_at) if (flow, step) in rows
            else Listed(flow, step, "default", None) for flow, step in keys]
