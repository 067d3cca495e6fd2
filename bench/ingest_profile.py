"""Where ingesting one delivery spends its time: the end-to-end bench's shoppers (a consent update
and an abandoned checkout each) stored in the inbox, then drained in this process under cProfile
against embedded PostgreSQL and Redis, counting the statements each delivery sends.

`python -m bench.ingest_profile [--shoppers N]` prints the profile's top and appends it to
bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import time
import uuid
from datetime import timedelta

from sqlalchemy import event, select

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


def profile(shoppers: int) -> tuple[str, dict[str, float]]:
    """The profile's top by own time, and statements and milliseconds per delivery."""
    _, store = services()
    enable(store.id, "abandoned_checkout")
    _store(store.id, 0, 25)  # warm: pools, imports, caches, prepared statements
    drain.drain(store.id)
    _store(store.id, 25, shoppers)
    statements = []
    event.listen(db.engine, "before_cursor_execute", lambda *_: statements.append(1))
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    while _left(store.id):
        drain.drain(store.id)  # TURN rows a call, as the worker's job takes them
    profiler.disable()
    elapsed = time.perf_counter() - started
    deliveries = 2 * shoppers
    stats = pstats.Stats(profiler, stream=(out := io.StringIO()))
    stats.sort_stats("tottime").print_stats(TOP)
    return out.getvalue(), {"statements": len(statements) / deliveries,
                            "ms": 1000 * elapsed / deliveries}


def _left(store_id: int) -> bool:
    with db.session() as session:
        return session.execute(select(WebhookEvent.id).where(
            WebhookEvent.store_id == store_id, WebhookEvent.processed_at.is_(None)).limit(1)
        ).first() is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=500)
    shoppers = parser.parse_args().shoppers
    top, per = profile(shoppers)
    lines = top.strip().splitlines()
    record("Ingest profile (bench/ingest_profile.py)", [
        load_note(), "",
        f"{shoppers} shoppers' consent update + abandoned checkout ({2 * shoppers} deliveries, "
        "enrolled in the abandoned-checkout flow) drained in process, cProfile (which slows it), "
        f"top {TOP} by own time. Per delivery: **{per['statements']:.1f} statements, "
        f"{per['ms']:.1f} ms** under the profiler.", "",
        "```", *lines, "```",
    ])


if __name__ == "__main__":
    main()
