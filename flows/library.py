"""Every flow a store has: the prebuilt catalogue (flows.catalog) and the flows its merchant
built (flow_documents, one row per version, compiled by flows.built).

A version is never changed once saved: saving a changed document makes the next version, new
runs start on it, and a run in flight walks the version it started on to its end.
"""
from __future__ import annotations

import functools
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core import audit, memo
from app.models import FlowDocument
from flows import catalog
from flows.built import compile_flow
from flows.document import FlowDocumentError
from flows.steps import Flow, Send

# Compiled versions by (store id, name, version): immutable, so kept for the process's life
# (bounded: cleared when full).
_COMPILED: dict[tuple[int, str, int], Flow] = {}
CACHE_SIZE = 2000


def save(session: Session, store_id: int, document: dict, actor: str) -> FlowDocument:
    """Store a checked document as the flow's next version (the same document again makes no
    new version); FlowDocumentError for a prebuilt flow's name."""
    name = document["name"]
    refused = refusals(session, store_id, name, new=False)
    if refused:
        raise FlowDocumentError(refused)
    latest = newest(session, store_id, name)
    if latest is not None and latest.document == document:
        return latest
    row = FlowDocument(store_id=store_id, name=name, document=document, created_by=actor,
                       version=(latest.version if latest else 0) + 1)
    session.add(row)
    session.flush()
    audit.record(session, store_id, actor, f"flow {name}",
                 None if latest is None else {"version": latest.version},
                 {"version": row.version})
    return row


def refusals(session: Session, store_id: int, name: str, new: bool) -> list[tuple[str, str]]:
    """Why a checked document cannot be saved under its name: a prebuilt flow's, or (for a
    `new` flow) one of the store's flows already."""
    if name in catalog.FLOWS:
        return [("/name", f"{name!r} is a prebuilt flow: give your copy another name")]
    if new and newest(session, store_id, name) is not None:
        return [("/name", f"you have a flow named {name!r} already: edit it, or choose "
                          "another name")]
    return []


def newest(session: Session, store_id: int, name: str) -> FlowDocument | None:
    """The version of a built flow that new runs start on."""
    return session.execute(select(FlowDocument).where(
        FlowDocument.store_id == store_id, FlowDocument.name == name,
    ).order_by(FlowDocument.version.desc()).limit(1)).scalar_one_or_none()


def history(session: Session, store_id: int, name: str,
            limit: int | None = None) -> list[FlowDocument]:
    """The versions of a built flow, newest first (the newest `limit` of them)."""
    return list(session.execute(select(FlowDocument).where(
        FlowDocument.store_id == store_id, FlowDocument.name == name,
    ).order_by(FlowDocument.version.desc()).limit(limit)).scalars())


def built(session: Session, store_id: int) -> list[Flow]:
    """The store's built flows, each at its newest version, by name; their versions are read
    once per batch where the session shares one (app.core.memo: every delivery asks)."""
    versions = memo.remembered(session, ("built_flows", store_id), lambda: session.execute(
        select(FlowDocument.name, func.max(FlowDocument.version)).where(
            FlowDocument.store_id == store_id).group_by(FlowDocument.name)
        .order_by(FlowDocument.name)).all())
    return [compiled(session, store_id, name, version) for name, version in versions]


def compiled(session: Session, store_id: int, name: str, version: int) -> Flow:
    """One version of a built flow, as the engine runs it."""
    key = (store_id, name, version)
    flow = _COMPILED.get(key)
    if flow is None:
        document = session.execute(select(FlowDocument.document).where(
            FlowDocument.store_id == store_id, FlowDocument.name == name,
            FlowDocument.version == version)).scalar_one()
        if len(_COMPILED) >= CACHE_SIZE:
            _COMPILED.clear()
        flow = _COMPILED[key] = compile_flow(document, version)
    return flow


def forget() -> None:
    """Drop the compiled versions (the tests empty the tables and restart ids between tests:
    the one way a (store, name, version) can come to name another document)."""
    _COMPILED.clear()


def flows_for(session: Session, store_id: int) -> list[Flow]:
    """Every flow of the store: the prebuilt ones, then the built ones."""
    return [*catalog.FLOWS.values(), *built(session, store_id)]


def sends(session: Session, store_id: int) -> list[tuple[Flow, Send]]:
    """Every email the store's flows send: (flow, send step), prebuilt flows first."""
    return [(flow, planned.step) for flow in flows_for(session, store_id)
            for planned in flow.planned if isinstance(planned.step, Send)]


def find(session: Session, store_id: int, name: str) -> Flow | None:
    """The store's flow of this name (a built one at its newest version), or None."""
    if name in catalog.FLOWS:
        return catalog.FLOWS[name]
    latest = newest(session, store_id, name)
    return None if latest is None else compiled(session, store_id, name, latest.version)


def definition(session: Session, run) -> Flow:
    """The flow definition a run started with."""
    if run.flow in catalog.FLOWS:
        return catalog.definition(run)
    return compiled(session, run.store_id, run.flow, run.version)


def priorities(session: Session, store_id: int) -> Callable[[str | None], int]:
    """A flow's rank for the frequency cap, by name, among this store's flows; transactional
    flows never compete (-1)."""
    @functools.cache
    def built_ranks() -> dict[str, int]:  # read once, and only when a built flow is asked about
        return {flow.name: flow.priority if flow.marketing else -1
                for flow in built(session, store_id)}

    def priority_of(name: str | None) -> int:
        if name is None or name in catalog.FLOWS:
            return catalog.priority_of(name)
        return built_ranks().get(name, catalog.priority_of(name))
    return priority_of
