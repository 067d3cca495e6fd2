"""Flow engine: 100,000 abandoned-checkout runs falling due at once. Measures the tick (runs
claimed and queued per second), worker processes stepping them (steps per second) and, once the
backlog is gone, how late steps run (due_at to the step's commit) with the tick on its schedule.
The same backlog of a built flow (BUILT: the checkout reminder as a flow document, issue 17)
steps on the same engine. Baseline: RQ queueing and running a no-op job, in the same run.

Targets (issue 12): p99 lateness under 5 s once the tick is caught up; (issue 17) a built flow
steps as fast as a prebuilt one; (issue 20) 100 steps per second per worker, and one tick
starting any backlog.
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time
from datetime import timedelta

from rq import Queue
from sqlalchemy import text

from app.core import clock
from app.core.db import db
from app.jobs import broker
from app.jobs.schedule import TICK_SECONDS
from bench.harness import load_note, production_env, record, services
from flows import choices, document, engine, library
from tests.faults.workers import start_worker
from tests.flow_helpers import enable
from tests.helpers import work
from tests.seed import due_checkout_runs
from tests.smtp import SmtpSink

# Each step's real commit time: the engine runs a step "as of" its tick, so its own timestamps
# cannot show lateness. Bench database only.
STEP_TIMES = """
CREATE TABLE bench_step_times (run_id bigint, due_at timestamptz, ran_at timestamptz);
CREATE FUNCTION bench_step_time() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO bench_step_times VALUES (OLD.id, OLD.due_at, clock_timestamp()); RETURN NEW; END $$;
CREATE TRIGGER bench_step_time AFTER UPDATE ON flow_runs FOR EACH ROW
  WHEN (OLD.step IS DISTINCT FROM NEW.step) EXECUTE FUNCTION bench_step_time();
