"""Where ingesting one delivery spends its time: the end-to-end bench's shoppers (a consent update
and an abandoned checkout each) stored in the inbox, then drained in this process against
embedded PostgreSQL and Redis: once measured (wall time, this process's CPU, the PostgreSQL
backends' CPU, statements), then again under cProfile.

CPU per delivery moves little with the load other processes put on the machine; wall time moves
a lot. `python -m bench.ingest_profile [--shoppers N]` prints both and the profile's top, and
appends them to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, select, text

from app.core import clock
from app.core.db import db
from app.ingest import drain, inbox
from app.models import WebhookEvent
from bench.harness import load_note, record, services
from bench.mail import shopper
from tests.flow_helpers import enable

TOP = 25


def _store(store_id: int, first: int, count: int) -> None:
    """`count` shoppers' two deliveries, in the inbox as the webhook route leaves them."""
    abandoned = clock.now() - timedelta(minutes=5)
    with db.session() as session:
        for n in range(first, first + count):
            for topic, payload in shopper(n, abandoned):
                inbox.accept(session, store_id, "shopify", topic, str(uuid.uuid4()),
                             json.dumps(payload).encode())


def _drain_all(store_id: int) -> None:
    while _left(store_id):
        drain.drain(store_id)  # TURN rows a call, as the worker's job takes them


def _left(store_id: int) -> bool:
    with db.session() as session:
        return session.execute(select(WebhookEvent.id).where(
            WebhookEvent.store_id == store_id, WebhookEvent.processed_at.is_(None)).limit(1)
        ).first() is not None


def _backend_cpu() -> Callable[[], float]:
    """A reader of the CPU seconds the database's server processes have used so far."""
    with db.engine.connect() as connection:
        pids = connection.execute(text("SELECT pid FROM pg_stat_activity "
                                       "WHERE datname = current_database()")).scalars().all()

    def used() -> float:
        ticks = 0
        for pid in pids:
            stat = Path(f"/proc/{pid}/stat")
            if stat.exists():  # utime and stime, after the command name
                fields = stat.read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")
    return used


def measure(store_id: int, shoppers: int) -> dict[str, float]:
    """Drain `shoppers` fresh shoppers' deliveries; per delivery: wall and CPU ms, statements."""
    _store(store_id, 0, 25)  # warm: pools, imports, caches, prepared statements
    _drain_all(store_id)
    _store(store_id, 25, shoppers)
    statements = []

    def count(*_) -> None:
        statements.append(1)
    event.listen(db.engine, "before_cursor_execute", count)
    server = _backend_cpu()
    wall, cpu, server_cpu = time.perf_counter(), time.process_time(), server()
    _drain_all(store_id)
    deliveries = 2 * shoppers
    figures = {"wall_ms": 1000 * (time.perf_counter() - wall) / deliveries,
               "cpu_ms": 1000 * (time.process_time() - cpu) / deliveries,
               "server_ms": 1000 * (server() - server_cpu) / deliveries,
               "statements": len(statements) / deliveries}
    event.remove(db.engine, "before_cursor_execute", count)
    return figures


def profile(store_id: int, shoppers: int) -> str:
    """The top of cProfile by own time over `shoppers` more shoppers' deliveries."""
    _store(store_id, 25 + shoppers, shoppers)
    profiler = cProfile.Profile()
    profiler.enable()
    _drain_all(store_id)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=(out := io.StringIO()))
    stats.sort_stats("tottime").print_stats(TOP)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=500)
    shoppers = parser.parse_args().shoppers
    note = load_note()
    _, store = services()
    enable(store.id, "abandoned_checkout")
    per = measure(store.id, shoppers)
    lines = profile(store.id, shoppers).strip().splitlines()
    record("Ingest profile (bench/ingest_profile.py)", [
        note, "",
        f"{shoppers} shoppers' consent update + abandoned checkout ({2 * shoppers} deliveries, "
        "enrolled in the abandoned-checkout flow) drained in process, one drain at a time.", "",
        "| per delivery | |",
        "|---|---|",
        f"| statements | {per['statements']:.1f} |",
        f"| worker CPU ms | {per['cpu_ms']:.2f} |",
        f"| PostgreSQL CPU ms | {per['server_ms']:.2f} |",
        f"| wall ms | {per['wall_ms']:.2f} |", "",
        f"The same number of shoppers again under cProfile (which slows it), top {TOP} by own "
        "time:", "",
        "```", *lines, "```",
    ])


if __name__ == "__main__":
    main()
