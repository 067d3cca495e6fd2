"""The win-back audience (flows/audiences.py `lapsed_customers`) over 1,000,000 customers and
5,000,000 orders, written with generate_series; then the same question with candidate indexes
(the one migration 0012 adds, and a rewrite of the question that also uses 0014's
(store_id, placed_at)).
Baseline: a plain count of the store's orders, in the same run.

Target (issue 12): under 2 s.
"""
from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta

from sqlalchemy import text

from app.core import clock
from app.core.db import db
from bench.harness import load_note, record, services
from flows import catalog, choices
from flows.audiences import lapsed_customers

DAYS = 730  # orders spread over two years
INDEX = "ix_orders_store_id_customer_id_placed_at"  # migrations/versions/0012_bench_indexes.py
ORDERS = text("""
INSERT INTO orders (store_id, platform_id, customer_id, email, name, currency, total_price,
                    financial_status, discount_codes, placed_at, source_updated_at, created_at,
                    updated_at)
SELECT :store, n, c.id, c.email, '#' || n, 'USD', 20 + n % 180, 'paid', '[]', t, t, t, t
FROM generate_series(CAST(:lo AS bigint), :hi) AS n
JOIN customers c ON c.store_id = :store AND c.platform_id = 1 + (n * 7919) % :customers
CROSS JOIN LATERAL (SELECT CAST(:at AS timestamptz)
                           - make_interval(mins => CAST((n * 104729) % (:days * 1440) AS int))) AS p(t)
""")
CUSTOMERS = text("""
INSERT INTO customers (store_id, platform_id, email, tags, email_consent, created_at, updated_at)
SELECT :store, n, 'shopper' || n || '@example.com', '[]', 'subscribed', now(), now()
FROM generate_series(1, :customers) AS n
""")
# The same question asked the other way: orders placed in the entry window with no later order.
REWRITE = text("""
SELECT o.id, o.customer_id, o.placed_at FROM orders o
WHERE o.store_id = :store AND o.customer_id IS NOT NULL AND o.placed_at BETWEEN :lo AND :hi
  AND NOT EXISTS (SELECT 1 FROM orders later WHERE later.store_id = :store
                  AND later.customer_id = o.customer_id AND later.placed_at > o.placed_at)
""")


def seed(store_id: int, customers: int, orders: int, at, days: int = DAYS) -> None:
    """`customers` subscribed customers and `orders` orders among them over `days` up to `at`."""
    with db.engine.begin() as connection:
        connection.execute(CUSTOMERS, {"store": store_id, "customers": customers})
    for lo in range(1, orders + 1, 1_000_000):  # in slices, so one transaction stays small
        with db.engine.begin() as connection:
            connection.execute(ORDERS, {"store": store_id, "lo": lo,
                                        "hi": min(lo + 999_999, orders), "customers": customers,
                                        "at": at, "days": days})
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE customers, orders"))


def timed(question, repeats: int = 3) -> tuple[float, int]:
    """Median seconds of `repeats` runs (after one warm-up) and the rows found."""
    found = len(question())
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        question()
        times.append(time.perf_counter() - started)
    return statistics.median(times), found


def ddl(statement: str) -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(statement))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=5_000_000)
    args = parser.parse_args()
    note = load_note()
    _, store = services()
    at = clock.now()
    started = time.perf_counter()
    seed(store.id, args.customers, args.orders, at)
    seeded = time.perf_counter() - started
    settings = choices.defaults(catalog.FLOWS["win_back"])
    lapse, window = (timedelta(days=settings[k]) for k in ("lapse_days", "entry_window_days"))

    def current():
        with db.session() as session:
            return list(lapsed_customers(session, store, settings, at))

    def rewrite():
        with db.session() as session:
            return session.execute(REWRITE, {"store": store.id, "lo": at - lapse - window,
                                             "hi": at - lapse}).all()

    def count():
        with db.session() as session:
            return session.execute(text("SELECT count(*) FROM orders WHERE store_id = :s"),
                                   {"s": store.id}).all()

    results = {"count(*) of the store's orders (baseline)": timed(count),
               "`lapsed_customers` (with 0012's index)": timed(current)}
    ddl(f"DROP INDEX {INDEX}")
    ddl("ANALYZE orders")
    results["`lapsed_customers` without it (before 0012)"] = timed(current)
    ddl(f"CREATE INDEX {INDEX} ON orders (store_id, customer_id, placed_at)")
    ddl("VACUUM ANALYZE orders")
    rewritten = "last-order rewrite (not shipped), also with 0014's (store_id, placed_at)"
    results[rewritten] = timed(rewrite)
    shipped = results["`lapsed_customers` (with 0012's index)"][0]
    record("Win-back audience (bench/audience.py)", [
        note, "",
        f"{args.customers:,} customers and {args.orders:,} orders in one store (orders spread "
        f"over {DAYS} days, ~{args.orders // args.customers} per customer), written with "
        f"generate_series in {seeded:.0f} s, then VACUUM ANALYZE. Win-back defaults "
        "(lapse 90 days, entry window 7 days). Median of 3 runs after a warm-up.",
        "",
        "| question | seconds | rows |",
        "|---|---|---|",
        *(f"| {name} | {seconds:.2f} | {rows:,} |" for name, (seconds, rows) in results.items()),
        "",
        f"`lapsed_customers` with migration 0012: **{shipped:.2f} s** (target < 2 s).",
    ])


if __name__ == "__main__":
    main()
