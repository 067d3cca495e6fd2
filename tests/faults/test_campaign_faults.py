"""A campaign survives what a deploy and a bad day bring: workers killed with -9 mid-send, Redis
flushed, a pause while it sends, and a mail server refusing for a while. Every recipient gets it
once, counted at the loopback SMTP sink by recipient and by Message-ID."""
from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from datetime import timedelta

import pytest
import rq.scheduler
from rq.scheduler import RQScheduler
from sqlalchemy import select

from app.campaigns import sending
from app.core import clock
from app.core.db import db
from app.jobs import QUEUES, broker
from app.jobs.schedule import TICK_SECONDS
from app.mail import outbox
from app.models import Campaign, Message
from tests.campaign_helpers import campaign_to_everyone, many_subscribers, recipients, send
from tests.flow_helpers import at
from tests.helpers import work


@pytest.fixture
def campaign(shop, smtp_sink):
    """`campaign(n)`: a campaign to `n` subscribers, sent (its chunk jobs queued); its id."""
    def make(count: int) -> int:
        many_subscribers(shop.id, count)
        campaign_to_everyone(shop.id)
        return send(shop.id)
    return make


def status(campaign_id: int) -> str:
    with db.session() as session:
        return session.get(Campaign, campaign_id).status


def messages(campaign_id: int) -> list[Message]:
    with db.session() as session:
        return session.execute(select(Message).where(
            Message.flow == sending.key(campaign_id))).scalars().all()


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting {timeout:.0f} s for {what}"
        time.sleep(0.2)


def scheduler_sweeps(started_grace: timedelta = timedelta(minutes=5)) -> None:
    """What the scheduler runs at the next interval: the campaigns' and the outbox's sweeps."""
    later = clock.now() + timedelta(seconds=TICK_SECONDS)
    with at(later):
        sending.sweep_campaigns(started_grace)
        outbox.sweep_outbox(started_grace=started_grace)


def each_once(smtp_sink, campaign_id: int, lost: int = 0) -> None:
    """Nobody got it twice (by recipient and by Message-ID); everyone but the `lost` uncertain
    ones (left `unknown` by a kill mid-send, never sent again) got it; the campaign is sent."""
    by_address = Counter(mail["To"] for mail in smtp_sink.received)
    by_id = Counter(mail["Message-ID"] for mail in smtp_sink.received)
    assert max(by_address.values()) == 1 and max(by_id.values()) == 1
    written = messages(campaign_id)
    # A message a pause held back never left (its recipient got a new one on resume).
    assert {m.reason for m in written if m.status == "cancelled"} <= {sending.PAUSED}
    written = [message for message in written if message.status != "cancelled"]
    statuses = Counter(message.status for message in written)
    assert set(statuses) <= {"sent", "unknown"} and statuses["unknown"] <= lost, statuses
    sent = {message.message_id for message in written if message.status == "sent"}
    assert sent <= set(by_id) <= {message.message_id for message in written}
    assert len(written) == len(recipients()) and {r.status for r in recipients()} == {"queued"}
    assert status(campaign_id) == "sent"


def test_ten_kill_9s_during_a_5000_recipient_send_lose_none_and_double_none(
        campaign, worker_env, smtp_sink, start_worker):
    campaign_id = campaign(5000)
    rng = random.Random(20261207)
    # Each worker is killed once the sink holds a number of emails drawn in advance, and a
    # moment more: mid-batch, mid-send or between jobs (a worker's start-up time varies with
    # the machine's load, so a fixed lifetime could end before its first email).
    for target in sorted(rng.sample(range(20, 2500), 10)):
        worker = start_worker(worker_env)
        wait_until(lambda: len(smtp_sink.received) >= target, 120, f"{target} emails")
        time.sleep(rng.uniform(0, 0.3))
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    assert 0 < len(smtp_sink.received) < 5000

    # The scheduler's upkeep: rows a dead worker left `sending` become `unknown`, and chunks and
    # mail whose jobs died with a worker are queued again, from the database.
    with clock.frozen_at(clock.now() + outbox.STALE_SENDING + timedelta(seconds=1)):
        outbox.reap_stale_sending()
    scheduler_sweeps(started_grace=timedelta(0))
    finishing = [start_worker(worker_env, "--burst") for _ in range(2)]
    for worker in finishing:
        worker.wait(timeout=600)
    # Each kill leaves at most two `unknown`: the email being sent, and the one sent before it
    # whose `sent` was still to be written with the next claim (app.mail.outbox._JobState).
    each_once(smtp_sink, campaign_id, lost=20)


