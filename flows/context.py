"""What a step, condition or rule sees of a run: the store, the customer, the subject, the time.

Rows are read on first use, in the engine's transaction, so every check sees the database as it
is at that moment; the step job locks the run, then reads its store, flow config, customer and
subject in one query instead (`load`). What a step sends out of the engine goes through the
context's `port` (flows.port). A dry run (flows.dryrun) replays history with its own recording
port and sets a `horizon`: rules then ignore the orders, checkouts and changes stamped after it,
seeing the store's history as it stood then.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Mapping

from sqlalchemy import ColumnElement, Label, Select, and_, bindparam, func, select, true
from sqlalchemy.orm import Session

from app.core import stores
from app.core.db import execute_core
from app.models import (Checkout, Customer, FlowConfig, FlowRun, Order, ProductView, Store,
                        Suppression)
from flows import choices
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
    # Columns read with the context for its caller (`load`'s `also`), by label.
    also: Mapping[str, Any] = field(default_factory=dict)

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
    def config(self) -> FlowConfig | None:
        """The store's choices for the run's flow (None: its defaults)."""
        return choices.config_row(self.session, self.store.id, self.run.flow)

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

    @cached_property
    def suppression(self) -> str | None:
        """Why mail to the recipient is stopped (a bounce, a complaint...), if it is."""
        return execute_core(self.session, _SUPPRESSION, {"store_id": self.store.id,
                                                         "email": self.recipient}).scalar()

    def by_horizon(self, stamp) -> ColumnElement[bool]:
        """A filter keeping rows stamped (by the column `stamp`) no later than the horizon."""
        return true() if self.horizon is None else stamp <= self.horizon

    def happened(self, moment: datetime | None) -> bool:
        """Whether a stamped change (a completion, a cancellation) had happened by the horizon."""
        return moment is not None and (self.horizon is None or moment <= self.horizon)


# Built once: the engine's re-check of a customer's runs asks it for every run.
_SUPPRESSION = select(Suppression.reason).where(Suppression.store_id == bindparam("store_id"),
                                                Suppression.email == bindparam("email"))


def _owned(model, kind: str | None = None) -> ColumnElement[bool]:
    """Join condition: the run's row of `model` in its own store (its subject, if `kind`)."""
    ref = FlowRun.customer_id if kind is None else FlowRun.subject_id
    joined = and_(model.id == ref, model.store_id == FlowRun.store_id)
    return joined if kind is None else and_(FlowRun.subject == kind, joined)


def _run(*columns, in_store: bool) -> Select:
    """`columns` of the run by id (`:run_id`), in `:store_id` if `in_store`."""
    runs = select(*columns).where(FlowRun.id == bindparam("run_id"))
    return runs.where(FlowRun.store_id == bindparam("store_id")) if in_store else runs


@functools.cache
def _lock(in_store: bool) -> Select:
    """The run's row locked, the kind of its subject read: the context is read after the lock,
    as an entity, with that kind's row alone."""
    return _run(FlowRun.subject, in_store=in_store).with_for_update()


@functools.cache
def _context(in_store: bool, also: tuple[Label, ...] = (), with_store: bool = True,
             subject: str | None = None) -> Select:
    """The run with its store (if `with_store`), flow config, customer, subject (loaded as an
    entity only for the kind `subject`, if given) and the recipient's suppression, and the
    columns `also`. Built once: building it and its cache key cost more than its round trip to
    PostgreSQL. Every kind's table is joined whatever `subject` says (NULL but for the run's
    own): `also` and the recipient read them; loading all three entities cost a step 6 % more
    instructions (bench.instructions)."""
    subjects = {kind: model for kind, model in SUBJECT_MODELS.items() if model is not Customer}
    loaded = [model for kind, model in subjects.items() if subject in (None, kind)]
    # `recipient` in SQL, for every subject but another customer (its email would be theirs).
    recipient = func.coalesce(func.nullif(Checkout.email, ""), func.nullif(Order.email, ""),
                              Customer.email)
    suppression = select(Suppression.reason).where(
        Suppression.store_id == FlowRun.store_id, Suppression.email == recipient,
    ).limit(1).scalar_subquery()
    query = _run(FlowRun, in_store=in_store)
    if with_store:
        query = query.add_columns(Store).join(Store, Store.id == FlowRun.store_id)
    query = (query.add_columns(FlowConfig, Customer, *loaded, suppression)
             .outerjoin(FlowConfig, and_(FlowConfig.store_id == FlowRun.store_id,
                                         FlowConfig.flow == FlowRun.flow))
             .outerjoin(Customer, _owned(Customer)))
    for kind, model in subjects.items():
        query = query.outerjoin(model, _owned(model, kind))
    return query.add_columns(*also)


def load(session: Session, run_id: int, now: datetime, lock: bool = True,
         store_id: int | None = None, also: tuple[Label, ...] = (),
         also_params: Mapping[str, Any] | None = None,
         store: Store | None = None, subject: str | None = None) -> RunContext | None:
    """The run's context (None: no such run, in `store_id` if given), its store, flow config,
    customer, subject and the recipient's suppression read in one query; with `lock`, the run's
    row locked first. The labelled columns `also` (bound by `also_params`) are read in the same
    query, into `ctx.also` by label (the outbox's send guards read theirs this way). A caller
    holding the run's `store` (`store_id`'s) passes it, and the query does not read it again;
    one knowing the kind of the run's `subject` passes it (the lock reads it), and the query
    loads that kind's row alone."""
    in_store = store_id is not None
    if store is not None and store.id != store_id:
        raise ValueError("the store given is not the run's store_id")
    params = {"run_id": run_id, "store_id": store_id} if in_store else {"run_id": run_id}
    params = {**(also_params or {}), **params}
    # Locked before the rest is read, so the rest is as the lock's last holder left it (one
    # query would read it from a snapshot taken before waiting for the lock).
    if lock:
        subject = execute_core(session, _lock(in_store), params).scalar_one_or_none()
        if subject is None:
            return None
    row = session.execute(_context(in_store, also, store is None, subject), params).first()
    if row is None:
        return None
    if store is None:
        run, store, config, customer, *found, suppressed = row[:len(row) - len(also)]
    else:
        run, config, customer, *found, suppressed = row[:len(row) - len(also)]
    ctx = RunContext(session, store, run, now,
                     also={column.key: row._mapping[column.key] for column in also})
    # What the query read stands in for the cached properties' own reads.
    ctx.__dict__.update(config=config, customer=customer)
    if run.subject != "customer":
        ctx.__dict__.update(subject=next((one for one in found if one is not None), None),
                            suppression=suppressed)
    elif run.subject_id == run.customer_id:
        ctx.__dict__.update(subject=customer, suppression=suppressed)
    return ctx
