"""What a step, condition or rule sees of a run: the store, the customer, the subject, the time.

Rows are read on first use, in the engine's transaction, so every check sees the database as it
is at that moment. What a step sends out of the engine goes through the context's `port`
(flows.port). A dry run (flows.dryrun) replays history with its own recording port and sets a
`horizon`: rules then ignore the orders, checkouts and changes stamped after it, seeing the
store's history as it stood then.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import Session

from app.core import stores
from app.models import Checkout, Customer, FlowRun, Order, ProductView, Store
from flows.port import Port, bound

SUBJECT_MODELS = {"checkout": Checkout, "order": Order, "product_view": ProductView,
                  "customer": Customer}


@dataclass
class RunContext:
    session: Session
    store: Store
    run: FlowRun
    now: datetime
    # Messages queued by this step, delivered once the transaction commits.
    queued: list[int] = field(default_factory=list)
    # Live runs have none: what is stored has happened. Never bound live checks by `now`: an
    # order stamped a second ahead of our clock must still stop a reminder.
    horizon: datetime | None = None
    port: Port = field(default_factory=bound)

    @property
    def replay(self) -> bool:
        """A dry run's replay of history: the flow counts as switched on, and what only the
        present knows (quiet hours, the frequency cap, other flows due, the store's settings)
        is not simulated."""
        return self.horizon is not None

    @property
    def settings(self) -> dict[str, Any]:
        return self.run.settings

    @cached_property
    def customer(self) -> Customer:
        return stores.get_owned(self.session, Customer, self.store.id, self.run.customer_id)

    @cached_property
    def subject(self) -> Any:
        """The checkout, order, product view or customer the run is about (None if erased)."""
        model = SUBJECT_MODELS.get(self.run.subject)
        if model is None:  # a subject with no row of its own (a birthday's year)
            return None
        return stores.get_owned(self.session, model, self.store.id, self.run.subject_id)

    @property
    def recipient(self) -> str | None:
        """The address typed for this checkout or order, else the customer's."""
        return getattr(self.subject, "email", None) or self.customer.email

    def by_horizon(self, stamp) -> ColumnElement[bool]:
        """A filter keeping rows stamped (by the column `stamp`) no later than the horizon."""
        return true() if self.horizon is None else stamp <= self.horizon

    def happened(self, moment: datetime | None) -> bool:
        """Whether a stamped change (a completion, a cancellation) had happened by the horizon."""
        return moment is not None and (self.horizon is None or moment <= self.horizon)
