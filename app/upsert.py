"""Records -> rows. One atomic INSERT ... ON CONFLICT per record, so concurrent and repeated
deliveries converge, and a version older than the stored one changes nothing."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, insert, literal_column, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app import clock, identity
from app.models import Checkout, CheckoutLine, Customer, Order, OrderLine
from connectors.base import CheckoutRecord, CustomerRecord, LineRecord, OrderRecord


@dataclass(frozen=True)
class Upserted:
    id: int
    created: bool
    changed: bool  # False when the delivery was stale: nothing was written


def _upsert(session: Session, model, key: dict[str, Any], values: dict[str, Any],
            version: Any, overrides: dict[str, Any] | None = None) -> Upserted:
    """Insert, or update only if `version` is not older than the stored `source_updated_at`.
    `overrides` replace the plain new value of a column on update (an expression on the row)."""
    table = model.__table__
    statement = pg_insert(table).values(**key, **values)
    if version is None:
        # Undated data (Shopify's customer embedded in an order) fills a gap, never overwrites.
        statement = statement.on_conflict_do_nothing(index_elements=list(key))
    else:
        stored = table.c.source_updated_at
        statement = statement.on_conflict_do_update(
            index_elements=list(key),
            set_={**{name: statement.excluded[name] for name in values}, **(overrides or {}),
                  "updated_at": clock.now()},
            where=stored.is_(None) | (stored <= version),
        )
    # xmax = 0 only for a freshly inserted row: it tells a create from an update.
    row = session.execute(statement.returning(table.c.id, literal_column("xmax = 0"))).first()
    if row is not None:
        return Upserted(id=row[0], created=bool(row[1]), changed=True)
    existing = session.execute(
        select(table.c.id).where(*(table.c[name] == value for name, value in key.items()))
    ).scalar_one()
    return Upserted(id=existing, created=False, changed=False)


def _replace_lines(session: Session, model, parent: str, parent_id: int, store_id: int,
                   lines: tuple[LineRecord, ...]) -> None:
    session.execute(delete(model).where(getattr(model, parent) == parent_id))
    if lines:
        session.execute(insert(model), [
            {parent: parent_id, "store_id": store_id, **line.__dict__} for line in lines
        ])


def customer(session: Session, store_id: int, record: CustomerRecord) -> Upserted:
    # A shopper first known by the email typed at the shop front becomes this customer.
    identity.adopt(session, store_id, record.platform_id, record.email)
    values = {
        "email": record.email, "first_name": record.first_name, "last_name": record.last_name,
        "phone": record.phone, "country_code": record.country_code,
        "source_created_at": record.created_at, "source_updated_at": record.updated_at,
    }
    return _upsert(session, Customer, {"store_id": store_id, "platform_id": record.platform_id},
                   values, record.updated_at)


def _customer_id(session: Session, store_id: int, record: CustomerRecord | None) -> int | None:
    return customer(session, store_id, record).id if record else None


def order(session: Session, store_id: int, record: OrderRecord) -> Upserted:
    values = {
        "customer_id": _customer_id(session, store_id, record.customer),
        "email": record.email, "name": record.name, "checkout_token": record.checkout_token,
        "currency": record.currency, "total_price": record.total_price,
        "financial_status": record.financial_status,
        "fulfillment_status": record.fulfillment_status,
        "discount_codes": list(record.discount_codes), "placed_at": record.placed_at,
        "cancelled_at": record.cancelled_at, "source_updated_at": record.updated_at,
    }
    result = _upsert(session, Order, {"store_id": store_id, "platform_id": record.platform_id},
                     values, record.updated_at)
    if result.changed:
        _replace_lines(session, OrderLine, "order_id", result.id, store_id, record.lines)
    return result


def checkout(session: Session, store_id: int, record: CheckoutRecord) -> Upserted:
    values = {
        "platform_id": record.platform_id, "cart_token": record.cart_token,
        "customer_id": _customer_id(session, store_id, record.customer),
        "email": record.email, "currency": record.currency, "total_price": record.total_price,
        "recovery_url": record.recovery_url, "completed_at": record.completed_at,
        "source_created_at": record.created_at, "source_updated_at": record.updated_at,
        "stage": record.stage,
    }
    # A cart that reached checkout stays a checkout, whatever a later cart event says.
    forward_only = {"stage": case((Checkout.__table__.c.stage == "checkout", "checkout"),
                                  else_=record.stage)}
    result = _upsert(session, Checkout, {"store_id": store_id, "token": record.token},
                     values, record.updated_at, overrides=forward_only)
    if result.changed:
        _replace_lines(session, CheckoutLine, "checkout_id", result.id, store_id, record.lines)
    return result
