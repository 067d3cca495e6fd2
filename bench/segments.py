"""Segments (issue 16) over the benchmark store of 1,000,000 customers and 5,000,000 orders
(bench/audience.py's generate_series store): each built-in's count (app.audiences.segments.count,
what the Segments page and `storeflow segments list` ask), a segment's page (segments.page: its
count and one page of members, as the UI asks), and metric upkeep for one stored order
(app.audiences.metrics.order_stored, what ingest runs after writing an order).
Baselines in the same run: count(*) of the store's customers; a primary-key SELECT of a customer.

Targets (issue 16): a count under 1 s at p95 for each built-in, a members page under 200 ms at
p95, upkeep adding under 2 ms to an order's ingest.
"""
from __future__ import annotations

import argparse
import json
import math
import time

from sqlalchemy import text

from app.audiences import builtins, metrics, segments
from app.core import clock
from app.core.db import db
from bench.audience import seed
from bench.harness import load_note, record, services

# The metrics rows of the bench store in one set-based statement rather than the module's
# per-customer recompute (its UNION by address and per-customer median over 5,000,000 orders is
# the daily repair, not what is measured here). Same columns and meaning, with two shortcuts:
# the bench orders are all counted and linked by customer_id, and a repeat buyer's interval is
# the mean of their gaps instead of the median. One customer in five opened an email in the
# last 60 days, so "engaged" has members.
FILL = text("""
WITH totals AS (
    SELECT customer_id, count(*) AS n, sum(total_price) AS spent, min(placed_at) AS first_at,
           max(placed_at) AS last_at
    FROM orders WHERE store_id = :store AND customer_id IS NOT NULL GROUP BY customer_id
)
INSERT INTO customer_metrics (customer_id, store_id, orders_count, total_spent,
    average_order_value, first_order_at, last_order_at, last_opened_at, predicted_next_order_at,
    prediction_basis, computed_at)
SELECT c.id, c.store_id, coalesce(t.n, 0), coalesce(t.spent, 0), round(t.spent / t.n, 4),
       t.first_at, t.last_at,
       CASE WHEN c.id % 5 = 0 THEN CAST(:now AS timestamptz)
                                   - make_interval(days => CAST(c.id % 60 AS int)) END,
       CASE WHEN t.n >= 2 THEN t.last_at + (t.last_at - t.first_at) / (t.n - 1)
            WHEN t.n = 1 THEN t.last_at + sm.median_order_interval END,
       CASE WHEN t.n >= 2 THEN 'own ' || t.n || ' orders'
            WHEN t.n = 1 AND sm.median_order_interval IS NOT NULL THEN 'store median' END,
       :now
FROM customers c
LEFT JOIN totals t ON t.customer_id = c.id
LEFT JOIN store_metrics sm ON sm.store_id = c.store_id
WHERE c.store_id = :store
ON CONFLICT (customer_id) DO UPDATE SET
    orders_count = excluded.orders_count, total_spent = excluded.total_spent,
    average_order_value = excluded.average_order_value, first_order_at = excluded.first_order_at,
    last_order_at = excluded.last_order_at, last_opened_at = excluded.last_opened_at,
    predicted_next_order_at = excluded.predicted_next_order_at,
    prediction_basis = excluded.prediction_basis, computed_at = excluded.computed_at
""")
# One order of each of `sample` customers spread over the store, for the upkeep.
SAMPLE = text("""
SELECT DISTINCT ON (customer_id) id, customer_id FROM orders
WHERE store_id = :store AND customer_id IN (
    SELECT id FROM customers WHERE store_id = :store ORDER BY id LIMIT :sample OFFSET 1000)
ORDER BY customer_id, id
""")
BY_KEY = text("SELECT * FROM customers WHERE id = :id")
WARM_UP = 50


def p95(times: list[float]) -> float:
    """The nearest-rank 95th percentile."""
    ordered = sorted(times)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def timed(question, runs: int) -> tuple[float, object]:
    """p95 seconds of `runs` runs (after one warm-up) and the warm-up's answer."""
    answer = question()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        question()
        times.append(time.perf_counter() - started)
    return p95(times), answer


