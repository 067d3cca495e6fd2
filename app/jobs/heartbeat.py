"""Are a worker and the scheduler alive? Read from RQ's own registries, which each process
refreshes as it runs, so nothing of ours has to write a heartbeat."""
from __future__ import annotations

import time

from redis import Redis
from rq import Worker, cron_scheduler_registry

SCHEDULER_NAME = "storeflow"
# The scheduler heartbeats on every loop, at least every 30 s (the flow tick's interval).
SCHEDULER_STALE_SECONDS = 120
# An idle RQ worker heartbeats once per dequeue timeout (its TTL, 420 s, less 15 s).
WORKER_STALE_SECONDS = 600


def _state(last_seen: float | None, stale_after: float) -> str:
    if last_seen is None:
        return "missing"
    return "up" if time.time() - last_seen <= stale_after else "stale"


def worker_state(connection: Redis) -> str:
    """`up` when some worker heartbeat recently, `stale` when none has, `missing` when none
    is registered."""
    beats = [w.last_heartbeat.timestamp() for w in Worker.all(connection=connection)
             if w.last_heartbeat is not None]
    return _state(max(beats, default=None), WORKER_STALE_SECONDS)


def scheduler_state(connection: Redis) -> str:
    """The same for `storeflow scheduler` (RQ's cron scheduler registry)."""
    score = connection.zscore(cron_scheduler_registry.get_registry_key(), SCHEDULER_NAME)
    return _state(score, SCHEDULER_STALE_SECONDS)
