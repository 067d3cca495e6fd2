"""Columns tenant tables share."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.core import clock

if TYPE_CHECKING:  # a line's catalogue row; SQLAlchemy resolves it by name
    from app.models.product import Product

# Money is kept exact, beside its currency.
Money = Numeric(18, 4)


class StoreOwned:
    """A row that belongs to one store; every query for it filters on `store_id`."""

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=clock.now, onupdate=clock.now
    )


class ProductLine:
    """A line of an order or a checkout: what was bought, as the platform described it then."""

    product_id: Mapped[int | None] = mapped_column(BigInteger)
    variant_id: Mapped[int | None] = mapped_column(BigInteger)
    sku: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(512))
    variant_title: Mapped[str | None] = mapped_column(String(512))
    quantity: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(Money)

    @declared_attr
    def product(cls) -> Mapped[Product | None]:
        """The line's catalogue row (its page and picture), read in the same query as the
        lines: an email shows them for every line."""
        return relationship(
            primaryjoin=f"and_(foreign({cls.__name__}.store_id) == Product.store_id, "
                        f"foreign({cls.__name__}.product_id) == Product.platform_id)",
            viewonly=True, uselist=False, lazy="joined")
