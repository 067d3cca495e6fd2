"""Recommendations (issue 18) on a store of realistic size: app.mail.product_picks.recommendations
as a thank-you or review request asks it (the customer, their order), over a store of 2,000
products, 20,000 customers and 50,000 orders of a year (1 to 3 lines, popularity skewed so a few
products are in thousands of orders), beside a rival store of the same size. Also each of its two
reads alone: bought together (every send) and best sellers (only when the first falls short).
Baseline in the same run: a primary-key SELECT of a product.
"""
from __future__ import annotations

import argparse
import time
from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql

from app.core import clock, stores
from app.core.db import db
from app.mail import product_picks
from app.models import Customer, Order, OrderLine, Product
from bench.harness import load_note, record, services
from bench.segments import p95

# One in 20 products sold out and one in 50 deleted, as a catalogue has them.
SEED = text("""
WITH p AS (
  INSERT INTO products (store_id, platform_id, title, handle, url, image_url, price, in_stock,
                        status, created_at, updated_at)
  SELECT :store, n, 'Product ' || n, 'product-' || n, 'https://shop.example/products/product-' || n,
         'https://cdn.example/' || n || '.jpg', 20, n % 20 <> 0,
         CASE WHEN n % 50 = 0 THEN 'deleted' ELSE 'active' END,
         CAST(:now AS timestamptz) - n * interval '1 hour',
         CAST(:now AS timestamptz) - n * interval '1 hour'
  FROM generate_series(1, :products) AS n
  RETURNING id
), c AS (
  INSERT INTO customers (store_id, platform_id, email, tags, created_at, updated_at)
  SELECT :store, n, 'shopper' || n || '@example.com', '[]', :now, :now
  FROM generate_series(1, :customers) AS n
  RETURNING id
)
INSERT INTO orders (store_id, platform_id, customer_id, email, currency, total_price,
                    discount_codes, placed_at, source_updated_at, created_at, updated_at)
SELECT :store, n, c.id, 'shopper' || (c.id) || '@example.com', 'USD', 40, '[]',
       CAST(:now AS timestamptz) - (n % 365) * interval '1 day' - (n % 24) * interval '1 hour',
       :now, :now, :now
FROM generate_series(1, :orders) AS n
JOIN (SELECT id, row_number() OVER (ORDER BY id) AS k FROM c) c ON c.k = 1 + n % :customers
""")
LINES = text("""
INSERT INTO order_lines (store_id, order_id, product_id, variant_id, title, quantity, price)
SELECT o.store_id, o.id, l.p, l.p * 10 + 1, 'Product ' || l.p, 1, 20
FROM orders o, LATERAL (
  SELECT DISTINCT 1 + floor(:products * power(random(), 2))::bigint AS p
  FROM generate_series(1, 1 + (o.id % 3)::int) AS g) l
WHERE o.store_id = :store
""")


def seed(store_id: int, products: int, customers: int, orders: int) -> None:
    with db.engine.begin() as connection:
        connection.execute(text("SELECT setseed(0.18)"))
        connection.execute(SEED, {"store": store_id, "products": products, "customers": customers,
                                  "orders": orders, "now": clock.now()})
        connection.execute(LINES, {"store": store_id, "products": products})
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE products, customers, orders, order_lines"))


def timed(runs: list, ask) -> tuple[float, float]:
    """p50 and p95 ms of `ask(session, customer, order)` over `runs`, each in its own session."""
    times = []
    for customer_id, order_id in runs:
        with db.session() as session:
            customer, order = session.get(Customer, customer_id), session.get(Order, order_id)
            started = time.perf_counter()
            ask(session, customer, order)
            times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2] * 1000, p95(times) * 1000


