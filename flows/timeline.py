"""The timeline: every decision the engine made about a customer, in order, explained; and what
their runs under way will do next."""
from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import (Insert, bindparam, case, column, func, inspect, insert, null, select,
                        update)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.core import clock, stores
from app.core.db import execute_core
from app.ingest import consent
from app.models import (Checkout, ConsentChange, Customer, FlowRun, Order, ProductView, Store,
                        Suppression, TimelineEntry)
from connectors.values import normalize_email
from flows import library
from flows.context import RunContext
from flows.reasons import SUPPRESSIONS, in_words
from flows.steps import Send

# enrolled, not_enrolled, held_out, sent, deferred, skipped, waiting, tagged, scored, exited,
# completed; resumed (a sunset lifted, flows.sunset); branched (an if or a split answered), called
# (a webhook asked for), moved (onto a built flow's newest version, flows.moves)
# What `record` fills in of an entry.
ENTRY_COLUMNS = ("store_id", "customer_id", "run_id", "flow", "step", "kind", "detail", "at")
KINDS = ("enrolled", "not_enrolled", "held_out", "sent", "deferred", "skipped", "tagged",
         "scored", "exited", "completed", "resumed", "branched", "called", "moved")


def record(session: Session, run: FlowRun, kind: str, at, step: str | None = None,
           detail: str = "") -> None:
    """Write one decision about `run` (its id may still be unassigned for not_enrolled)."""
    session.add(TimelineEntry(store_id=run.store_id, customer_id=run.customer_id, run_id=run.id,
                              flow=run.flow, step=step, kind=kind, detail=detail, at=at))


def entered(run_insert: Insert) -> Insert:
    """A run's INSERT (ON CONFLICT DO NOTHING) and its entry, enrolled or held_out, in one
    statement (`:entry_detail`, `:entry_at`), returning the run's id (no row: it was not
    written). For an enrollment, which no later write of its run carries in the same statement:
    the ORM's INSERT of the run and a second for the entry cost more than both in SQL."""
    run = run_insert.returning(*(FlowRun.__table__.c[name] for name in (
        "id", "store_id", "customer_id", "flow", "holdout"))).cte("entered")
    table = TimelineEntry.__table__
    return insert(table).add_cte(run).from_select(ENTRY_COLUMNS, select(
        run.c.store_id, run.c.customer_id, run.c.id, run.c.flow, null(),
        case((run.c.holdout, "held_out"), else_="enrolled"),
        bindparam("entry_detail", type_=table.c.detail.type),
        bindparam("entry_at", type_=table.c.at.type))).returning(table.c.run_id)


def write_with_run(session: Session, run: FlowRun) -> None:
    """Write the run's changes and the entries recorded about it in one statement (the UPDATE in
    a WITH, then the INSERT) rather than the flush's two round trips; what else is pending is
    left to the flush."""
    entries = sorted((obj for obj in session.new
                      if isinstance(obj, TimelineEntry) and obj.run_id == run.id),
                     key=lambda entry: inspect(entry).insert_order)  # ids in the order made
    changed = {attr.key: attr.value for attr in inspect(run).attrs if attr.history.added}
    if not entries or not changed:
        return
    changed["updated_at"] = clock.now()
    params = {f"run_{key}": value for key, value in changed.items()}
    params.update((f"entry_{name}", [getattr(entry, name) for entry in entries])
                  for name in ENTRY_COLUMNS)
    with session.no_autoflush:
        execute_core(session, _run_and_entries(tuple(changed)),
                     {**params, "moved_id": run.id, "moved_store": run.store_id})
    for key, value in changed.items():
        set_committed_value(run, key, value)
    for entry in entries:
        session.expunge(entry)


@functools.cache
def _run_and_entries(changed: tuple[str, ...]) -> Insert:
    """The run's (`:moved_id` of `:moved_store`) UPDATE of the columns `changed` (`:run_<column>`) in a WITH, and
    the INSERT of its entries, each column one array (`:entry_<column>`): the same statement for
    any number of entries, built once per set of columns (building it cost more than running
    it). No parameter is named as a column: an UPDATE would set that column from it too."""
    runs = FlowRun.__table__
    moved = (update(runs).where(runs.c.id == bindparam("moved_id"),
                                runs.c.store_id == bindparam("moved_store"))
             .values({runs.c[key]: bindparam(f"run_{key}", type_=runs.c[key].type)
                      for key in changed})
             .returning(runs.c.id).cte("moved"))
    table = TimelineEntry.__table__
    types = [table.c[name].type for name in ENTRY_COLUMNS]
    rows = func.unnest(*(bindparam(f"entry_{name}", type_=ARRAY(kind))
                         for name, kind in zip(ENTRY_COLUMNS, types))
                       ).table_valued(*(column(name, kind) for name, kind in zip(ENTRY_COLUMNS, types))
                                      ).render_derived("entries")
    return insert(table).add_cte(moved).from_select(ENTRY_COLUMNS, select(rows))


