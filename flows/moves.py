"""A built flow's runs under way moved onto its newest version (`storeflow flows move-runs`):
runs finish on the version they started unless the merchant moves them. A moved run goes on
from the same step, found by its id in the new version, with the new version's settings; a run
whose next step the new version no longer has stays where it is, and the merchant is told how
many. Each move is on the customer's timeline."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import clock
from app.models import FlowRun
from flows import choices, library
from flows.timeline import record


@dataclass(frozen=True)
class Moved:
    version: int  # the newest, which the moved runs now walk
    moved: int
    stayed: int  # their next step is not in the newest version


def step_ids(steps: list) -> list[str]:
    """The ids of a built flow's steps in the order the engine walks them (flows.steps.plan):
    an if or a split, then its branches' or sides' steps in document order."""
    ids: list[str] = []
    for step in steps:
        ids.append(step["id"])
        if "if" in step:
            ids += step_ids(step["then"]) + step_ids(step.get("else", []))
        for side in step.get("split", ()):
            ids += step_ids(side["steps"])
    return ids


def move_runs(session: Session, store_id: int, name: str) -> Moved:
    """Move the built flow's active runs of older versions onto its newest one."""
    versions = {row.version: row.document for row in library.history(session, store_id, name)}
    newest = max(versions)
    flow = library.compiled(session, store_id, name, newest)
    walk = step_ids(versions[newest]["steps"])
    assert len(walk) == len(flow.planned), f"{name}: step ids out of step with the plan"
    settings = choices.effective(session, store_id, flow)[1]
    moved = stayed = 0
    now = clock.now()
    runs = session.execute(select(FlowRun).where(
        FlowRun.store_id == store_id, FlowRun.flow == name, FlowRun.status == "active",
        FlowRun.version != newest).order_by(FlowRun.id).with_for_update()).scalars()
    for run in runs:
        walked = step_ids(versions[run.version]["steps"])
        next_step = walked[run.step] if run.step < len(walked) else None
        if next_step not in walk:
            stayed += 1
            continue
        record(session, run, "moved", now, next_step,
               f"from version {run.version} to version {newest}")
        run.version, run.step = newest, walk.index(next_step)
        run.settings = settings
        moved += 1
    return Moved(newest, moved, stayed)
