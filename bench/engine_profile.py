"""Where one flow step spends its time: cProfile over the step job (flows.engine.advance) run
in this process on a backlog of due abandoned-checkout runs, against embedded PostgreSQL and
Redis, and the statements each step sends to PostgreSQL.

`python -m bench.engine_profile [--steps N]` prints the profile's top and appends it to
bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
from datetime import timedelta

from sqlalchemy import event, select

from app.core import clock
from app.core.db import db
from app.models import FlowRun
from bench.harness import load_note, record, services
from flows import engine
from tests.flow_helpers import enable
from tests.seed import due_checkout_runs

TOP = 25
WARM = 50


def profile(steps: int) -> tuple[str, float]:
    """The profile's top by own time, and SQL statements per step (BEGIN and COMMIT aside)."""
    _, store = services()
    enable(store.id, "abandoned_checkout")
    due_checkout_runs(store.id, store.domain, WARM + steps, clock.now() - timedelta(minutes=1))
    with db.session() as session:
        runs = session.execute(select(FlowRun.id).order_by(FlowRun.id)).scalars().all()
    at = clock.now().isoformat()
    for run_id in runs[:WARM]:  # warm: pools, imports, caches
        engine.advance(run_id, at)
    statements = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(1))
    profiler = cProfile.Profile()
    profiler.enable()
    for run_id in runs[WARM:]:
        assert engine.advance(run_id, at) == "active"
    profiler.disable()
    stats = pstats.Stats(profiler, stream=(out := io.StringIO()))
    stats.sort_stats("tottime").print_stats(TOP)
    return out.getvalue(), len(statements) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    steps = parser.parse_args().steps
    note = load_note()
    top, per_step = profile(steps)
    record("Flow step profile (bench/engine_profile.py)", [
        note, "",
        f"{steps} abandoned-checkout steps (exit rules, consent, quiet hours, frequency cap, "
        "priority, the message row and its timeline entry), each the step job "
        "`flows.engine.advance` called in the bench process; cProfile, top "
        f"{TOP} by own time. SQL statements per step: {per_step:.1f}.", "",
        "```", *top.strip().splitlines(), "```",
    ])


if __name__ == "__main__":
    main()
