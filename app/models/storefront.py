"""What a shop front tells us: visitors (anonymous ids, later tied to a customer) and views."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import Base
from app.models.base import StoreOwned


class Visitor(StoreOwned, Base):
    """One browser's first-party id; `customer_id` is set once we learn who it is."""

    __tablename__ = "visitors"
    __table_args__ = (UniqueConstraint("store_id", "visitor_id"),)

    visitor_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)


class ProductView(StoreOwned, Base):
    """A product page seen by a visitor; joins the customer's history when they are known."""

    __tablename__ = "product_views"
    __table_args__ = (Index("ix_product_views_store_id_visitor_id", "store_id", "visitor_id"),)

    visitor_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(BigInteger)  # the platform's product id
    variant_id: Mapped[int | None] = mapped_column(BigInteger)
    title: Mapped[str | None] = mapped_column(String(512))
    url: Mapped[str | None] = mapped_column(String(2048))
    viewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
