"""The one job policy: a job's queue, retries, timeout and id come from its declaration, and a
job queued under a path a release moved still runs."""
from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Retry

from app import jobs
from tests.helpers import work

DONE: list[int] = []


@jobs.job("sync", retry=Retry(max=2, interval=[5, 60]), timeout=timedelta(minutes=20),
          id="example-{0}-{1}", result_ttl=timedelta(0))
def example(store_id: int, page: int) -> None:
    DONE.append(page)


def test_a_job_is_queued_with_everything_its_declaration_says(app):
    job = jobs.enqueue(example, 3, 7)

    assert job.origin == "sync" and job.id == "example-3-7"
    assert (job.retries_left, job.retry_intervals) == (2, [5, 60])
    assert job.timeout == 1200 and job.result_ttl == 0 and job.failure_ttl == 7 * 86400
    assert jobs.broker.queue("sync").job_ids == ["example-3-7"]


def test_a_later_job_waits_on_the_scheduler_under_its_own_id(app):
    job = jobs.enqueue(example, 3, 8, delay=timedelta(minutes=5), job_id="example-later")

    assert job.id == "example-later" and jobs.broker.queue("sync").job_ids == []
    assert job.get_status() == "scheduled"


def test_many_jobs_go_in_one_call_each_with_its_own_id(app):
    queued = jobs.enqueue_many(example, [(3, 1), (3, 2)])

    assert [job.id for job in queued] == ["example-3-1", "example-3-2"]
    assert all(job.retries_left == 2 and job.timeout == 1200 for job in queued)


def test_an_undeclared_function_is_refused_by_name(app):
    with pytest.raises(LookupError, match="tests.test_job_policy.test_an_undeclared"):
        jobs.enqueue(test_an_undeclared_function_is_refused_by_name)
    with pytest.raises(ValueError, match="no queue 'emails'"):
        jobs.job("emails")


def test_a_job_queued_under_a_path_a_release_moved_still_runs(app, monkeypatch):
    """RQ stores a job's dotted path in Redis: a deploy that moves a job must not strand the
    jobs queued before it."""
    DONE.clear()
    monkeypatch.setitem(jobs.MOVED_JOBS, "app.old_home.example", jobs.path(example))
    jobs.broker.queue("sync").enqueue("app.old_home.example", 3, 9)

    work("sync")

    assert DONE == [9]
