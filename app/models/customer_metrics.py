"""What a customer's orders and mail add up to, one row per customer, kept by app.audiences.metrics.

A table of its own rather than columns on `customers`: the customer row is the platform's record
(written by app.ingest.upsert under its stale-update rule), these rows are ours, derived and rebuilt
whole by one statement. A trigger gives every customer a row as it is stored (migration 0026):
zeros and nulls, "nothing yet", until its first order or message.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, Interval, String, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.models.base import Money


class CustomerMetrics(Base):
    __tablename__ = "customer_metrics"
    __table_args__ = (
        # Segments cut by these within one store, and a members page reads spend and last
        # order highest first (migration 0026).
        Index("ix_customer_metrics_store_id_total_spent", "store_id",
              text("total_spent DESC NULLS LAST"), "customer_id"),
        Index("ix_customer_metrics_store_id_last_order_at", "store_id",
              text("last_order_at DESC NULLS LAST"), "customer_id"),
        *(Index(f"ix_customer_metrics_store_id_{column}", "store_id", column) for column in (
            "orders_count", "predicted_next_order_at", "last_opened_at", "last_clicked_at")),
    )

    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    # Orders that count: not cancelled, not refunded or voided (store currency).
    orders_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    total_spent: Mapped[Decimal] = mapped_column(Money, server_default=text("0"))
    average_order_value: Mapped[Decimal | None] = mapped_column(Money)
    first_order_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_order_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Platform product ids and line titles of those orders.
    product_ids: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    product_titles: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    # The product types and vendors of those products (as the store's catalogue files them).
    product_types: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    vendors: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    last_opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_clicked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When each email of the last 30 days was sent: "emails in the last 30 days" is counted
    # from these at question time, so the count stays right as the clock moves on.
    recent_sends: Mapped[list[datetime]] = mapped_column(
        ARRAY(DateTime(timezone=True)), server_default=text("'{}'"))
    predicted_next_order_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # "own 3 orders" or "store median": what the prediction was made from.
    prediction_basis: Mapped[str | None] = mapped_column(String(32))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StoreMetrics(Base):
    """A store's median time between one customer's orders (one-time buyers' predicted next
    order) and the spend that puts a buyer in its top 5 % (`customer.top_spender`). Refreshed
    by a store's recompute and a daily job, not per order (they read them all)."""

    __tablename__ = "store_metrics"

    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    median_order_interval: Mapped[timedelta | None] = mapped_column(Interval)
    top_spend: Mapped[Decimal | None] = mapped_column(Money)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
