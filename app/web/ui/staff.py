"""A store's staff: invited by email by an owner, signed in with a link mailed to them.

Two roles: an owner changes settings, flows and staff; a viewer sees the overview and activity
only. Whoever signs in without a staff row (an operator's `storeflow login-link`, a WordPress
user who may manage WooCommerce, the Shopify admin) is an owner: the platform or the shell has
vouched for them.

Asking for a sign-in link answers the same whether the address belongs to anyone or not, and
queues the same job (`request_sign_in`). Each address gets at most SIGN_IN_MAILS_PER_WINDOW
mails per SIGN_IN_WINDOW.
"""
from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta
from email.utils import format_datetime, make_msgid

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import jobs
from app.core import audit, clock
from app.core.db import db
from app.mail import mime
from app.mail.compose import sender
from app.mail.links import signer as links
from app.mail.transport import transports
from app.models import StaffMember, Store
from app.web.ui import auth
from connectors.values import normalize_email

log = logging.getLogger(__name__)

OWNER, VIEWER = "owner", "viewer"
ROLES = {OWNER: "settings, flows, staff, reports and activity",
         VIEWER: "reports and activity only"}
SIGN_IN_LINK_LIFETIME = timedelta(minutes=15)
SIGN_IN_WINDOW = timedelta(minutes=15)
SIGN_IN_MAILS_PER_WINDOW = 3
MAILED_KEY = "storeflow:staff-sign-in-mailed:{}"  # sha256 of the address
ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class StaffError(ValueError):
    """An invitation that cannot be made; the message says why."""


def invite(session: Session, store_id: int, email: str, role: str, invited_by: str) -> StaffMember:
    """Add someone to the store's staff (their sign-in mail is the caller's to queue)."""
    address = normalize_email(email)
    if address is None or not ADDRESS.fullmatch(address) or len(address) > 254:
        raise StaffError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise StaffError(f"role must be one of: {', '.join(ROLES)}")
    member = StaffMember(store_id=store_id, email=address, role=role, invited_by=invited_by)
    try:
        with session.begin_nested():
            session.add(member)
    except IntegrityError:
        raise StaffError(f"{address} is already on the staff") from None
    audit.record(session, store_id, invited_by, f"staff {address}", None, {"role": role})
    return member


def remove(session: Session, store_id: int, member_id: int, removed_by: str) -> StaffMember | None:
    """Take someone off the store's staff; their sessions end with the row."""
    member = session.execute(delete(StaffMember).where(
        StaffMember.store_id == store_id, StaffMember.id == member_id,
    ).returning(StaffMember)).scalar_one_or_none()
    if member is not None:
        audit.record(session, store_id, removed_by, f"staff {member.email}",
                     {"role": member.role}, None)
    return member


def members(session: Session, store_id: int) -> list[StaffMember]:
    return list(session.execute(select(StaffMember).where(StaffMember.store_id == store_id)
                                .order_by(StaffMember.email)).scalars())


def current(session: Session, store_id: int, member_id: int) -> StaffMember | None:
    """The member, while they are still on this store's staff."""
    return session.execute(select(StaffMember).where(
        StaffMember.store_id == store_id, StaffMember.id == member_id)).scalar_one_or_none()


def request_sign_in(email: str) -> None:
    """Someone asks for sign-in links: queue one mail per store the address is staff of, within
    the address's rate. The same job is queued for an unknown address (with nobody to mail), so
    the request does the same work either way; the job's arguments are ids, never the address,
    as RQ logs them."""
    address = normalize_email(email)
    member_ids: list[int] = []
    if address is not None and _within_rate(address):
        with db.session() as session:
            member_ids = list(session.execute(
                select(StaffMember.id).join(Store, Store.id == StaffMember.store_id)
                .where(StaffMember.email == address, Store.uninstalled_at.is_(None))
                .order_by(StaffMember.id)).scalars())
    queue_sign_in_links(member_ids)


def queue_sign_in_links(member_ids: list[int]) -> None:
    """Queue the mail job for these members (after the commit that made them)."""
    jobs.enqueue(send_sign_in_links, member_ids)


def send_sign_in_links(member_ids: list[int]) -> int:
    """The mail job: a sign-in mail to each member still on an installed store's staff."""
    with db.session() as session:
        memberships = session.execute(
            select(StaffMember, Store).join(Store, Store.id == StaffMember.store_id)
            .where(StaffMember.id.in_(member_ids), Store.uninstalled_at.is_(None))
            .order_by(StaffMember.id)).all()
    for member, store in memberships:
        token = auth.login_token(store.id, lifetime=SIGN_IN_LINK_LIFETIME, member=member.email,
                                 staff_id=member.id)
        transports.send(_sign_in_mail(store, member, f"/app/login/{token}"))
        log.info("staff sign-in link mailed", extra={"store_id": store.id})
    return len(memberships)


def _within_rate(address: str) -> bool:
    # Keyed by a digest: Redis keys are listed by operators' tools, addresses are personal data.
    key = MAILED_KEY.format(hashlib.sha256(address.encode()).hexdigest())
    # The count and its expiry in one step: a count left without one would bar the address.
    pipe = jobs.broker.connection.pipeline()
    pipe.set(key, 0, nx=True, ex=int(SIGN_IN_WINDOW.total_seconds()))
    pipe.incr(key)
    return pipe.execute()[1] <= SIGN_IN_MAILS_PER_WINDOW


def _sign_in_mail(store: Store, member: StaffMember, path: str) -> mime.Mail:
    minutes = int(SIGN_IN_LINK_LIFETIME.total_seconds() // 60)
    return mime.assemble(
        [("From", sender(store)), ("To", member.email),
         ("Subject", f"Sign in to Storeflow for {store.name or store.domain}"),
         ("Date", format_datetime(clock.now())),
         ("Message-ID", make_msgid(domain=transports.message_id_domain))],
        f"Hello,\n\nyou are on the staff of {store.name or store.domain} in Storeflow "
        f"({member.role}: {ROLES[member.role]}).\n\nSign in here (the link works once, for "
        f"{minutes} minutes):\n\n{links.base_url}{path}\n\nFor another link later, go to:\n"
        f"{links.base_url}/app/sign-in\n\nIf you did not ask for this, ignore it: nothing "
        f"happens without the link.\n")
