"""Products for emails, read at send time: what a shopper viewed, and what to suggest next."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models import Customer, Order, OrderLine, Product

RECOMMENDATIONS = 3


def products(session: Session, store_id: int, platform_ids: list[int]) -> list[Product]:
    """These products (by platform id) that are still in stock, in the order given."""
    rows = session.execute(select(Product).where(
        Product.store_id == store_id, Product.platform_id.in_(platform_ids),
        Product.in_stock.is_(True))).scalars().all()
    by_id = {row.platform_id: row for row in rows}
    return [by_id[pid] for pid in platform_ids if pid in by_id]


def recommendations(session: Session, store_id: int, customer: Customer,
                    limit: int = RECOMMENDATIONS) -> list[Product]:
    """In-stock products this customer has never bought, newest first."""
    bought = (select(OrderLine.product_id).join(Order, OrderLine.order_id == Order.id)
              .where(Order.store_id == store_id, OrderLine.product_id.is_not(None),
                     or_(Order.customer_id == customer.id,
                         Order.email == customer.email if customer.email else False)))
    return list(session.execute(select(Product).where(
        Product.store_id == store_id, Product.in_stock.is_(True),
        Product.status.is_distinct_from("deleted"), Product.platform_id.not_in(bought),
    ).order_by(Product.updated_at.desc(), Product.id.desc()).limit(limit)).scalars())
