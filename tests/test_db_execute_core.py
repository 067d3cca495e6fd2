"""execute_core runs plain statements on the session's connection, yet reads what the session's
transaction has pending, as the session's own execution of an ORM statement would."""
from __future__ import annotations

from sqlalchemy import bindparam, func, select

from app.core.db import db, execute_core
from app.models import Customer

_BY_EMAIL = select(func.count()).select_from(Customer.__table__).where(
    Customer.__table__.c.store_id == bindparam("store_id"),
    Customer.__table__.c.email == bindparam("email"))


def test_a_customer_added_to_the_session_is_read_by_execute_core(shop):
    with db.session() as session:
        session.add(Customer(store_id=shop.id, email="pending@example.com"))
        assert execute_core(session, _BY_EMAIL, {"store_id": shop.id,
                                                 "email": "pending@example.com"}).scalar_one() == 1


def test_under_no_autoflush_execute_core_leaves_the_pending_write_to_the_flush(shop):
    with db.session() as session:
        session.add(Customer(store_id=shop.id, email="later@example.com"))
        with session.no_autoflush:
            assert execute_core(session, _BY_EMAIL, {"store_id": shop.id,
                                                     "email": "later@example.com"}
                                ).scalar_one() == 0
        session.flush()
        assert execute_core(session, _BY_EMAIL, {"store_id": shop.id,
                                                 "email": "later@example.com"}).scalar_one() == 1
