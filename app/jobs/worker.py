"""The RQ worker Storeflow runs its jobs in."""
from __future__ import annotations

import sys

from rq import SimpleWorker
from rq.exceptions import StopRequested

from app.jobs import QUEUES, MovableJob, broker, failures as job_failures


class Worker(SimpleWorker):
    """RQ's SimpleWorker (jobs in this process, see `storeflow worker`) that keeps every job
    failure where the overview and doctor show it (app.jobs.failures), and whose warm shutdown
    cannot be lost.

    An idle RQ worker answers SIGTERM by raising `StopRequested` from the signal handler,
    wherever the main thread is. When that is inside a log call (RQ logs every job it has just
    taken off a queue, still "idle"), `logging` swallows the exception as a "Logging error", and
    the worker works on until the platform kills it, mid-send. Recording the request first makes
    the work loop stop at its next turn even then, after the job it had taken.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("job_class", MovableJob)  # jobs queued under a path since moved run
        super().__init__(*args, **kwargs)
        # Every failure is kept where the overview and `storeflow doctor` show it.
        self.push_exc_handler(job_failures.record)

    def handle_job_success(self, job, *args, **kwargs) -> None:
        super().handle_job_success(job, *args, **kwargs)
        job_failures.cleared(job)

    def request_stop(self, signum, frame) -> None:
        self._stop_requested = True
        super().request_stop(signum, frame)

    def run_maintenance_tasks(self) -> None:
        # The one log line of an idle worker's wait for work: a stop swallowed there would
        # otherwise wait out the next BLPOP (minutes) before the loop saw it.
        super().run_maintenance_tasks()
        if self._stop_requested:
            raise StopRequested()


# How long a thread may hold the GIL while another waits for it, in seconds (Python's default:
# 0.005). A mail job's SMTP thread needs it for each of the server's replies while the job's
# main thread renders the next email; at the default it waited up to 5 ms a reply, and sends
# ended later than the server answered (about 10 % fewer emails a second, bench/RESULTS.md).
SWITCH_INTERVAL = 0.0005


def worker(queues: tuple[str, ...] = QUEUES) -> Worker:
    """A worker serving `queues` in order (every queue by default)."""
    sys.setswitchinterval(SWITCH_INTERVAL)
    return Worker([broker.queue(name) for name in queues], connection=broker.connection)
