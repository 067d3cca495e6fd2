"""Where one worker's email spends its time: cProfile over an in-process `storeflow worker`
draining a backlog of abandoned-checkout emails into aiosmtpd's discarding sink, and the round
trips each email makes to PostgreSQL, Redis and the SMTP server.

`python -m bench.mail_profile [--emails N]` prints the profile's top and appends it to
bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

from app.core import clock
from app.mail import outbox
from app.mail.transport import transports
from bench.harness import load_note, record, services
from bench.mail import Sink, sent
from flows import engine
from tests.flow_helpers import enable
from tests.helpers import work
from tests.seed import due_checkout_runs

TOP = 30


def profile(emails: int) -> tuple[str, dict[str, float]]:
    """The profile's top by own time, and round trips per email."""
    config, store = services()
    sink = Sink()
    try:
        transports.configure(f"smtp://127.0.0.1:{sink.port}", config.home, config.base_url)
        enable(store.id, "abandoned_checkout")
        warm = 50
        due_checkout_runs(store.id, store.domain, warm + emails, clock.now())
        engine.tick(clock.now())
        work("flows", logging_level="WARNING")
        # Pools, imports, caches: `warm` emails, each job sending up to a batch of them.
        work("mail", max_jobs=warm // outbox.BATCH, logging_level="WARNING")
        before = sent()
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        work("mail", logging_level="WARNING")
        profiler.disable()
        elapsed = time.perf_counter() - started
        done = sent() - before
    finally:
        sink.stop()
    stats = pstats.Stats(profiler, stream=(out := io.StringIO()))
    stats.sort_stats("tottime").print_stats(TOP)
    calls = {f"{file}:{name}": count for (file, _, name), (_, count, *_) in stats.stats.items()}
    figures = {
        "emails": done, "per_s": done / elapsed,
        # One exchange per statement, plus BEGIN and COMMIT per transaction.
        "postgresql": (_calls(calls, "psycopg/cursor.py:execute")
                       + 2 * _calls(calls, "psycopg/connection.py:commit")) / done,
        "redis": _calls(calls, "redis/connection.py:send_packed_command") / done,
        "smtp": _calls(calls, "smtplib.py:getreply") / done,
    }
    return out.getvalue(), figures


def _calls(calls: dict[str, int], function: str) -> int:
    return sum(n for key, n in calls.items() if key.endswith(function))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--title", default="Mail profile (bench/mail_profile.py)")
    args = parser.parse_args()
    note = load_note()
    top, figures = profile(args.emails)
    record(args.title, [
        note, "",
        f"{figures['emails']} abandoned-checkout emails sent by an in-process worker (the mail "
        f"queue in burst) into aiosmtpd's discarding sink, cProfile, top {TOP} by own time: "
        f"{figures['per_s']:.0f} emails/s under the profiler. Round trips per email: "
        f"PostgreSQL {figures['postgresql']:.1f}, Redis {figures['redis']:.1f}, "
        f"SMTP replies {figures['smtp']:.1f}.", "",
        "```", *top.strip().splitlines(), "```",
    ])


if __name__ == "__main__":
    main()
