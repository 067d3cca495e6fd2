"""The sync queue: every platform's setup, backfill and reconciliation run there, beside (never
in front of) the flow tick, and a store whose API budget is spent waits there on its own."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Callable

from redis.exceptions import RedisError

from app import jobs
from app.ingest.pipeline import ingest

log = logging.getLogger(__name__)


def later(job: Callable, seconds: float, *args) -> None:
    """Queue `job(*args)` again after the wait the platform advised."""
    jobs.follow_up(job, timedelta(seconds=max(1.0, seconds)), *args)


def queue_ingest(event_ids: list[int], store_id: int) -> None:
    """Queue the ingest of new inbox rows; with Redis down they wait for the sweeper."""
    try:
        for event_id in event_ids:
            jobs.enqueue(ingest, event_id)
    except RedisError:
        log.warning("sync stored deliveries; the sweeper will queue them",
                    extra={"store_id": store_id})
