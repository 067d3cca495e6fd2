"""Workers die on every deploy: kill -9 at random moments and SIGTERM mid-batch lose no message
and send none twice. Real worker processes, real PostgreSQL, Redis and a loopback SMTP server."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app import clock
from app.db import db
from app.mail import outbox
from app.models import Checkout, Message
from tests.helpers import published

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def queued(shop, webhooks, run_jobs):
    """Queue `n` messages (one per run) about a published Shopify checkout."""
    webhooks.deliver("checkouts/create", published("shopify/checkouts_create.json"))
    run_jobs()

    def queue(n: int) -> list[int]:
        with db.session() as session:
            checkout = session.execute(select(Checkout)).scalar_one()
            ids = [outbox.queue_message(
                session, store_id=shop.id, email=f"shopper{run}@example.com", marketing=False,
                template="abandoned_checkout/email_1", context={"checkout_id": checkout.id},
                flow="abandoned_checkout", run_id=run, step="email_1") for run in range(n)]
        for message_id in ids:
            outbox.enqueue_delivery(message_id)
        return ids
    return queue


@pytest.fixture
def worker_env(cli_env, smtp_sink):
    return {**os.environ, **cli_env, "SMTP_URL": f"smtp://127.0.0.1:{smtp_sink.port}",
            "LOG_LEVEL": "WARNING"}


def start_worker(env, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker", *args], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def statuses() -> Counter:
    with db.session() as session:
        return Counter(session.execute(select(Message.status)).scalars())


def test_kill_9_at_random_moments_loses_nothing_and_sends_nothing_twice(queued, worker_env,
                                                                        smtp_sink):
    ids = queued(1000)
    rng = random.Random(20261122)
    for _ in range(20):
        worker = start_worker(worker_env)
        time.sleep(rng.uniform(1.0, 2.0))
        os.killpg(worker.pid, signal.SIGKILL)  # mid-job, without a chance to clean up
        worker.wait()

    # What the scheduler does on its own: rows a dead worker left `sending` become `unknown`,
    # and messages whose job died with a worker are queued again.
    with clock.frozen_at(clock.now() + outbox.STALE_SENDING + timedelta(seconds=1)):
        outbox.reap_stale_sending()
    outbox.sweep_outbox(older_than_seconds=0, started_grace=timedelta(0))
    subprocess.run([sys.executable, "-m", "app.cli", "worker", "--burst"], cwd=ROOT,
                   env=worker_env, check=True, capture_output=True, timeout=300)

    counts = statuses()
    assert sum(counts.values()) == len(ids)
    with db.session() as session:
        left = session.execute(select(Message.status, Message.reason)
                               .where(Message.status.not_in(["sent", "failed", "unknown"]))).all()
    assert left == []
    delivered = Counter(mail["Message-ID"] for mail in smtp_sink.received)
    assert max(delivered.values()) == 1  # none twice
    with db.session() as session:
        rows = session.execute(select(Message.message_id, Message.status)).all()
    sent = {message_id for message_id, status in rows if status == "sent"}
    unknown = {message_id for message_id, status in rows if status == "unknown"}
    assert sent <= set(delivered)             # every `sent` arrived
    assert set(delivered) - sent <= unknown   # anything else that arrived is marked unknown
    assert counts["sent"] >= 950              # only the kill windows are uncertain


def test_sigterm_mid_batch_finishes_the_current_message_and_exits(queued, worker_env, smtp_sink):
    queued(300)
    worker = start_worker(worker_env)
    deadline = time.monotonic() + 60
    while len(smtp_sink.received) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)

    worker.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    worker.wait(timeout=25)

    assert time.monotonic() - stopped < 25
    counts = statuses()
    assert counts["sending"] == 0 and counts["unknown"] == 0, counts
    assert counts["sent"] == len(smtp_sink.received) > 0
