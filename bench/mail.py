"""Mail: render + MIME + SMTP send per worker into a local aiosmtpd sink (a process of its own),
against raw smtplib sends of a small fixed message in the same run; then end to end, N abandoned
checkouts arriving as signed webhooks through gunicorn, falling due, rendered and delivered by
worker processes, with the peak memory of the web and worker processes.

Targets (issue 12): >= 100 emails/s per worker; peak RSS < 150 MB (web), < 250 MB (worker).
"""
from __future__ import annotations

import argparse
import json
import resource
import smtplib
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from rq import Worker
from sqlalchemy import func, select, text

from app import jobs
from app.core import clock
from app.core.db import db
from app.models import Message, WebhookEvent
from bench.harness import (SECRET, SHOP, Gunicorn, load, load_note, peak_rss_mb, production_env,
                           record, services)
from connectors.shopify.webhooks import sign
from flows import engine
from tests.faults.workers import start_worker
from tests.flow_helpers import checkout_sample, consent_update, enable
from tests.helpers import work
from tests.seed import due_checkout_runs
from tests.smtp import free_port


class Sink:
    """aiosmtpd's discarding handler in its own process, so it takes no CPU from the sender's."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
             "-c", "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                smtplib.SMTP("127.0.0.1", self.port, timeout=1).quit()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the SMTP sink did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def raw_smtp(port: int, count: int) -> float:
    """The baseline: one smtplib connection sending a small fixed message `count` times."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "hi"
    message.set_content("A small fixed message.")
    with smtplib.SMTP("127.0.0.1", port) as connection:
        started = time.perf_counter()
        for _ in range(count):
            connection.send_message(message)
        return count / (time.perf_counter() - started)


def sent() -> int:
    with db.session() as session:
        return session.execute(select(func.count()).where(Message.status == "sent")).scalar_one()


def unprocessed() -> int:
    with db.session() as session:
        return session.execute(select(func.count()).where(
            WebhookEvent.processed_at.is_(None))).scalar_one()


def retried() -> int:
    """Deliveries ingested after a first attempt failed (a batch handed them to their own job)."""
    with db.session() as session:
        return session.execute(select(func.count()).where(WebhookEvent.attempts > 1)).scalar_one()


def burst(env: dict) -> tuple[float, float]:
    """Seconds for one `storeflow worker --burst` to drain what is queued, and the CPU seconds
    the worker used (user + system): other helpers' load moves the first far more."""
    started, cpu = time.perf_counter(), _children_cpu()
    start_worker(env, "--burst").wait(timeout=3600)
    return time.perf_counter() - started, _children_cpu() - cpu


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def per_worker(store, env: dict, count: int) -> dict[str, float]:
    """`count` abandoned-checkout emails written by their steps, then sent by one worker."""
    startup, startup_cpu = burst(env)  # nothing is queued yet: a worker's start and stop alone
    due = clock.now()
    due_checkout_runs(store.id, store.domain, count, due)
    engine.tick(due)
    work("flows", logging_level="WARNING")  # the steps write the messages and queue their mail
    # The statistics autovacuum gathers within a minute of such a load: without them PostgreSQL
    # takes the tables just filled for nearly empty and scans a store's rows for each email.
    with db.autocommit() as connection:
        connection.execute(text("ANALYZE"))
    before = sent()
    elapsed, cpu = burst(env)
    return {"emails": sent() - before, "seconds": elapsed, "startup_s": startup,
            "cpu_ms": 1000 * (cpu - startup_cpu) / max(sent() - before, 1)}


def webhook(topic: str, payload: dict) -> tuple[str, bytes, dict]:
    body = json.dumps(payload).encode()
    return "/webhooks/shopify", body, {
        "Content-Type": "application/json", "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": SHOP, "X-Shopify-Hmac-Sha256": sign(SECRET, body),
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
    }


def shopper(n: int, updated) -> list[tuple[str, dict]]:
    """A subscribed shopper's consent and abandoned checkout, as Shopify sends them."""
    customer, email = 7_000_000 + n, f"checkout{n}@example.com"
    consent = consent_update(customer, email, updated=updated)
    checkout = checkout_sample(updated, token=f"e2e-{n}", email=email)
    # The checkout carries the customer's consent too, so two workers ingesting the pair in
    # either order enroll the shopper.
    checkout["customer"] = {**checkout["customer"], "id": customer, "email": email,
                            "email_marketing_consent": consent["email_marketing_consent"]}
    return [("customers_email_marketing_consent/update", consent), ("checkouts/update", checkout)]


# How often a phase's end is looked for: a phase is seen ending up to this much late. At half a
# second each polled end was a quarter of a second late on average, and the total has two (the
# ingest's end delays the tick): half a second of a 15 s target. A look costs one count.
POLL_SECONDS = 0.1


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting {timeout:.0f} s for {what}")
        time.sleep(POLL_SECONDS)