def subject_label(session: Session, store_id: int, subject: str, subject_id: int) -> str:
    """What a run is about, in the merchant's words: `order #1005`, `cart of 54.00 USD`,
    `viewed IPod Nano - 8GB`; never our row ids."""
    if subject == "order":
        name = session.execute(select(Order.name).where(
            Order.store_id == store_id, Order.id == subject_id)).scalar_one_or_none()
        return f"order {name}" if name else "an order"
    if subject == "checkout":
        cart = stores.get_owned(session, Checkout, store_id, subject_id)
        return (f"{'cart' if cart.stage == 'cart' else 'checkout'} of {cart.total_price:,.2f} "
                f"{cart.currency}") if cart else "a checkout"
    if subject == "product_view":
        title = session.execute(select(ProductView.title).where(
            ProductView.store_id == store_id, ProductView.id == subject_id)).scalar_one_or_none()
        return f"viewed {title}" if title else "a product view"
    return {"fulfillment": "a shipment", "customer": ""}.get(subject, subject)


def _customer_ids(store_id: int, address: str | None):
    return select(Customer.id).where(Customer.store_id == store_id, Customer.email == address)


def for_email(session: Session, store_id: int, email: str) -> list[dict[str, Any]]:
    """Every decision about the customer(s) with this address in one store, oldest first, with
    the reasons as stored (what the CLI prints and tests key on)."""
    rows = session.execute(select(TimelineEntry).where(
        TimelineEntry.store_id == store_id,
        TimelineEntry.customer_id.in_(_customer_ids(store_id, normalize_email(email))),
    ).order_by(TimelineEntry.at, TimelineEntry.id)).scalars().all()
    return [{"at": row.at.isoformat(), "flow": row.flow, "run_id": row.run_id, "step": row.step,
             "kind": row.kind, "detail": row.detail} for row in rows]


def _entry(at: datetime, kind: str, detail: str) -> dict[str, Any]:
    """A line of the story that is no flow's decision."""
    return {"at": at.isoformat(), "flow": None, "run_id": None, "step": None, "kind": kind,
            "detail": detail}


def story(session: Session, store_id: int, email: str) -> list[dict[str, Any]]:
    """The customer's page: the flows' decisions with their reasons in words, each change of
    their consent and any stop on mail to the address, oldest first."""
    address = normalize_email(email)
    decisions = [{**entry, "detail": in_words(entry["detail"])}
                 for entry in for_email(session, store_id, email)]
    changes = session.execute(select(ConsentChange).where(
        ConsentChange.store_id == store_id,
        ConsentChange.customer_id.in_(_customer_ids(store_id, address)),
    ).order_by(ConsentChange.id)).scalars()
    stops = session.execute(select(Suppression).where(
        Suppression.store_id == store_id, Suppression.email == address)).scalars()
    told = [*(_entry(change.occurred_at or change.recorded_at, "consent", consent.in_words(change))
              for change in changes),
            *(_entry(stop.created_at, "stopped", SUPPRESSIONS.get(stop.reason, stop.reason))
              for stop in stops)]
    # A stable sort: decisions made in one moment keep the order they were made in.
    return sorted([*decisions, *told], key=lambda entry: datetime.fromisoformat(entry["at"]))


def upcoming(session: Session, store_id: int, customer_id: int) -> list[dict[str, Any]]:
    """The customer's runs under way: each one's next email and when it falls due (None: when
    something happens, such as a delivery or a confirmation), soonest first."""
    runs = session.execute(select(FlowRun).where(
        FlowRun.store_id == store_id, FlowRun.customer_id == customer_id,
        FlowRun.status == "active").order_by(FlowRun.due_at.asc().nulls_last(), FlowRun.id)
    ).scalars().all()
    store = session.get(Store, store_id)
    listed = []
    for run in runs:
        ctx = RunContext(session, store, run, clock.now())
        ahead = library.definition(session, run).planned[run.step:]
        # The next email whose condition holds now (a confirmed subscriber skips "confirm").
        email = next((p.step.template for p in ahead if isinstance(p.step, Send)
                      and (p.condition is None or p.condition(ctx))), None)
        listed.append({"flow": run.flow, "step": email, "due_at": run.due_at,
                       "held_out": run.holdout})
    return listed
