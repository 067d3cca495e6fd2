"""Who a shop-front visitor is.

Signed customer tokens (carried by links in our emails) and identity stitching: an anonymous
visitor's views and carts join a customer once the visitor is identified (a platform customer
id, an email typed at checkout, a signed token). Rules:
- a visitor is tied to one customer at a time; all its earlier anonymous activity joins it;
- a customer known only by email (no platform id yet) is adopted by the platform customer with
  that email when the platform (a webhook, the store's signed server event) tells us about it,
  so it keeps one history. That is the only merge;
- a visitor re-identified as someone else (a corrected email, a login) is simply tied to them:
  anyone's browser can type anyone's address, so a visitor's say-so never merges, moves or
  deletes a customer's records. Two platform customers are never merged either.
"""
from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.url_safe import URLSafeSerializerMixin
from sqlalchemy import Select, and_, bindparam, delete, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core import clock
from app.core.db import execute_core
from app.models import Checkout, ConsentChange, Customer, Order, ProductView, Visitor

TOKEN_SALT = "storeflow.customer-token"
TOKEN_MAX_AGE = timedelta(days=90)
WITHOUT_PLATFORM = text("platform_id IS NULL")


class Signer:
    """The process's SECRET_KEY for one kind of token (its salt), bound once by `app.bootstrap`."""

    def __init__(self, salt: str) -> None:
        self.salt = salt
        self.secret_key: str | None = None

    def configure(self, secret_key: str | None) -> None:
        self.secret_key = secret_key

    def serializer(self) -> URLSafeTimedSerializer:
        if not self.secret_key:
            raise RuntimeError("SECRET_KEY is not configured; call app.bootstrap first")
        return _serializer(self.secret_key, self.salt)


class _Serializer(URLSafeTimedSerializer):
    """itsdangerous's URL-safe timed serializer without its try at zlib on every payload: a
    token carries a few ids and at most one URL, and the try cost two thirds of making it (65
    against 18 µs for a click link, of which an email has several). Any URLSafeTimedSerializer
    reads its tokens, and it reads the compressed ones made before."""

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(super(URLSafeSerializerMixin, self).dump_payload(obj))


@functools.lru_cache(maxsize=16)
def _serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    """One per key and salt: an email signs half a dozen links, and building the serializer
    each time doubled a signature's cost (0.04 against 0.02 ms)."""
    return _Serializer(secret_key, salt=salt)


signer = Signer(TOKEN_SALT)


def make_customer_token(store_id: int, customer_id: int) -> str:
    """A signed token naming one customer of one store, for links in our emails."""
    return signer.serializer().dumps({"s": store_id, "c": customer_id})


def verify_customer_token(token: str, store_id: int,
                          max_age: timedelta = TOKEN_MAX_AGE) -> int | None:
    """The customer id a token names, or None if forged, expired or for another store."""
    try:
        data = signer.serializer().loads(token, max_age=int(max_age.total_seconds()))
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict) or data.get("s") != store_id or not isinstance(data.get("c"), int):
        return None
    return data["c"]


def _email_only(session: Session, store_id: int, email: str) -> Customer | None:
    return session.execute(select(Customer).where(
        Customer.store_id == store_id, Customer.email == email, Customer.platform_id.is_(None)
    )).scalar_one_or_none()


def _known_and_orphan(session: Session, store_id: int, platform_id: int,
                      email: str | None) -> tuple[int | None, int | None]:
    """The ids of the platform customer and of an email-only customer with this email, in one
    read (every delivery about a customer asks both)."""
    named = (store_id, platform_id, email)
    identified = session.info.setdefault(IDENTIFIED, {})
    if named in identified:
        return identified[named], None
    rows = execute_core(session, _named(email is not None), {
        "store_id": store_id, "platform_id": platform_id, "email": email}).all()
    known = next((row.id for row in rows if row.platform_id is not None), None)
    orphan = next((row.id for row in rows if row.platform_id is None), None)
    if known is not None and orphan is None:
        identified[named] = known
    return known, orphan


# The session.info key of what `_known_and_orphan` found settled (a platform customer, no
# email-only one beside it): a delivery asks it for its checkout's customer and again for its
# consent. Forgotten when the transaction writes an email-only customer, merges or erases.
IDENTIFIED = "identified_customers"


def forget(session: Session) -> None:
    """Forget what the session's transaction identified: its customers changed."""
    session.info.pop(IDENTIFIED, None)


# Built once: every delivery naming a customer runs them.
@functools.cache
def _named(with_email: bool) -> Select:
    """Customers of `:store_id` with `:platform_id`, or (`with_email`) email-only with `:email`."""
    match = Customer.platform_id == bindparam("platform_id")
    if with_email:
        match = or_(match, and_(Customer.email == bindparam("email"),
                                Customer.platform_id.is_(None)))
    return select(Customer.id, Customer.platform_id).where(
        Customer.store_id == bindparam("store_id"), match)


_CUSTOMERS = Customer.__table__
_CREATE = (insert(_CUSTOMERS).values(store_id=bindparam("store_id"),
                                     platform_id=bindparam("platform_id"),
                                     email=bindparam("email"), created_at=bindparam("now"),
                                     updated_at=bindparam("now"))
           .on_conflict_do_nothing(index_elements=["store_id", "platform_id"])
           .returning(_CUSTOMERS.c.id))
