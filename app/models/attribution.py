"""An order credited to the message that earned it, with the order's revenue at that moment."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.models.base import StoreOwned
from app.models.base import Money

METHODS = ("discount_code", "click")


class Attribution(StoreOwned, Base):
    __tablename__ = "attributions"
    # An order is credited once, to one message.
    __table_args__ = (UniqueConstraint("store_id", "order_id"),)

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    # Copied from the message so the report groups without a join.
    flow: Mapped[str] = mapped_column(String(64))
    step: Mapped[str | None] = mapped_column(String(64))
    revenue: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(16))
    attributed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
