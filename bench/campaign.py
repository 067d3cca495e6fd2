"""Campaigns (issue 21): a store of 100,000 subscribed customers (each with the consent history
row the ledger copies) and a segment of them all. Measured in one run:
(a) `campaigns send` (resolve) and every chunk job (`send_chunk`, in this process), the first
    chunks under cProfile;
(b) emails/s of one `storeflow worker` sending the campaign into aiosmtpd's discarding sink,
    against bench/mail.py's per-worker figure in the same run (the baseline);
(c) two workers against one; (d) the workers' peak RSS; (e) UI pages while the two send, in a
window of its own.

Targets (issue 21): (a) < 30 s; (b) within 10 % of the baseline; (c) ~2x; (d) < 250 MB;
(e) < 200 ms.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import pstats
import signal
import time

from app import create_app
from app.campaigns import campaigns, sending
from app.core.db import db
from app.models import Store
from bench import audience
from bench.harness import load_note, peak_rss_mb, production_env, record, services
from bench.mail import Sink, per_worker, sent
from bench.ui import SETTINGS, figures, signed_in, took
from tests.campaign_helpers import campaign_to_everyone, many_subscribers
from tests.faults.workers import start_worker
from tests.flow_helpers import enable
from tests.helpers import work

CUSTOMERS = 100_000
NAME = "Spring teas"
PAGES = {"overview": "/app/", "segments": "/app/segments"}
PROFILED = 10  # chunks queued under cProfile, of CHUNK recipients each


def prepare(store: Store, customers: int) -> None:
    """`customers` subscribed customers, the store's settings, the segment and the campaign."""
    many_subscribers(store.id, customers)
    audience.ddl("VACUUM ANALYZE customers, consent_changes")
    with db.session() as session:
        session.get(Store, store.id).settings = SETTINGS
    campaign_to_everyone(store.id, NAME)
    enable(store.id, "abandoned_checkout")  # the baseline's flow; quiet hours off


def queue_all(store: Store) -> dict:
    """Resolve (as `campaigns send`), then run every chunk job in this process: the first
    PROFILED under cProfile, whose top lines are returned."""
    started = time.perf_counter()
    with db.session() as session:
        resolved = campaigns.send(session, store.id, NAME, actor="bench")
        campaign_id = campaigns.named(session, store.id, NAME).id
    chunks = sending.enqueue_chunks(campaign_id)
    resolved_s = time.perf_counter() - started
    profile = cProfile.Profile()
    profile.enable()
    work("campaigns", max_jobs=PROFILED, logging_level="WARNING")
    profile.disable()
    work("campaigns", max_jobs=chunks - PROFILED, logging_level="WARNING")
    top = io.StringIO()
    pstats.Stats(profile, stream=top).sort_stats("tottime").print_stats(12)
    lines = [line for line in top.getvalue().splitlines() if line.strip()]
    return {"recipients": resolved, "chunks": chunks, "resolve_s": resolved_s,
            "total_s": time.perf_counter() - started, "campaign_id": campaign_id,
            "profile": lines[lines.index(next(l for l in lines if "ncalls" in l)) - 1:]}


def sending_for(env: dict, count: int, seconds: float, probe=None) -> dict:
    """`count` workers sending the campaign for `seconds` once the first email has left:
    emails/s, their peak RSS, and `probe`'s answers (called in a loop meanwhile)."""
    workers = [start_worker(env) for _ in range(count)]
    answers = []
    try:
        first = sent()
        while sent() == first:
            time.sleep(0.05)
        before, started = sent(), time.perf_counter()
        while time.perf_counter() - started < seconds:
            if probe:
                answers.append(probe())
            else:
                time.sleep(0.5)
        rate = (sent() - before) / (time.perf_counter() - started)
        rss = max(peak_rss_mb(worker.pid) for worker in workers)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    return {"rate": rate, "rss": rss, "answers": answers}


def ui_probe(config, store: Store):
    """A signed-in client's GET of each page in turn: (page, milliseconds)."""
    client = signed_in(create_app(config), store)
    pages = itertools.cycle(PAGES.items())

    def probe() -> tuple[str, float]:
        name, path = next(pages)
        return name, took(client, path)
    return probe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=CUSTOMERS)
    parser.add_argument("--emails", type=int, default=3000, help="for the mail baseline")
    parser.add_argument("--seconds", type=float, default=40, help="each sending window")
    args = parser.parse_args()
    note = load_note()
    config, store = services()
    prepare(store, args.customers)
    sink = Sink()
    env = {**production_env(config), "SMTP_URL": f"smtp://127.0.0.1:{sink.port}"}
    try:
        baseline = per_worker(store, env, args.emails)
        queued = queue_all(store)
        one = sending_for(env, 1, args.seconds)
        # Apart: the UI's requests take a share of the same two cores the workers use.
        two = sending_for(env, 2, args.seconds)
        browsed = sending_for(env, 2, args.seconds, ui_probe(config, store))
    finally:  # a failed run leaves no SMTP sink behind
        sink.stop()
    mail_rate = baseline["emails"] / (baseline["seconds"] - baseline["startup_s"])
    pages = {name: figures([ms for page, ms in browsed["answers"] if page == name])
             for name in PAGES}
    record("Campaigns (bench/campaign.py)", [
        note, "",
        f"A store of {args.customers:,} subscribed customers; a campaign to the segment of all "
        f"of them ({queued['recipients']:,} recipients, {queued['chunks']} chunks of "
        f"{sending.CHUNK}). Resolve as `campaigns send`; the chunk jobs run by an RQ worker in "
        "the bench process; sending by `storeflow worker` processes into aiosmtpd's discarding "
        f"sink, each window {args.seconds:.0f} s from the first email; UI pages requested "
        "through the Flask app in a third window while two workers send (the two workers' "
        "rate is measured without them).",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| resolve (`campaigns send`) | {queued['resolve_s']:.1f} s | |",
        f"| resolve + queue of every recipient | {queued['total_s']:.1f} s | < 30 s |",
        f"| mail benchmark, one worker (baseline, bench/mail.py's per_worker, "
        f"{baseline['emails']} emails) | {mail_rate:.0f} emails/s | |",
        f"| campaign, one worker | {one['rate']:.0f} emails/s ({one['rate'] / mail_rate:.2f} of "
        "the baseline) | within 10 % |",
        f"| campaign, two workers | {two['rate']:.0f} emails/s ({two['rate'] / one['rate']:.2f}x "
        "one) | ~2x |",
        f"| campaign, two workers while the UI is browsed | {browsed['rate']:.0f} emails/s | |",
        f"| peak worker RSS | {max(one['rss'], two['rss'], browsed['rss']):.0f} MB | < 250 MB |",
        *(f"| UI {name} while two workers send, median / p95 | {figure['median']:.0f} / "
          f"{figure['p95']:.0f} ms | < 200 ms |" for name, figure in pages.items()),
        "",
        f"cProfile of the first {PROFILED} chunks ({PROFILED * sending.CHUNK} recipients), "
        "by own time:",
        "", "```", *queued["profile"], "```",
    ])


if __name__ == "__main__":
    main()