_BY_PLATFORM_ID = select(Customer.id).where(Customer.store_id == bindparam("store_id"),
                                            Customer.platform_id == bindparam("platform_id"))


def _adopt(session: Session, store_id: int, orphan: int, platform_id: int) -> int:
    session.execute(update(Customer).where(Customer.store_id == store_id, Customer.id == orphan)
                    .values(platform_id=platform_id))
    return orphan


def adopt(session: Session, store_id: int, platform_id: int, email: str | None) -> bool:
    """Give an email-only customer its platform id, unless the platform customer already exists;
    whether the platform customer exists now (False: not known, or not asked without an email)."""
    if email is None:
        return False
    known, orphan = _known_and_orphan(session, store_id, platform_id, email)
    if known is None and orphan is not None:
        _adopt(session, store_id, orphan, platform_id)
    return known is not None or orphan is not None


def _by_platform_id(session: Session, store_id: int, platform_id: int, email: str | None) -> int:
    known, orphan = _known_and_orphan(session, store_id, platform_id, email)
    if known is None and orphan is not None:
        return _adopt(session, store_id, orphan, platform_id)
    named = {"store_id": store_id, "platform_id": platform_id, "email": email}
    if known is None:
        known = execute_core(session, _CREATE, {**named, "now": clock.now()}).scalar_one_or_none()
    if known is None:  # a concurrent delivery created them first
        known = execute_core(session, _BY_PLATFORM_ID, named).scalar_one()
    if orphan is not None:
        merge(session, store_id, orphan, known)
    return known


def _by_email(session: Session, store_id: int, email: str) -> int:
    # A platform customer with this email wins over an email-only one.
    found = session.execute(select(Customer.id).where(
        Customer.store_id == store_id, Customer.email == email,
    ).order_by(Customer.platform_id.is_(None), Customer.id).limit(1)).scalar_one_or_none()
    if found is not None:
        return found
    forget(session)  # an email-only customer may appear beside a platform one
    session.execute(insert(Customer).values(
        store_id=store_id, email=email, created_at=clock.now(), updated_at=clock.now(),
    ).on_conflict_do_nothing(index_elements=["store_id", "email"], index_where=WITHOUT_PLATFORM))
    return _email_only(session, store_id, email).id


def resolve(session: Session, store_id: int, *, email: str | None = None,
            platform_id: int | None = None, token_customer_id: int | None = None) -> int | None:
    """The customer these identifiers name (an email alone creates one), or None."""
    if token_customer_id is not None:
        owned = session.execute(select(Customer.id).where(
            Customer.store_id == store_id, Customer.id == token_customer_id)).scalar_one_or_none()
        if owned is not None:
            return owned
    if platform_id is not None:
        return _by_platform_id(session, store_id, platform_id, email)
    if email is not None:
        return _by_email(session, store_id, email)
    return None


def seen(session: Session, store_id: int, visitor_id: str, at: datetime) -> Visitor:
    """The visitor row, created on first sight."""
    session.execute(insert(Visitor).values(
        store_id=store_id, visitor_id=visitor_id, first_seen_at=at, last_seen_at=at,
    ).on_conflict_do_update(index_elements=["store_id", "visitor_id"],
                            set_={"last_seen_at": at},
                            where=Visitor.last_seen_at < at))
    return session.execute(select(Visitor).where(
        Visitor.store_id == store_id, Visitor.visitor_id == visitor_id)).scalar_one()


def link(session: Session, visitor: Visitor, customer_id: int) -> None:
    """Tie a visitor to a customer; its anonymous views and carts join that customer."""
    visitor.customer_id = customer_id
    for model in (ProductView, Checkout):
        session.execute(update(model).where(
            model.store_id == visitor.store_id, model.visitor_id == visitor.visitor_id,
            model.customer_id.is_(None),
        ).values(customer_id=customer_id))
    session.flush()


def merge(session: Session, store_id: int, source_id: int, target_id: int) -> None:
    """Move everything of customer `source_id` to `target_id`, then delete the source."""
    if source_id == target_id:
        return
    forget(session)
    # Consent history moves too: it is what justifies mail already sent.
    for model in (ProductView, Checkout, Order, Visitor, ConsentChange):
        session.execute(update(model).where(
            model.store_id == store_id, model.customer_id == source_id,
        ).values(customer_id=target_id))
    # So do the points and tags the flows gave the guest.
    source = session.execute(select(Customer.score, Customer.tags).where(
        Customer.store_id == store_id, Customer.id == source_id)).one_or_none()
    if source is not None:
        target = session.execute(select(Customer).where(
            Customer.store_id == store_id, Customer.id == target_id).with_for_update()).scalar_one()
        target.score = Customer.score + (source.score or 0)
        tags = list(target.tags or [])
        target.tags = tags + [tag for tag in source.tags or [] if tag not in tags]
    session.execute(delete(Customer).where(Customer.store_id == store_id, Customer.id == source_id))
    session.flush()
