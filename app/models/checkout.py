"""A checkout in progress (Shopify checkout, WooCommerce cart at checkout) and its lines."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base
from app.models.base import Money, ProductLine, StoreOwned, Timestamps


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


class CheckoutLine(ProductLine, StoreOwned, Base):
    __tablename__ = "checkout_lines"

    checkout_id: Mapped[int] = mapped_column(
        ForeignKey("checkouts.id", ondelete="CASCADE"), index=True
    )
    checkout: Mapped[Checkout] = relationship(back_populates="lines")
