"""Everything we hold about one customer of one store, as JSON-ready data.

Used by `storeflow customer export` and by the GDPR data request.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from app.models import Checkout, Customer, Order
from connectors.base import normalize_email


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _row(row, *exclude: str) -> dict[str, Any]:
    skip = {"store_id", *exclude}
    return {c.key: _plain(getattr(row, c.key)) for c in row.__table__.columns if c.key not in skip}


def export_customer(session: Session, store_id: int, email: str) -> dict[str, Any]:
    """Profile(s), orders with lines and checkouts with lines for `email` in `store_id`."""
    address = normalize_email(email)
    customers = session.execute(
        select(Customer).where(Customer.store_id == store_id, Customer.email == address)
    ).scalars().all()
    customer_ids = [c.id for c in customers]

    def owned(model):
        return select(model).where(
            model.store_id == store_id,
            or_(model.email == address, model.customer_id.in_(customer_ids)),
        ).options(selectinload(model.lines)).order_by(model.id)

    orders = session.execute(owned(Order)).scalars().all()
    checkouts = session.execute(owned(Checkout)).scalars().all()
    return {
        "email": address,
        "customers": [_row(c) for c in customers],
        "orders": [{**_row(o), "lines": [_row(l, "order_id") for l in o.lines]} for o in orders],
        "checkouts": [{**_row(c), "lines": [_row(l, "checkout_id") for l in c.lines]}
                      for c in checkouts],
    }