"""


def noop() -> None:
    """The baseline job: nothing at all."""


def baseline(jobs: int) -> dict[str, float]:
    """RQ alone: queue `jobs` no-op jobs in one call, then run them in one in-process worker."""
    queue = broker.queue("flows")
    prepared = [Queue.prepare_data(noop, result_ttl=0) for _ in range(jobs)]
    started = time.perf_counter()
    queue.enqueue_many(prepared)
    queued = time.perf_counter() - started
    started = time.perf_counter()
    work("flows", logging_level="WARNING")  # as quiet as the measured workers (LOG_LEVEL)
    return {"enqueue_per_s": jobs / queued, "run_per_s": jobs / (time.perf_counter() - started)}


# The first abandoned-checkout email as a merchant would build it (docs/flow-format.md).
BUILT = {
    "format": 1, "name": "built_checkout_reminder", "title": "Checkout reminder (built)",
    "consent": "marketing", "trigger": {"event": "checkout_updated"},
    "steps": [
        {"id": "wait_1", "wait": {"hours": 1}},
        {"id": "reminder", "send": {
            "subject": "{{ first_name }}, you left something behind",
            "body": "Your cart is saved. Complete your order whenever you are ready.",
            "button": {"text": "Return to your cart", "url": "{{ shop_url }}"}}},
    ],
}


def built_flow(store_id: int):
    """BUILT stored for the store and switched on; its Flow."""
    with db.session() as session:
        saved = library.save(session, store_id, document.check(BUILT), actor="bench")
        flow = library.compiled(session, store_id, saved.name, saved.version)
        choices.save(session, store_id, flow, actor="bench", enabled=True)
    return flow


def sql(statement: str, **params) -> list:
    with db.session() as session:
        result = session.execute(text(statement), params)
        return result.all() if result.returns_rows else []


def stepped() -> int:
    return sql("SELECT count(*) FROM flow_runs WHERE step > 0")[0][0]


def workers(env: dict, count: int) -> list:
    return [start_worker(env) for _ in range(count)]


def stop(processes: list) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=60)


def backlog(store, env: dict, runs: int, worker_count: int, window: float,
            flow=None, first: int = 1) -> dict[str, float]:
    """Tick through `runs` due runs (of `flow`, abandoned checkout unless told), then let
    workers step them for `window` seconds."""
    sql("UPDATE flow_runs SET status = 'completed', due_at = NULL WHERE status = 'active'")
    broker.connection.flushdb()
    due_checkout_runs(store.id, store.domain, runs, clock.now() - timedelta(minutes=1),
                      first=first, **({"flow": flow} if flow else {}))
    sql("ANALYZE flow_runs")
    before = stepped()
    started = time.perf_counter()
    first = engine.tick()
    first_s = time.perf_counter() - started
    again = engine.tick()  # the same rows, their jobs still queued: queues nothing new
    running = workers(env, worker_count)
    started = time.perf_counter()
    time.sleep(window)
    done = stepped() - before
    elapsed = time.perf_counter() - started
    stop(running)
    return {"tick_queued": first, "tick_s": first_s, "tick_per_s": first / first_s,
            "second_tick_queued": again, "steps": done, "steps_per_s": done / elapsed}


def steady(store, env: dict, worker_count: int, tick_seconds: float, rate: float,
           duration: float, first: int, lookahead: bool = False) -> dict[str, float]:
    """Runs falling due at `rate` per second for `duration` seconds, the tick every
    `tick_seconds` (looking one interval ahead, as the scheduler's live tick does, when
    `lookahead`): how late is each step?"""
    sql("UPDATE flow_runs SET status = 'completed', due_at = NULL WHERE status = 'active'")
    broker.connection.flushdb()  # the backlog's leftovers: caught up, nothing owed
    sql("TRUNCATE bench_step_times")
    count = int(rate * duration)
    due_checkout_runs(store.id, store.domain, count, clock.now() + timedelta(seconds=5),
                      spread=timedelta(seconds=duration), first=first)
    running = workers(env, worker_count)
    stopping = threading.Event()

    def ticker() -> None:
        ahead = timedelta(seconds=tick_seconds) if lookahead else timedelta(0)
        while True:
            engine.tick(lookahead=ahead)
            if stopping.wait(tick_seconds):
                return
    thread = threading.Thread(target=ticker, daemon=True)
    thread.start()
    deadline = time.monotonic() + duration + 5 + tick_seconds + 120
    while (sql("SELECT count(DISTINCT run_id) FROM bench_step_times")[0][0] < count
           and time.monotonic() < deadline):
        time.sleep(1)
    stopping.set()
    stop(running)
    # A step can write its row more than once before committing: the last write is the step's end.
    late = sorted(row[0] for row in sql(
        "SELECT extract(epoch FROM max(ran_at) - min(due_at)) FROM bench_step_times GROUP BY run_id"))
    return {"runs": count, "stepped": len(late), "p50_s": statistics.median(late),
            "p99_s": late[int(len(late) * 0.99) - 1], "max_s": late[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--window", type=float, default=60, help="seconds of stepping measured")
    parser.add_argument("--rate", type=float, default=10, help="steady runs falling due per s")
    parser.add_argument("--duration", type=float, default=90, help="seconds of steady arrivals")
    parser.add_argument("--lateness-only", action="store_true", help="skip the 100k backlog")
    args = parser.parse_args()
    note = load_note()
    config, store = services()
    sink = SmtpSink()
    sink.start()
    env = {**production_env(config), "SMTP_URL": f"smtp://127.0.0.1:{sink.port}"}
    enable(store.id, "abandoned_checkout")  # quiet hours off: the bench runs at any hour
    sql(STEP_TIMES)
    cases = {f"tick every {TICK_SECONDS} s, due now only": (TICK_SECONDS, False),
             f"live tick every {TICK_SECONDS} s, one interval ahead (production)": (TICK_SECONDS, True),
             "tick every 1 s": (1, False)}
    ticks = {name: steady(store, env, args.workers, seconds, args.rate, args.duration,
                          first=n * 10**8, lookahead=ahead)
             for n, (name, (seconds, ahead)) in enumerate(cases.items(), start=1)}
    rows = [f"| {name} | {r['runs']} | {r['stepped']} | {r['p50_s']:.1f} | "
            f"{r['p99_s']:.1f} | {r['max_s']:.1f} |" for name, r in ticks.items()]
    production = ticks[f"live tick every {TICK_SECONDS} s, one interval ahead (production)"]
    lateness = [
        f"Lateness once caught up: {args.rate:g} runs falling due per s for "
        f"{args.duration:g} s, {args.workers} workers (RQ's scheduler in each), the tick called "
        "on its interval in the bench process.",
        "",
        "| tick | runs | stepped | p50 s | p99 s | max s |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"p99 lateness with the production live tick: **{production['p99_s']:.1f} s** "
        "(target < 5 s).",
    ]
    if args.lateness_only:
        sink.stop()
        record("Flow engine lateness (bench/engine.py --lateness-only)", [note, "", *lateness])
        return
    bare = baseline(20_000)
    jam = backlog(store, env, args.runs, args.workers, args.window)
    built = backlog(store, env, args.runs, args.workers, args.window,
                    flow=built_flow(store.id), first=9 * 10**8)
    sink.stop()
    record("Flow engine (bench/engine.py)", [
        note, "",
        f"{args.runs} abandoned-checkout runs due at once (customers, checkouts with a line and "
        f"runs written with SQL), {args.workers} `storeflow worker` processes, SMTP to a local "
        "aiosmtpd sink. Step = exit rules, consent, quiet hours, frequency cap, priority, the "
        "message row and its timeline entry; the mail jobs it queues wait behind the steps.",
        "",
        "| measure | figure | baseline (RQ no-op) | ratio |",
        "|---|---|---|---|",
        f"| tick: runs claimed + queued per s | {jam['tick_per_s']:.0f} ({jam['tick_queued']} in "
        f"{jam['tick_s']:.2f} s) | {bare['enqueue_per_s']:.0f} queued/s | "
        f"{jam['tick_per_s'] / bare['enqueue_per_s']:.2f} |",
        f"| steps per s, {args.workers} workers | {jam['steps_per_s']:.0f}, "
        f"**{jam['steps_per_s'] / args.workers:.0f} per worker** ({jam['steps']} in "
        f"{args.window:.0f} s) | {bare['run_per_s']:.0f} run/s per worker | "
        f"{jam['steps_per_s'] / (bare['run_per_s'] * args.workers):.3f} |",
        f"| steps per s, the same backlog of a built flow (BUILT) | {built['steps_per_s']:.0f} "
        f"({built['steps']} in {args.window:.0f} s) | {jam['steps_per_s']:.0f} (prebuilt) | "
        f"{built['steps_per_s'] / jam['steps_per_s']:.2f} |",
        "",
        f"One tick queued the whole backlog of {args.runs} runs, walking it in keyset batches "
        f"of {engine.TICK_BATCH} (one transaction each); a second tick over the same backlog "
        f"queued {jam['second_tick_queued']} runs, their step jobs still waiting on the queue.",
        "",
        *lateness,
    ])


if __name__ == "__main__":
    main()
