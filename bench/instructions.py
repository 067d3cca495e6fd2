"""Instructions per ingested delivery, flow step and sent email, counted by valgrind's callgrind.

A delivery: the end-to-end bench's shoppers, drained in process. A step: the tick's backlog of
due abandoned-checkout runs, worked in process. An email: those steps' emails, sent into
aiosmtpd's discarding sink. Only this process's instructions between the scenario's start and
end are counted (PostgreSQL, Redis and the sink run uninstrumented in their own processes).

Time on this machine moves by a third within minutes; an instruction count repeats within 1 %,
so it shows a change of a few per cent that timing cannot. It does not count waits, nor the
database's work: confirm a gain with the timed benchmarks. Needs valgrind (`apt-get install
valgrind`); runs about 50× slower than native.

`python -m bench.instructions [--items N] [--only ingest|steps|mail]` prints the counts and
appends them to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager, nullcontext
from datetime import timedelta
from pathlib import Path

PATHS = ("ingest", "steps", "mail")
WARM = 25


@contextmanager
def _counted():
    """Count this process's instructions (callgrind) while the block runs."""
    def switch(state: str) -> None:
        subprocess.run(["callgrind_control", "--instr=" + state, str(os.getpid())], check=True,
                       stdout=subprocess.DEVNULL)
    switch("on")
    try:
        yield
    finally:
        switch("off")


def _ingest(items: int) -> None:
    """`items` deliveries (half consent updates, half abandoned checkouts), drained."""
    from bench.harness import services
    from bench.ingest_profile import _drain_all, _store
    from tests.flow_helpers import enable

    _, store = services()
    enable(store.id, "abandoned_checkout")
    _store(store.id, 0, WARM)
    _drain_all(store.id)
    _store(store.id, WARM, items // 2)
    with _counted():
        _drain_all(store.id)


def _steps_then_mail(items: int, counted: str) -> None:
    """`items` due abandoned-checkout runs stepped, then their emails sent; `counted` says which
    of the two is counted."""
    from sqlalchemy import text

    from app.core import clock
    from app.core.db import db
    from app.mail.transport import transports
    from bench.harness import services
    from bench.mail import Sink
    from flows import engine
    from tests.flow_helpers import enable
    from tests.helpers import work
    from tests.seed import due_checkout_runs

    config, store = services()
    sink = Sink()
    try:
        transports.configure(f"smtp://127.0.0.1:{sink.port}", config.home, config.base_url)
        enable(store.id, "abandoned_checkout")  # quiet hours off: it runs at any hour
        for first, count in ((1, WARM), (1 + WARM, items)):
            due_checkout_runs(store.id, store.domain, count, clock.now() - timedelta(minutes=1),
                              first=first)
            with db.autocommit() as connection:  # what autovacuum would know by then
                connection.execute(text("ANALYZE"))
            engine.tick(clock.now())
            measured = first > 1
            with _counted() if measured and counted == "steps" else nullcontext():
                work("flows", logging_level="WARNING")
            with _counted() if measured and counted == "mail" else nullcontext():
                work("mail", logging_level="WARNING")
    finally:
        sink.stop()


def _inner(path: str, items: int) -> None:
    if path == "ingest":
        _ingest(items)
    else:
        _steps_then_mail(items, path)


def count(path: str, items: int) -> int:
    """Instructions this path executes for `items` items, under callgrind in a child process."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
             sys.executable, "-m", "bench.instructions", "--inner", path, "--items", str(items)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        totals = [line for line in out.read_text().splitlines() if line.startswith("totals:")]
        return int(totals[0].split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100,
                        help="deliveries, steps or emails (default 100; deliveries come in "
                             "pairs, so an odd number is rounded down)")
    parser.add_argument("--only", choices=PATHS)
    parser.add_argument("--inner", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        _inner(args.inner, args.items)
        return
    if not shutil.which("valgrind"):
        sys.exit("bench.instructions needs valgrind: apt-get install valgrind")
    from bench.harness import load_note, record

    note = load_note()
    items = args.items - args.items % 2  # a shopper's two deliveries; as many steps, emails
    rows = [(path, count(path, items) / items) for path in ((args.only,) if args.only else PATHS)]
    record("Instructions per item (bench/instructions.py)", [
        note, "",
        f"valgrind's callgrind, this process only, {items} items each, after {WARM} warm "
        "shoppers or runs; repeats within 1 %.", "",
        "| path | instructions per item (millions) |",
        "|---|---|",
        *(f"| {path} | {per / 1e6:.2f} |" for path, per in rows),
    ])


if __name__ == "__main__":
    main()