def end_to_end(env: dict, count: int, worker_count: int) -> dict[str, float]:
    """`count` shoppers through the whole path; wall time of each phase and peak memory."""
    abandoned = clock.now() - timedelta(minutes=5)
    requests = [r for n in range(count) for r in shopper(n, abandoned)]
    web = Gunicorn("app:create_app()", free_port(), env)
    workers = [start_worker(env) for _ in range(worker_count)]
    try:
        # Workers in production run before the first webhook arrives: the clock starts once
        # they are registered with RQ, not while their start-up (about 2 s of CPU each) takes
        # the cores the web and the first deliveries need.
        wait_for(lambda: Worker.count(connection=jobs.broker.connection) >= worker_count, 120,
                 "the workers to start")
        before = sent()
        started = time.perf_counter()
        answers = load(web.port, lambda i: webhook(*requests[i]), len(requests), 8)
        received = time.perf_counter() - started
        wait_for(lambda: unprocessed() == 0, 600, "ingest")
        ingested = time.perf_counter() - started
        again = retried()
        engine.tick(clock.now() + timedelta(hours=1, minutes=1))  # `storeflow tick --at` an hour on
        wait_for(lambda: sent() - before >= count, 900, "delivery")
        delivered = time.perf_counter() - started
        rss_web = max(peak_rss_mb(int(pid)) for pid in Path(
            f"/proc/{web.process.pid}/task/{web.process.pid}/children").read_text().split())
        rss_worker = max(peak_rss_mb(worker.pid) for worker in workers)
    finally:  # a run that failed leaves no server or worker behind
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
        web.stop()
    return {"emails": sent() - before, "receive_s": received, "ingest_s": ingested,
            "total_s": delivered, "answers": answers["statuses"], "retried": again,
            "rss_web": rss_web, "rss_worker": rss_worker}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=3000, help="for the per-worker figure")
    parser.add_argument("--checkouts", type=int, default=1000, help="end to end (0: skip it)")
    parser.add_argument("--workers", type=int, default=2, help="end to end")
    args = parser.parse_args()
    note = load_note()
    config, store = services()
    sink = Sink()
    env = {**production_env(config), "SMTP_URL": f"smtp://127.0.0.1:{sink.port}"}
    enable(store.id, "abandoned_checkout")  # quiet hours off: the bench runs at any hour
    raw = raw_smtp(sink.port, 3000)
    one = per_worker(store, env, args.emails)
    rate = one["emails"] / (one["seconds"] - one["startup_s"])
    # Recorded before the end-to-end run, which a loaded machine can time out.
    record("Mail (bench/mail.py)", [
        note, "",
        "SMTP to aiosmtpd's discarding sink in its own process on loopback (no TLS, no auth). "
        "A Storeflow email: the abandoned-checkout email 1 rendered from its template (HTML, "
        "inlined CSS, text part, tracked links, List-Unsubscribe), exit rules re-checked under "
        "the message's lock, status written before and after the send.",
        "",
        "| sender | emails/s | ratio |",
        "|---|---|---|",
        f"| raw smtplib, small fixed message, one connection (baseline) | {raw:.0f} | 1 |",
        f"| one `storeflow worker --burst`, {one['emails']} emails ({one['seconds']:.1f} s, of "
        f"which {one['startup_s']:.1f} s start-up, subtracted) | {rate:.0f} | {rate / raw:.2f} |",
        "",
        f"Per worker: **{rate:.0f} emails/s** (target ≥ 100). The worker's own CPU time "
        f"(user + system, start-up subtracted): {one['cpu_ms']:.2f} ms per email, a ceiling of "
        f"{1000 / one['cpu_ms']:.0f} emails/s were it never to wait for PostgreSQL, SMTP or a "
        "core.",
    ])
    if args.checkouts:
        end_to_end_report(env, args)
    sink.stop()


def end_to_end_report(env: dict, args: argparse.Namespace) -> None:
    """Run the end-to-end path and record it with the peak memory of its processes."""
    note = load_note()
    e2e = end_to_end(env, args.checkouts, args.workers)
    record("Mail end to end (bench/mail.py)", [
        note, "",
        f"{args.checkouts} shoppers' consent + abandoned checkout as signed webhooks "
        f"({2 * args.checkouts} requests, 8 clients, answers {e2e['answers']}) to gunicorn, "
        f"{args.workers} `storeflow worker` processes (started, and registered with RQ, before the "
        "clock starts) ingesting, then one tick an hour on (as `storeflow tick --at`), steps "
        "and sends.",
        "",
        "| phase done | seconds from start |",
        "|---|---|",
        f"| webhooks answered | {e2e['receive_s']:.1f} |",
        f"| every delivery ingested (enrolled; {e2e['retried']} after a first attempt failed) "
        f"| {e2e['ingest_s']:.1f} |",
        f"| every email delivered | {e2e['total_s']:.1f} |",
        "",
        f"**{e2e['emails']} emails in {e2e['total_s']:.0f} s: "
        f"{e2e['emails'] / e2e['total_s']:.1f} emails/s** end to end (target < 15 s).",
    ])
    record("Peak memory (bench/mail.py, end-to-end run)", [
        "VmHWM of the processes of the end-to-end run above, read before they stopped.", "",
        "| process | peak RSS MB | target |",
        "|---|---|---|",
        f"| gunicorn worker serving webhooks (largest of 2) | {e2e['rss_web']:.0f} | < 150 |",
        f"| `storeflow worker` (largest of {args.workers}) | {e2e['rss_worker']:.0f} | < 250 |",
    ])


if __name__ == "__main__":
    main()
