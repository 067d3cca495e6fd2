"""A shipment of an order, with the carrier's tracking, as the platform reports it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.models.base import StoreOwned, Timestamps


class Fulfillment(StoreOwned, Timestamps, Base):
    __tablename__ = "fulfillments"
    __table_args__ = (
        UniqueConstraint("store_id", "platform_id"),
        # An order arriving after its shipments finds them here.
        Index("ix_fulfillments_store_id_order_platform_id", "store_id", "order_platform_id"),
    )

    platform_id: Mapped[int] = mapped_column(BigInteger)
    # NULL until the order is stored; linked then (app.ingest.orders).
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    order_platform_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str | None] = mapped_column(String(32))
    shipment_status: Mapped[str | None] = mapped_column(String(32))
    tracking_company: Mapped[str | None] = mapped_column(String(255))
    tracking_number: Mapped[str | None] = mapped_column(String(255))
    tracking_url: Mapped[str | None] = mapped_column(Text)
    source_updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The platform's time of the first version we saw delivered.
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