def fill(store_id: int) -> None:
    """The store's median order interval and top-5 % spend by the module's own statements,
    every customer's metrics row by FILL."""
    params = {"store_id": store_id, "not_bought": list(metrics.NOT_BOUGHT), "now": clock.now()}
    with db.engine.begin() as connection:
        connection.execute(metrics.STORE_MEDIAN, params)
        connection.execute(FILL, {"store": store_id, "now": params["now"]})
        connection.execute(metrics.TOP_SPEND, params)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE customer_metrics, store_metrics"))


def upkeep(store_id: int, sample: int) -> tuple[float, float, float, float]:
    """p50 and p95 ms of order_stored for one order each of `sample` customers, and of the
    baseline primary-key SELECT of the same customers, each in its own transaction, after a
    warm-up of WARM_UP other orders (as a long-lived worker's connections are: psycopg
    prepares the statement on its fifth use on each connection of the pool)."""
    with db.session() as session:
        orders = session.execute(SAMPLE, {"store": store_id, "sample": sample + WARM_UP}).all()
    for order_id, _ in orders[:WARM_UP]:
        with db.session() as session:
            metrics.order_stored(session, store_id, order_id)
    kept, looked = [], []
    for order_id, customer_id in orders[WARM_UP:]:
        with db.session() as session:
            started = time.perf_counter()
            session.execute(BY_KEY, {"id": customer_id}).one()
            looked.append(time.perf_counter() - started)
        with db.session() as session:
            started = time.perf_counter()
            metrics.order_stored(session, store_id, order_id)
            kept.append(time.perf_counter() - started)
    ms = [sorted(t)[len(t) // 2] * 1000 for t in (kept, looked)]
    return ms[0], p95(kept) * 1000, ms[1], p95(looked) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each question")
    parser.add_argument("--sample", type=int, default=200, help="customers for the upkeep")
    args = parser.parse_args()
    note = load_note()
    _, store = services()
    started = time.perf_counter()
    seed(store.id, args.customers, args.orders, clock.now())
    seeded = time.perf_counter() - started
    started = time.perf_counter()
    fill(store.id)
    filled = time.perf_counter() - started

    def ask(question, *arguments):
        def run():
            with db.session() as session:
                return question(session, store.id, *arguments)
        return timed(run, args.runs)

    def customers(session, store_id):
        return session.execute(text("SELECT count(*) FROM customers WHERE store_id = :s"),
                               {"s": store_id}).scalar_one()

    baseline, _ = ask(customers)
    rows = []
    for builtin in builtins.BUILTINS.values():
        rule = segments.check_rule(json.dumps(builtin.rule))
        counted, found = ask(segments.count, rule)
        spend, _ = ask(segments.page, rule, "spend")
        latest, _ = ask(segments.page, rule, "last_order")
        rows.append((builtin.name, found, counted, spend, latest))
    kept50, kept95, key50, key95 = upkeep(store.id, args.sample)
    worst_count = max(row[2] for row in rows)
    worst_page = max(max(row[3], row[4]) for row in rows)
    record("Segments (bench/segments.py)", [
        note, "",
        f"{args.customers:,} customers and {args.orders:,} orders in one store (bench/audience.py's "
        f"store, written in {seeded:.0f} s), metrics rows filled by one set-based statement "
        f"(bench/segments.py FILL, with the module's store median and top-5 % statements) in "
        f"{filled:.0f} s, then VACUUM ANALYZE. p95 of {args.runs} runs after a warm-up; "
        f"baseline count(*) of the store's customers: {baseline * 1000:.0f} ms.",
        "",
        "| built-in | members | count ms (p95) | / baseline | page by spend ms (p95, count "
        "included) | page by last order ms (p95, count included) |",
        "|---|---|---|---|---|---|",
        *(f"| {name} | {found:,} | {counted * 1000:.0f} | {counted / baseline:.1f} "
          f"| {spend * 1000:.0f} | {latest * 1000:.0f} |"
          for name, found, counted, spend, latest in rows),
        "",
        f"Upkeep (`metrics.order_stored`, one order each of {args.sample} customers, own "
        f"transaction): p50 {kept50:.2f} ms, p95 {kept95:.2f} ms; baseline primary-key SELECT of "
        f"the customer: p50 {key50:.2f} ms, p95 {key95:.2f} ms; added at p95: "
        f"**{kept95 - key95:.2f} ms** (target < 2 ms).",
        "",
        f"Slowest count: **{worst_count:.2f} s** (target < 1 s); slowest members page: "
        f"**{worst_page * 1000:.0f} ms** (target < 200 ms).",
    ])


if __name__ == "__main__":
    main()
