"""Records -> rows. A record is inserted, or updated under a row lock unless it is older than the
stored version, so concurrent and repeated deliveries converge and a stale one changes nothing."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy import Insert, Select, Table, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from app.core import clock
from app.core.db import execute_core
from app.ingest import identity
from app.models import Checkout, CheckoutLine, Customer, Fulfillment, Order, OrderLine, Product
from connectors.base import (CheckoutRecord, CustomerRecord, FulfillmentRecord, LineRecord,
                             OrderRecord, ProductRecord)

DELETED = "deleted"  # Product.status of a product the platform deleted


@dataclass(frozen=True)
class Upserted:
    id: int
    created: bool
    changed: bool  # False when the delivery was stale: nothing was written
    # What the row held before this write ({} for a new row), and the columns it changed.
    before: Mapping[str, Any] = field(default_factory=dict)
    changes: frozenset[str] = frozenset()


def _upsert(session: Session, model, key: dict[str, Any], values: dict[str, Any],
            version: Any, stored: bool = False) -> Upserted:
    """Insert, or update only if `version` is not older than the stored `source_updated_at`.
    `stored`: the row is known to exist, so it is locked without trying the INSERT first."""
    table, keys, columns = model.__table__, tuple(key), tuple(values)
    params = {f"p_{name}": value for name, value in (*key.items(), *values.items())}
    if not stored:
        inserted = execute_core(session, _insert(table, keys, columns), params).scalar()
        if inserted is not None:
            return Upserted(id=inserted, created=True, changed=True, changes=frozenset(
                name for name, value in values.items() if value is not None))
    # The row lock makes concurrent deliveries of one record take turns, so each compares
    # itself with what the one before it wrote (the events depend on it).
    found = execute_core(session, _locked(table, keys), params).one_or_none()
    if found is None:  # erased since it was known (a redaction): stored anew
        return _upsert(session, model, key, values, version)
    stored = found._mapping
    # Undated data (Shopify's customer embedded in an order) fills a gap, never overwrites.
    if version is None or (stored["source_updated_at"] is not None
                           and stored["source_updated_at"] > version):
        return Upserted(id=stored["id"], created=False, changed=False)
    execute_core(session, update(table).where(table.c.id == stored["id"]).values(**values))
    _expire_copy(session, model, stored["id"])
    before = {name: stored[name] for name in values}
    return Upserted(id=stored["id"], created=False, changed=True, before=before,
                    changes=frozenset(name for name, value in values.items() if before[name] != value))


def _expire_copy(session: Session, model, row_id: int) -> None:
    """Expire the session's copy of a row just updated in SQL behind it (a customer held for
    the delivery's listeners, app.ingest.consent), so it is read again when next used."""
    copy = session.identity_map.get(identity_key(model, row_id))
    if copy is not None:
        session.expire(copy)


# An upsert's INSERT and its row lock, built once per table and set of columns: building them
# for every delivery cost more than their round trips (bench/ingest_profile.py). A parameter is
# named after its column (`p_<column>`).
@functools.cache
def _insert(table: Table, keys: tuple[str, ...], columns: tuple[str, ...]) -> Insert:
    return (pg_insert(table).values({name: bindparam(f"p_{name}") for name in (*keys, *columns)})
            .on_conflict_do_nothing(index_elements=list(keys)).returning(table.c.id))


@functools.cache
def _locked(table: Table, keys: tuple[str, ...]) -> Select:
    return select(table).where(*(table.c[name] == bindparam(f"p_{name}") for name in keys)
                               ).with_for_update()


def _replace_lines(session: Session, model, parent: str, upserted: Upserted, store_id: int,
                   lines: tuple[LineRecord, ...]) -> None:
    if not upserted.created:  # a row this delivery inserted has no lines to replace
        session.execute(delete(model).where(getattr(model, parent) == upserted.id))
    if lines:
        execute_core(session, insert(model.__table__), [  # Core: the ORM's bulk path costs more
            {parent: upserted.id, "store_id": store_id, **line.__dict__} for line in lines
        ])


def customer(session: Session, store_id: int, record: CustomerRecord) -> Upserted:
    # A shopper first known by the email typed at the shop front becomes this customer.
    known = identity.adopt(session, store_id, record.platform_id, record.email)
    values = {
        "email": record.email, "first_name": record.first_name, "last_name": record.last_name,
        "phone": record.phone, "country_code": record.country_code,
        "province_code": record.province_code, "tags": list(record.tags),
        "source_created_at": record.created_at, "source_updated_at": record.updated_at,
    }
    if record.birthday is not None:  # most payloads do not carry it; silence keeps what we have
        values["birthday"] = record.birthday
    return _upsert(session, Customer, {"store_id": store_id, "platform_id": record.platform_id},
                   values, record.updated_at, stored=known)


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
        _replace_lines(session, OrderLine, "order_id", result, store_id, record.lines)
    return result


def _stage(session: Session, store_id: int, record: CheckoutRecord) -> str:
    """A cart that reached checkout stays a checkout, whatever a later cart event says."""
    if record.stage == "checkout":
        return record.stage
    stored = session.execute(select(Checkout.stage).where(
        Checkout.store_id == store_id, Checkout.token == record.token)).scalar()
    return stored or record.stage


def checkout(session: Session, store_id: int, record: CheckoutRecord) -> Upserted:
    values = {
        "platform_id": record.platform_id, "cart_token": record.cart_token,
        "customer_id": _customer_id(session, store_id, record.customer),
        "email": record.email, "currency": record.currency, "total_price": record.total_price,
        "recovery_url": record.recovery_url, "completed_at": record.completed_at,
        "source_created_at": record.created_at, "source_updated_at": record.updated_at,
        "stage": _stage(session, store_id, record),
    }
    result = _upsert(session, Checkout, {"store_id": store_id, "token": record.token},
                     values, record.updated_at)
    if result.changed:
        _replace_lines(session, CheckoutLine, "checkout_id", result, store_id, record.lines)
    return result


def fulfillment(session: Session, store_id: int, record: FulfillmentRecord,
                order_id: int | None) -> Upserted:
    values = {
        "order_id": order_id, "order_platform_id": record.order_platform_id,
        "status": record.status, "shipment_status": record.shipment_status,
        "tracking_company": record.tracking_company, "tracking_number": record.tracking_number,
        "tracking_url": record.tracking_url, "source_updated_at": record.updated_at,
    }
    return _upsert(session, Fulfillment, {"store_id": store_id, "platform_id": record.platform_id},
                   values, record.updated_at)


def product(session: Session, store_id: int, record: ProductRecord) -> Upserted:
    values = {
        "title": record.title, "handle": record.handle, "url": record.url,
        "image_url": record.image_url,
        "price": record.price, "in_stock": record.in_stock, "status": record.status,
        "product_type": record.product_type, "vendor": record.vendor,
        "source_updated_at": record.updated_at,
    }
    return _upsert(session, Product, {"store_id": store_id, "platform_id": record.platform_id},
                   values, record.updated_at)


def product_deleted(session: Session, store_id: int, platform_id: int) -> int | None:
    """Mark a stored product deleted and out of stock, keeping the row (old emails and views
    point at it). Its id, or None when there was nothing to change."""
    return session.execute(
        update(Product).where(
            Product.store_id == store_id, Product.platform_id == platform_id,
            Product.status.is_distinct_from(DELETED),
        # A deletion carries no time: it happened by now, so every delayed update is older.
        ).values(status=DELETED, in_stock=False, source_updated_at=clock.now())
        .returning(Product.id)
    ).scalar()
