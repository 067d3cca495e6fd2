"""Which commits wait for the disk (app.core.durability): an ingested delivery and a flow step
commit without waiting, every other transaction waits, and so does a delivery or step that
tells the platform or a merchant's receiver of itself as it commits (a tag written back, a
webhook, a discount code asked for). PostgreSQL's own `synchronous_commit` is read at each
commit, through signed webhooks, a real worker and the Shopify stub."""
from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.core.db import db
from app.sync import writeback
from flows import engine
from tests.flow_helpers import HOUR, SAMPLE_TIME, enable, messages, move_to
from tests.test_flow_abandoned_checkout import abandon
from tests.test_flow_built import john_buys, tags
from tests.test_flow_built_steps import built, hook_flow, receiver, switch_on  # noqa: F401

ASKED = "asked the platform for a code"


class Commits(list):
    """(read LAZY_COMMIT, what it told the outside of as it committed, synchronous_commit at
    its commit) for each transaction committed; ASKED where a code was asked for."""

    def lazy(self, told: tuple = ()) -> list[str]:
        return [setting for lazy, tells, setting in self if lazy and tells == told]


@pytest.fixture
def commits(monkeypatch):
    seen = Commits()
    after_commit, ask_for_code = writeback.after_commit, engine.ask_for_code

    def executing(connection, _cursor, statement, parameters, *_):
        if "set_config" in statement and "off" in dict(parameters or {}).values():
            connection.info["test.lazy"] = connection.get_transaction()

    def telling(session, job, *args):
        session.info.setdefault("test.tells", []).append(job.__name__)
        after_commit(session, job, *args)

    def asking(*args):
        seen.append((None, ASKED, None))
        return ask_for_code(*args)

    def committing(session):
        connection = session.connection()
        setting = connection.exec_driver_sql("SHOW synchronous_commit").scalar_one()
        lazy = connection.info.pop("test.lazy", None)
        seen.append((lazy is not None and lazy is connection.get_transaction(),
                     tuple(session.info.pop("test.tells", ())), setting))

    monkeypatch.setattr(writeback, "after_commit", telling)
    monkeypatch.setattr(engine, "ask_for_code", asking)
    event.listen(db.engine, "before_cursor_execute", executing)
    event.listen(Session, "before_commit", committing)
    yield seen
    event.remove(Session, "before_commit", committing)
    event.remove(db.engine, "before_cursor_execute", executing)


def test_deliveries_and_steps_commit_without_waiting_and_a_code_request_waits(
        shop, webhooks, run_jobs, smtp_sink, commits):
    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs)  # two deliveries, the run enrolled
    for hours in (1, 24, 72):  # email 1, email 2, then the code asked for and email 3
        move_to(SAMPLE_TIME + hours * HOUR, run_jobs)

    assert [m.status for m in messages()] == ["sent"] * 3
    assert messages()[2].context["discount_code"].startswith("SF-")
    # The step that stored the code request waited for the disk, before the platform was
    # asked...
    [asked] = [n for n, (_, told, _) in enumerate(commits) if told == ASKED]
    request = max(n for n, (read, _, _) in enumerate(commits[:asked]) if read)
    assert commits[request] == (True, (), "on")
    # ...the two deliveries and the three emails' steps did not...
    lazy = [setting for n, (read, told, setting) in enumerate(commits)
            if read and told == () and n != request]
    assert len(lazy) >= 5 and set(lazy) == {"off"}
    # ...and every other transaction did: the outbox's `sending` before each email left.
    assert {setting for read, _, setting in commits if read is False} == {"on"}


def test_a_step_that_tags_the_customer_commits_waiting_for_the_disk(
        shop, webhooks, run_jobs, smtp_sink, shopify, commits):
    switch_on(shop, built("first_week", "order_placed", {"id": "give", "tag": {"add": "vip"}}))
    john_buys(webhooks, run_jobs)

    assert "vip" in tags()
    assert commits.lazy(("tag",)) == ["on"]
    assert set(commits.lazy()) == {"off"}  # the deliveries that told nobody


def test_a_step_the_tick_runs_that_tags_the_customer_commits_waiting_for_the_disk(
        shop, webhooks, run_jobs, smtp_sink, shopify, commits):
    """The tag an hour after the order: written by the step job, not by the delivery."""
    switch_on(shop, built("vip_later", "order_placed", {"id": "hour", "wait": {"hours": 1}},
                          {"id": "give", "tag": {"add": "vip"}}))
    john_buys(webhooks, run_jobs)
    assert "vip" not in tags()
    commits.clear()

    move_to(SAMPLE_TIME + 2 * HOUR, run_jobs)

    assert "vip" in tags()
    assert commits.lazy(("tag",)) == ["on"]


def test_a_step_that_calls_a_webhook_commits_waiting_for_the_disk(
        shop, webhooks, run_jobs, receiver, commits):  # noqa: F811 - the fixture imported
    switch_on(shop, hook_flow("crm_hook", receiver.url))
    john_buys(webhooks, run_jobs)

    assert len(receiver.received) == 1
    assert commits.lazy(("post",)) == ["on"]
