"""What the flows ask of the rest of Storeflow, in one place: the port.

The engine decides; everything that leaves it goes through a `Port`: a message to write to the
outbox and deliver, queued messages to cancel, a discount code the store's platform makes, a tag
written back to the store, a job to enqueue (its queue, retries and id declared by app). app binds its services once at start-up
(app.wiring); a dry run hands the engine a recording port instead (flows.dryrun), so nothing it
replays is written to the outbox, sent, or asked of a platform.

flows still reads and writes its own rows (runs, timeline) and reads the local model directly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rq import Queue
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Port:
    # Write one queued message; its id, or None if this (run, step) already has one.
    queue_message: Callable[..., int | None]
    # Cancel what a run queued that has not left yet: (session, store_id, run_id, reason).
    cancel_messages: Callable[[Session, int, int, str], None]
    # Hand committed messages to delivery (their mail jobs, queued in one round trip).
    deliver: Callable[[list[int]], None]
    # Ask the store's platform for this code: (store, customer, code=, percent=, valid_for=) ->
    # (code, None), or (None, why not). Never called while a run's row is locked.
    create_code: Callable[..., "tuple[str | None, str | None]"]
    # Write a tag back to the store once the session commits: (session, store_id, customer_id, tag).
    tag_customer: Callable[[Session, int, int, str], None]
    # POST this JSON body, signed with the store's secret, to the https address once the session
    # commits: (session, store_id, url, payload).
    post_webhook: Callable[[Session, int, str, dict], None]
    # Queue a job by its declared policy (app.jobs.policies): (func, *args, at=, job_id=).
    enqueue: Callable[..., object]
    # Queue one job per argument tuple in one round trip: (func, [args, ...]).
    enqueue_many: Callable[..., object]
    # Do the work of up to `limit` jobs of `func` waiting at its queue's head whose arguments
    # after the first are `rest`, one at a time, `each(*args)`: (func, rest, limit, each).
    work_taken: Callable[..., None]
    # The RQ queue of this name, to read what waits on it; its `connection` is Storeflow's Redis.
    queue: Callable[[str], Queue]


_bound: Port | None = None


def bind(port: Port) -> None:
    """Bind the port the live engine uses (app.wiring, at start-up)."""
    global _bound
    _bound = port


def bound() -> Port:
    """The port bound at start-up."""
    if _bound is None:
        raise RuntimeError("the flows' port is not bound; call app.bootstrap first")
    return _bound

