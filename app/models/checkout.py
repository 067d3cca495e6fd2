"""A checkout in progress (Shopify checkout, WooCommerce cart at checkout) and its lines."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base
from app.models.base import StoreOwned, Timestamps
from app.models.order import Money

if TYPE_CHECKING:  # the line's catalogue row; SQLAlchemy resolves it by name
    from app.models.product import Product


class Checkout(StoreOwned, Timestamps, Base):
    __tablename__ = "checkouts"
    # Shopify's published checkout samples carry no id, only a token: the token is the key.
    __table_args__ = (UniqueConstraint("store_id", "token"),)

    token: Mapped[str] = mapped_column(String(255))
    platform_id: Mapped[int | None] = mapped_column(BigInteger)
    cart_token: Mapped[str | None] = mapped_column(String(255))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    # The shop-front visitor whose cart this is (storefront events); links it before we know them.
    visitor_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # "cart" (items, no checkout yet) or "checkout"; only ever moves forward.
    stage: Mapped[str] = mapped_column(String(16), default="checkout")
    currency: Mapped[str] = mapped_column(String(3))
    total_price: Mapped[Decimal] = mapped_column(Money)
    recovery_url: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source_updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list["CheckoutLine"]] = relationship(
        back_populates="checkout", cascade="all, delete-orphan", order_by="CheckoutLine.id"
    )


class CheckoutLine(StoreOwned, Base):
    __tablename__ = "checkout_lines"

    checkout_id: Mapped[int] = mapped_column(
        ForeignKey("checkouts.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int | None] = mapped_column(BigInteger)
    variant_id: Mapped[int | None] = mapped_column(BigInteger)
    sku: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(512))
    variant_title: Mapped[str | None] = mapped_column(String(512))
    quantity: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(Money)

    checkout: Mapped[Checkout] = relationship(back_populates="lines")
    # The catalogue row of the line's product (its page and picture), read in the same query as
    # the lines: an email shows them for every line.
    product: Mapped[Product | None] = relationship(
        primaryjoin="and_(foreign(CheckoutLine.store_id) == Product.store_id, "
                    "foreign(CheckoutLine.product_id) == Product.platform_id)",
        viewonly=True, uselist=False, lazy="joined")