def test_a_redis_flushed_mid_send_resumes_from_the_database(campaign, worker_env, smtp_sink,
                                                            start_worker):
    campaign_id = campaign(400)
    start_worker(worker_env)
    wait_until(lambda: len(smtp_sink.received) >= 100, 120, "the first 100 emails")
    broker.connection.flushdb()  # every chunk and mail job still waiting is gone
    arrived = len(smtp_sink.received)
    time.sleep(2)
    assert len(smtp_sink.received) - arrived <= outbox.BATCH  # at most the batch under way

    scheduler_sweeps()
    wait_until(lambda: status(campaign_id) == "sent", 300, "the campaign to be sent")
    each_once(smtp_sink, campaign_id)
    assert len(smtp_sink.received) == 400


def test_nothing_arrives_after_a_pause_returns_and_resume_sends_the_rest_once(
        shop, campaign, storeflow, worker_env, smtp_sink, start_worker, monkeypatch):
    # The command's start-up configures the transport from the environment: the same sink.
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")
    campaign_id = campaign(500)
    start_worker(worker_env)
    wait_until(lambda: len(smtp_sink.received) >= 100, 120, "the first 100 emails")

    storeflow("campaigns", "pause", "--store", shop.domain, "Spring teas")
    arrived = len(smtp_sink.received)
    time.sleep(3)  # the worker goes on taking the campaign's mail jobs
    assert len(smtp_sink.received) == arrived < 500
    assert status(campaign_id) == "paused"

    storeflow("campaigns", "resume", "--store", shop.domain, "Spring teas")
    wait_until(lambda: status(campaign_id) == "sent", 300, "the campaign to be sent")
    each_once(smtp_sink, campaign_id)
    assert len(smtp_sink.received) == 500


def retries_due_after(seconds: float, monkeypatch) -> None:
    """RQ's scheduler run with its clock `seconds` on: the retries due by then are queued."""
    now = rq.scheduler.current_timestamp()
    monkeypatch.setattr(rq.scheduler, "current_timestamp", lambda: now + seconds)
    scheduler = RQScheduler(QUEUES, connection=broker.connection)
    scheduler.prepare_registries(QUEUES)
    scheduler.enqueue_scheduled_jobs()
    monkeypatch.undo()


@pytest.mark.parametrize("reply", ["421 4.3.2 Service not available, closing channel",
                                   "451 4.3.0 Try again later"])
def test_a_mail_server_refusing_for_a_minute_is_retried_and_nothing_is_lost_or_doubled(
        campaign, smtp_sink, reply, monkeypatch):
    """RQ retries a mail job after 30 s, then 120 s: the minute of refusals spans the first
    retry, and RQ's scheduler is run with its clock moved on rather than waited for."""
    campaign_id = campaign(40)
    smtp_sink.refusing = reply
    work()  # the chunk, then every delivery refused: each job waits for its retry
    assert smtp_sink.received == [] and {m.status for m in messages(campaign_id)} == {"queued"}
    retries_due_after(31, monkeypatch)
    work()  # thirty seconds into the minute: refused again
    assert smtp_sink.received == [] and status(campaign_id) == "sending"

    smtp_sink.refusing = None  # the minute is over
    retries_due_after(31 + 121, monkeypatch)
    work()
    each_once(smtp_sink, campaign_id)
    assert len(smtp_sink.received) == 40
