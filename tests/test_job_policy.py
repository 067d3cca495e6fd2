"""The one job policy: a job's queue, retries, timeout and id come from the table in
app.jobs.policies, and a job queued under a path a release moved still runs."""
from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from rq import Retry

from app import jobs
from app.jobs import Policy, policies as job_policies
from app.sync import backfill
from tests.helpers import work

ROOT = Path(__file__).resolve().parents[1]
DONE: list[int] = []


def example(store_id: int, page: int) -> None:
    DONE.append(page)


@pytest.fixture
def declared(app, monkeypatch):
    monkeypatch.setitem(jobs.POLICIES, jobs.path(example), Policy(
        "sync", "Example", retry=Retry(max=2, interval=[5, 60]), timeout=timedelta(minutes=20),
        id="example-{0}-{1}", result_ttl=timedelta(0)))


def test_a_job_is_queued_with_everything_its_policy_says(declared):
    job = jobs.enqueue(example, 3, 7)

    assert job.origin == "sync" and job.id == "example-3-7"
    assert (job.retries_left, job.retry_intervals) == (2, [5, 60])
    assert job.timeout == 1200 and job.result_ttl == 0 and job.failure_ttl == 7 * 86400
    assert jobs.broker.queue("sync").job_ids == ["example-3-7"]


def test_a_follow_up_waits_on_the_scheduler_beside_the_job_that_queued_it(declared):
    job = jobs.follow_up(example, timedelta(minutes=5), 3, 8)

    assert job.id == "example-3-8-later" and jobs.broker.queue("sync").job_ids == []
    assert job.get_status() == "scheduled" and job.retries_left == 2


def test_many_jobs_go_in_one_call_each_with_its_own_id(declared):
    queued = jobs.enqueue_many(example, [(3, 1), (3, 2)])

    assert [job.id for job in queued] == ["example-3-1", "example-3-2"]
    assert all(job.retries_left == 2 and job.timeout == 1200 for job in queued)


def test_an_undeclared_function_or_queue_is_refused_by_name(app):
    with pytest.raises(LookupError, match="tests.test_job_policy.example is not a declared job"):
        jobs.enqueue(example, 1, 2)
    with pytest.raises(ValueError, match="no queue 'emails'"):
        Policy("emails", "Email")


def test_every_function_queued_anywhere_is_in_the_table(app):
    """A job queued without a policy would fail at its first enqueue, in production: find every
    `jobs.enqueue(f, ...)`, `follow_up`, `enqueue_many`, write-back and cron entry in the code."""
    queued = set()
    sources = [*ROOT.glob("app/**/*.py"), *ROOT.glob("flows/**/*.py")]
    for source in (path for path in sources if path != ROOT / "app" / "jobs" / "__init__.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in {"enqueue", "follow_up", "enqueue_many", "after_commit"}
                    and node.args):
                target = node.args[1] if node.func.attr == "after_commit" else node.args[0]
                queued.add(ast.unparse(target).rpartition(".")[2])
    from app.jobs.schedule import PERIODIC

    declared = {name.rpartition(".")[2] for name in jobs.POLICIES}
    assert queued - {"job", "func"} <= declared  # `job`/`func`: the generic helpers' parameters
    assert {job.__name__ for job, _ in PERIODIC} <= declared
    assert {"ingest", "advance", "deliver_several", "summarize", "consent", "tag"} <= queued


def test_a_job_queued_under_a_path_a_release_moved_still_runs(app, monkeypatch):
    """RQ stores a job's dotted path in Redis: a deploy that moves a job must not strand the
    jobs queued before it."""
    DONE.clear()
    monkeypatch.setitem(jobs.MOVED_JOBS, "app.old_home.example", jobs.path(example))
    jobs.broker.queue("sync").enqueue("app.old_home.example", 3, 9)

    work("sync")

    assert DONE == [9]


def test_the_last_release_s_sync_jobs_run_under_their_new_paths(app):
    """Each moved path names a job that exists, with its policy, under the new one."""
    for old, new in job_policies.MOVED.items():
        job = jobs.MovableJob.create(old, args=(1, "orders") if "backfill" in old else (1,),
                                     connection=jobs.broker.connection)
        assert jobs.path(job.func) == new
        assert jobs.policy_of(old) is not None or new == jobs.path(backfill.start)