def plan(store_id: int, customer_id: int, order_id: int) -> list[str]:
    """EXPLAIN ANALYZE of the bought-together read: which indexes it uses."""
    with db.session() as session:
        customer, order = session.get(Customer, customer_id), session.get(Order, order_id)
        seeds = select(OrderLine.product_id).where(OrderLine.store_id == store_id,
                                                   OrderLine.order_id == order.id)
        query = product_picks.bought_together(
            store_id, seeds, product_picks.bought_by(store_id, customer), 3)
        compiled = query.compile(dialect=postgresql.dialect(),
                                 compile_kwargs={"literal_binds": True})
        return [row[0] for row in session.execute(text(f"EXPLAIN ANALYZE {compiled}"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50_000,
                        help="per store, with a product for every 25 and a customer for every 2.5")
    parser.add_argument("--sample", type=int, default=300, help="orders asked about")
    args = parser.parse_args()
    args.products, args.customers = args.orders // 25, args.orders * 2 // 5
    note = load_note()
    _, store = services()
    with db.session() as session:
        rival, _ = stores.connect(session, "shopify", "rival-bench.myshopify.com",
                                  access_token="t", webhook_secret="s")
        rival_id = rival.id
    started = time.perf_counter()
    for store_id in (rival_id, store.id):
        seed(store_id, args.products, args.customers, args.orders)
    seeded = time.perf_counter() - started
    with db.session() as session:
        runs = [(c, o) for o, c in session.execute(
            select(Order.id, Order.customer_id).where(
                Order.store_id == store.id,
                Order.placed_at >= clock.now() - timedelta(days=30))
            .order_by(Order.id).limit(args.sample))]
        product_ids = list(session.execute(select(Product.id).where(
            Product.store_id == store.id).limit(args.sample)).scalars())
    warm = runs[:20]
    timed(warm, lambda s, c, o: product_picks.recommendations(s, store.id, c, o))

    def by_key(session, customer, order):
        session.execute(select(Product).where(Product.id == product_ids[customer.id % 100])).one()

    key50, key95 = timed(runs, by_key)
    all50, all95 = timed(runs, lambda s, c, o: product_picks.recommendations(s, store.id, c, o))

    def together(session, customer, order):
        seeds = select(OrderLine.product_id).where(OrderLine.store_id == store.id,
                                                   OrderLine.order_id == order.id)
        session.execute(product_picks.bought_together(
            store.id, seeds, product_picks.bought_by(store.id, customer), 3)).all()

    def sellers(session, customer, order):
        session.execute(product_picks.best_sellers(
            store.id, product_picks.bought_by(store.id, customer), 3)).all()

    tog50, tog95 = timed(runs, together)
    best50, best95 = timed(runs, sellers)
    explained = plan(store.id, *runs[0])
    indexes = sorted({line.split(" using ")[1].split(" ")[0]
                      for line in explained if " using " in line})
    rows = [("primary-key SELECT of a product (baseline)", key50, key95),
            ("recommendations() as a send asks it", all50, all95),
            ("bought together alone", tog50, tog95),
            (f"best sellers alone (last {product_picks.BEST_SELLER_DAYS} days)", best50, best95)]
    record("Recommendations (bench/recommendations.py)", [
        note, "",
        f"Two stores of {args.products:,} products, {args.customers:,} customers and "
        f"{args.orders:,} orders over a year each (1-3 lines, skewed popularity), written in "
        f"{seeded:.0f} s, then VACUUM ANALYZE. {len(runs)} orders of the last 30 days asked about, "
        "each in its own session, after 20 warm-up asks.",
        "",
        "| read | p50 ms | p95 ms | p50 / baseline | p95 / baseline |",
        "|---|---|---|---|---|",
        *(f"| {name} | {p50:.2f} | {p95_:.2f} | {p50 / key50:.1f} | {p95_ / key95:.1f} |"
          for name, p50, p95_ in rows),
        "",
        f"Indexes the bought-together plan uses: {', '.join(indexes)}.",
    ])
    print("\n".join(explained))


if __name__ == "__main__":
    main()
