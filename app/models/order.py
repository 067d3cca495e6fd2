"""A placed order and its lines."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base
from app.models.base import Money, ProductLine, StoreOwned, Timestamps


class Order(StoreOwned, Timestamps, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("store_id", "platform_id"),
        # Each customer's last order, read from the index alone (the win-back audience).
        Index("ix_orders_store_id_customer_id_placed_at", "store_id", "customer_id", "placed_at"),
        # The overview's orders placed in its period.
        Index("ix_orders_store_id_placed_at", "store_id", "placed_at"),
    )

    platform_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    name: Mapped[str | None] = mapped_column(String(64))
    checkout_token: Mapped[str | None] = mapped_column(String(255), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    total_price: Mapped[Decimal] = mapped_column(Money)
    financial_status: Mapped[str | None] = mapped_column(String(32))
    fulfillment_status: Mapped[str | None] = mapped_column(String(32))
    discount_codes: Mapped[list] = mapped_column(JSONB, default=list)
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The platform's time of the first version we saw fulfilled / a shipment delivered.
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source_updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )


class OrderLine(ProductLine, StoreOwned, Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        # The orders a product is in, read from the index alone (bought together, best sellers).
        Index("ix_order_lines_store_id_product_id", "store_id", "product_id", "order_id"),
    )

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order: Mapped[Order] = relationship(back_populates="lines")
