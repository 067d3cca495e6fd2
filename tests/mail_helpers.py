"""Helpers for mail tests: a queued message about the published abandoned checkout."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, select

from app.core.db import db
from app.mail import outbox
from app.models import Checkout, Message, Store
from tests.helpers import published

POSTAL_ADDRESS = "12 Orchard Lane, Portland, OR 97201"


def with_postal_address(store_id: int) -> None:
    """Give the store the postal address marketing email needs (app.core.settings.refusal)."""
    with db.session() as session:
        store = session.get(Store, store_id)
        store.settings = {"postal_address": POSTAL_ADDRESS, **store.settings}


def checkout_message(shop, webhooks, run_jobs, *, marketing=True, email="example@email.com",
                     run_id=1, step="email_1", context=None, customer_id=None) -> int:
    """Queue the first abandoned-checkout email about the published checkout; its row id. A
    marketing one is from a store with its postal address set."""
    if marketing:
        with_postal_address(shop.id)
    with db.session() as session:
        checkout = session.execute(select(Checkout)).scalar_one_or_none()
    if checkout is None:
        webhooks.deliver("checkouts/create", published("shopify/checkouts_create.json"))
        run_jobs()
        with db.session() as session:
            checkout = session.execute(select(Checkout)).scalar_one()
    with db.session() as session:
        return outbox.queue_message(
            session, store_id=shop.id, email=email, template="abandoned_checkout/email_1",
            marketing=marketing, context={"checkout_id": checkout.id, **(context or {})},
            customer_id=customer_id if customer_id is not None else checkout.customer_id,
            flow="abandoned_checkout", run_id=run_id, step=step)


def sent_message(shop, webhooks, run_jobs, **options) -> int:
    """A checkout message (see `checkout_message`), delivered."""
    message_id = checkout_message(shop, webhooks, run_jobs, **options)
    assert outbox.deliver(message_id) == "sent"
    return message_id


def status(message_id: int) -> Message:
    with db.session() as session:
        return session.get(Message, message_id)


@contextmanager
def statements():
    """Every SQL statement run inside the block, and each COMMIT, in order."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(" ".join(statement.split()))

    def commit(conn) -> None:
        seen.append("COMMIT")
    event.listen(db.engine, "before_cursor_execute", record)
    event.listen(db.engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        event.remove(db.engine, "commit", commit)
