"""Products for emails, read at send time: a cart's or an order's lines, what a shopper viewed,
and what to suggest next.

Suggestions are "bought together" first: products in the same orders of this store as what the
order (or, without one, the customer) bought, ranked by how many orders share them; the rest of
the places go to the store's best sellers of the last BEST_SELLER_DAYS days (by orders, so one
bulk buyer does not make a best seller), then to the newest products (a store with no sales
yet). Never a product the customer bought, never one out of
stock or deleted, never another store's. Both reads use ix_order_lines_store_id_product_id
(see bench/recommendations.py for their cost on a store with 50k orders).
"""
from __future__ import annotations

import functools
from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.core import clock
from app.models import Checkout, CheckoutLine, Customer, Order, OrderLine, Product

RECOMMENDATIONS = 3
BEST_SELLER_DAYS = 30


class Page(NamedTuple):
    """A line's product in the catalogue: its page and picture."""
    url: str | None
    image_url: str | None


class Line(NamedTuple):
    """A cart's or an order's line as an email shows it."""
    title: str
    variant_title: str | None
    quantity: int
    price: Decimal
    product: Page | None


def lines(session: Session, owner: Checkout | Order) -> list[Line]:
    """The checkout's or order's lines with their catalogue pages, in one statement read as
    plain rows: loading them as ORM objects cost three times as much CPU, in every email that
    shows a cart (bench/RESULTS.md)."""
    rows = session.connection().execute(_lines(type(owner)), {
        "store_id": owner.store_id, "owner_id": owner.id})
    return [Line(row.title, row.variant_title, row.quantity, row.price,
                 Page(row.url, row.image_url) if row.page else None) for row in rows]


@functools.cache
def _lines(owner: type[Checkout] | type[Order]) -> Select:
    line = CheckoutLine if owner is Checkout else OrderLine
    of = line.checkout_id if owner is Checkout else line.order_id
    return (select(line.title, line.variant_title, line.quantity, line.price, Product.url,
                   Product.image_url, Product.id.is_not(None).label("page"))
            .outerjoin(Product, and_(Product.store_id == line.store_id,
                                     Product.platform_id == line.product_id))
            .where(line.store_id == bindparam("store_id"), of == bindparam("owner_id"))
            .order_by(line.id))


def products(session: Session, store_id: int, platform_ids: list[int]) -> list[Product]:
    """These products (by platform id) that are still in stock, in the order given."""
    rows = session.execute(select(Product).where(
        Product.store_id == store_id, Product.platform_id.in_(platform_ids),
        Product.in_stock.is_(True))).scalars().all()
    by_id = {row.platform_id: row for row in rows}
    return [by_id[pid] for pid in platform_ids if pid in by_id]


def bought_by(store_id: int, customer: Customer) -> Select:
    """The platform ids of every product this customer has ordered in this store."""
    return (select(OrderLine.product_id).join(Order, OrderLine.order_id == Order.id)
            .where(Order.store_id == store_id, OrderLine.store_id == store_id,
                   OrderLine.product_id.is_not(None),
                   or_(Order.customer_id == customer.id,
                       Order.email == customer.email if customer.email else False)))


def _offerable(store_id: int, ranked, bought: Select, limit: int, *, unranked: bool) -> Select:
    """Products of `ranked` (product_id, orders), and every other product when `unranked`, that
    the store can sell now and the customer has not bought: most orders first, newer first
    among equals."""
    return (select(Product)
            .join(ranked, Product.platform_id == ranked.c.product_id, isouter=unranked)
            .where(Product.store_id == store_id, Product.in_stock.is_(True),
                   Product.status.is_distinct_from("deleted"),
                   Product.platform_id.not_in(bought))
            .order_by(func.coalesce(ranked.c.orders, 0).desc(), Product.updated_at.desc(),
                      Product.id.desc())
            .limit(limit))


def bought_together(store_id: int, seeds: Select, bought: Select, limit: int) -> Select:
    """Products that share orders with any of `seeds`, by how many orders they share."""
    seed, other = aliased(OrderLine), aliased(OrderLine)
    ranked = (select(other.product_id, func.count(func.distinct(other.order_id)).label("orders"))
              .join(seed, seed.order_id == other.order_id)
              .where(seed.store_id == store_id, seed.product_id.in_(seeds),
                     other.store_id == store_id, other.product_id.is_not(None))
              .group_by(other.product_id).subquery())
    return _offerable(store_id, ranked, bought, limit, unranked=False)


def best_sellers(store_id: int, bought: Select, limit: int) -> Select:
    """The store's products in the most orders placed (and not cancelled) lately, then the
    newest of the rest."""
    ranked = (select(OrderLine.product_id,
                     func.count(func.distinct(OrderLine.order_id)).label("orders"))
              .join(Order, OrderLine.order_id == Order.id)
              .where(Order.store_id == store_id, OrderLine.store_id == store_id,
                     Order.placed_at >= clock.now() - timedelta(days=BEST_SELLER_DAYS),
                     Order.cancelled_at.is_(None), OrderLine.product_id.is_not(None))
              .group_by(OrderLine.product_id).subquery())
    return _offerable(store_id, ranked, bought, limit, unranked=True)


def recommendations(session: Session, store_id: int, customer: Customer,
                    order: Order | None = None, limit: int = RECOMMENDATIONS) -> list[Product]:
    """Up to `limit` products to suggest to `customer`, after `order` when there is one: bought
    together with it (or with what they ever bought), then best sellers, then the newest."""
    bought = bought_by(store_id, customer)
    seeds = (select(OrderLine.product_id).where(OrderLine.store_id == store_id,
                                                OrderLine.order_id == order.id)
             if order is not None else bought)
    picks = list(session.execute(bought_together(store_id, seeds, bought, limit)).scalars())
    if len(picks) < limit:
        # Best sellers (then the newest) fill the rest: a second read, only when it is needed.
        shown = {product.id for product in picks}
        more = session.execute(best_sellers(store_id, bought, limit + len(picks))).scalars()
        picks += [product for product in more if product.id not in shown][:limit - len(picks)]
    return picks
