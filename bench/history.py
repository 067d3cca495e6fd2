"""A year of one store's email history, written with SQL statements over generate_series rather
than row by row: customers and orders (bench/audience.py), products, abandoned checkouts, product
views, the flow runs they started, their messages with opens and clicks, orders credited to
clicks, the timeline, and the last 30 days of webhook deliveries (the inbox keeps no more)."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime

from sqlalchemy import text

from app.core.db import db
from app.models import Store
from bench import audience
from flows import catalog, choices

DAYS = 365
WEBHOOK_DAYS = 30  # app/ingest/sweep.py INBOX_RETENTION
# A live store's rows arrive in time order, so a month of them fills a month's worth of pages;
# written from generate_series they would be scattered over the whole table instead.
TIME_ORDER = {"orders": "placed_at", "checkouts": "source_updated_at", "flow_runs": "triggered_at",
              "messages": "created_at", "message_events": "occurred_at", "timeline": "at"}


@dataclass(frozen=True)
class Volume:
    """How much of everything one store has."""
    customers: int
    orders: int
    checkouts: int  # abandoned: each starts an abandoned-checkout run
    product_views: int  # each starts a browse-abandonment run
    products: int
    webhooks: int

    def scaled(self, factor: float) -> Volume:
        """This volume times `factor`; the catalogue stays, as it does not grow with shoppers."""
        return replace(self, **{f.name: max(1, int(getattr(self, f.name) * factor))
                                for f in fields(self) if f.name != "products"})


@dataclass(frozen=True)
class Plan:
    """Which rows start a flow's runs, and how far runs get: (step, hours after the trigger,
    percent of runs still going)."""
    flow: str
    subject: str
    triggers: str  # a SELECT of (id, customer_id, at)
    sends: tuple[tuple[str, int, int], ...]
    holdout: int = 0


def _orders(every: int, rest: int, after_hours: int = 0) -> str:
    return (f"SELECT id, customer_id, placed_at + interval '{after_hours} hours' AS at "
            f"FROM orders WHERE store_id = :store AND customer_id IS NOT NULL "
            f"AND id % {every} = {rest}")


# ~3.4 emails a year per customer: most from abandoned checkouts, then order mail.
PLANS = (
    Plan("abandoned_checkout", "checkout",
         "SELECT id, customer_id, source_updated_at AS at FROM checkouts WHERE store_id = :store",
         (("email_1", 1, 100), ("email_2", 24, 60), ("email_3", 72, 40)), holdout=10),
    Plan("order_updates", "order", _orders(10, 0),
         (("shipped", 48, 100), ("delivered", 120, 80))),
    Plan("post_purchase", "order", _orders(4, 1),
         (("thank_you", 2, 100), ("review_request", 336, 50))),
    Plan("win_back", "order", _orders(20, 2, after_hours=90 * 24),
         (("reminder", 0, 100), ("second_reminder", 168, 50))),
    Plan("welcome", "customer",
         "SELECT id, id AS customer_id, CAST(:at AS timestamptz) "
         "- make_interval(mins => CAST((id * 104729) % (:days * 1440) AS int)) AS at "
         "FROM customers WHERE store_id = :store AND id % 5 = 0", (("welcome", 0, 100),)),
    Plan("browse_abandonment", "product_view",
         "SELECT id, customer_id, viewed_at AS at FROM product_views WHERE store_id = :store",
         (("email_1", 2, 100),)),
)

# Row n of a spread: a customer picked by a multiplicative hash, at a moment within :days.
SPREAD = """FROM generate_series(1, CAST(:count AS bigint)) AS n
JOIN customers c ON c.store_id = :store AND c.platform_id = 1 + (n * {prime}) % :customers
CROSS JOIN LATERAL (SELECT CAST(:at AS timestamptz)
                           - make_interval(mins => CAST((n * 104723) % (:days * 1440) AS int))) AS p(t)"""

CATALOGUE = """
INSERT INTO products (store_id, platform_id, title, handle, url, price, in_stock, status,
                      source_updated_at, created_at, updated_at)
SELECT :store, n, 'Product ' || n, 'product-' || n, 'https://' || :domain || '/products/product-' || n,
       10 + n % 90, n % 10 <> 0, 'active', :at, :at, :at
FROM generate_series(1, :products) AS n
"""
CHECKOUTS = f"""
WITH k AS (
  INSERT INTO checkouts (store_id, token, platform_id, customer_id, email, stage, currency,
                         total_price, recovery_url, source_created_at, source_updated_at,
                         created_at, updated_at)
  SELECT :store, 'bench-' || n, n, c.id, c.email, 'checkout', 'USD', 20 + n % 180,
         'https://' || :domain || '/checkouts/bench-' || n || '/recover', t, t, t, t
  {SPREAD.format(prime=7927)}
  RETURNING id, platform_id, total_price
)
INSERT INTO checkout_lines (store_id, checkout_id, product_id, title, quantity, price)
SELECT :store, id, 1 + platform_id % :products, 'Product ' || (1 + platform_id % :products), 1,
       total_price
FROM k
"""
VIEWS = f"""
INSERT INTO product_views (store_id, visitor_id, customer_id, product_id, title, viewed_at)
SELECT :store, 'visitor-' || c.platform_id, c.id, 1 + n % :products, 'Product ' || (1 + n % :products), t
{SPREAD.format(prime=7933)}
"""
RUNS = """
INSERT INTO flow_runs (store_id, flow, version, customer_id, subject, subject_id, status, step,
                       triggered_at, anchor_at, due_at, settings, data, holdout, outcome,
                       started_at, updated_at, ended_at)
SELECT :store, :flow, :version, s.customer_id, :subject, s.id,
       CASE WHEN done THEN 'completed' ELSE 'active' END, CASE WHEN done THEN :steps ELSE 0 END,
       s.at, s.at, CASE WHEN NOT done THEN s.at + make_interval(hours => :last) END,
       jsonb_build_object(), jsonb_build_object(),
       (s.id * 7) % 100 < :holdout, CASE WHEN done THEN 'completed' END, s.at, s.at,
       CASE WHEN done THEN s.at + make_interval(hours => :last) END
FROM ({triggers}) AS s
CROSS JOIN LATERAL (SELECT s.at + make_interval(hours => :last) <= :at AS done) AS d
WHERE s.customer_id IS NOT NULL AND s.at <= :at
"""
# Statuses, opens and clicks from a hash of the run and step: 3% held back by the frequency
# cap, 1% failed, the last quarter hour still queued; ~45% of those sent opened, ~8% clicked.
MESSAGES = """
INSERT INTO messages (store_id, customer_id, email, flow, run_id, step, template, context,
                      marketing, status, reason, message_id, subject, sent_at, first_opened_at,
                      first_clicked_at, created_at, updated_at)
SELECT r.store_id, r.customer_id, c.email, r.flow, r.id, s.step, r.flow || '/' || s.step,
       CASE r.subject WHEN 'customer' THEN jsonb_build_object()
                      WHEN 'product_view' THEN jsonb_build_object(
                          'product_ids', jsonb_build_array(1 + r.subject_id % :products))
                      ELSE jsonb_build_object(r.subject || '_id', r.subject_id) END,
       :marketing, y.status,
       CASE y.status WHEN 'cancelled' THEN 'frequency_cap' WHEN 'failed' THEN 'smtp 550' END,
       '<bench-' || r.id || '.' || s.step || '@storeflow.test>', initcap(replace(s.step, '_', ' ')),
       CASE WHEN y.status = 'sent' THEN x.t END,
       CASE WHEN y.status = 'sent' AND x.h < 45 THEN x.t + make_interval(mins => 5 + x.h * 7) END,
       CASE WHEN y.status = 'sent' AND x.h < 8 THEN x.t + make_interval(mins => 60 + x.h * 9) END,
       x.t, x.t
FROM flow_runs r
JOIN customers c ON c.id = r.customer_id
CROSS JOIN unnest(CAST(:steps AS text[]), CAST(:hours AS int[]), CAST(:reach AS int[]))
           AS s(step, hours, reach)
CROSS JOIN LATERAL (SELECT r.triggered_at + make_interval(hours => s.hours) AS t,
                           CAST((r.id * 37 + s.hours * 11) % 100 AS int) AS h) AS x
CROSS JOIN LATERAL (SELECT CASE WHEN x.t > CAST(:at AS timestamptz) - interval '15 minutes' THEN 'queued'
                                WHEN x.h IN (97, 98, 99) THEN 'cancelled'
                                WHEN x.h = 96 THEN 'failed' ELSE 'sent' END AS status) AS y
WHERE r.store_id = :store AND r.flow = :flow AND NOT r.holdout AND r.id % 100 < s.reach
  AND x.t <= :at
"""
EVENTS = """
INSERT INTO message_events (store_id, message_id, kind, url, occurred_at)
SELECT store_id, id, 'open', NULL, first_opened_at FROM messages
WHERE store_id = :store AND first_opened_at <= :at
UNION ALL
SELECT store_id, id, 'click', 'https://' || :domain || '/cart', first_clicked_at FROM messages
WHERE store_id = :store AND first_clicked_at <= :at
"""
# A quarter of the clicks end in an order an hour later, credited to the clicked message.
CREDITED = """
WITH m AS (
  SELECT id, customer_id, email, flow, step, first_clicked_at + interval '1 hour' AS t
  FROM messages WHERE store_id = :store AND id % 4 = 0
    AND first_clicked_at + interval '1 hour' <= :at
), o AS (
  INSERT INTO orders (store_id, platform_id, customer_id, email, name, currency, total_price,
                      financial_status, discount_codes, placed_at, source_updated_at, created_at,
                      updated_at)
  SELECT :store, 1000000000 + id, customer_id, email, '#C' || id, 'USD', 30 + id % 150, 'paid',
         '[]', t, t, t, t
  FROM m
  RETURNING id, platform_id, total_price, placed_at
)
INSERT INTO attributions (store_id, order_id, message_id, flow, step, revenue, currency, method,
                          attributed_at)
SELECT :store, o.id, m.id, m.flow, m.step, o.total_price, 'USD', 'click', o.placed_at
FROM o JOIN m ON o.platform_id = 1000000000 + m.id
"""
ORDER_LINES = """
INSERT INTO order_lines (store_id, order_id, product_id, title, quantity, price)
SELECT store_id, id, 1 + platform_id % :products, 'Product ' || (1 + platform_id % :products), 1,
       total_price
FROM orders WHERE store_id = :store
"""
TIMELINE = """
INSERT INTO timeline (store_id, customer_id, run_id, flow, step, kind, detail, at)
SELECT store_id, customer_id, id, flow, NULL, CASE WHEN holdout THEN 'held_out' ELSE 'enrolled' END,
       subject || ' ' || subject_id, triggered_at
FROM flow_runs WHERE store_id = :store
UNION ALL
SELECT store_id, customer_id, run_id, flow, step,
       CASE status WHEN 'cancelled' THEN 'skipped' ELSE 'sent' END,
       CASE status WHEN 'cancelled' THEN reason ELSE 'message queued' END, created_at
FROM messages WHERE store_id = :store AND customer_id IS NOT NULL
UNION ALL
SELECT store_id, customer_id, id, flow, NULL, 'completed', '', ended_at
FROM flow_runs WHERE store_id = :store AND ended_at IS NOT NULL
"""
WEBHOOKS = """
INSERT INTO webhook_events (store_id, platform, topic, delivery_key, body, received_at,
                            processed_at, attempts)
SELECT :store, :platform,
       (ARRAY['orders/create', 'orders/updated', 'checkouts/update', 'customers/update'])[1 + n % 4],
       'bench-' || n, convert_to('{}', 'UTF8'), t, t, 1
FROM generate_series(1, :count) AS n
CROSS JOIN LATERAL (SELECT CAST(:at AS timestamptz)
                           - make_interval(secs => n * CAST(:window AS float8) / :count)) AS p(t)
"""


def _run(statement: str, **params) -> None:
    with db.engine.begin() as connection:
        connection.execute(text(statement), params)


def _flows(store: Store, at: datetime, products: int) -> None:
    """Each plan's runs, then their messages; the flows switched on as a merchant would."""
    for plan in PLANS:
        flow = catalog.FLOWS[plan.flow]
        common = {"store": store.id, "at": at, "flow": plan.flow, "days": DAYS}
        last = plan.sends[-1][1]
        _run(RUNS.format(triggers=plan.triggers), **common, version=flow.version,
             subject=plan.subject, steps=len(flow.steps), last=last, holdout=plan.holdout)
        steps, hours, reach = zip(*plan.sends)
        _run(MESSAGES, **common, products=products, marketing=flow.marketing,
             steps=list(steps), hours=list(hours), reach=list(reach))
        with db.session() as session:
            changes = {"holdout_percent": plan.holdout} if plan.holdout else None
            choices.save(session, store.id, flow, actor="bench", enabled=True, changes=changes)


def seed(store: Store, volume: Volume, at: datetime) -> None:
    """Write `volume` of history for `store`, the last of it at `at`."""
    audience.seed(store.id, volume.customers, volume.orders, at, days=DAYS)
    common = {"store": store.id, "at": at, "domain": store.domain, "days": DAYS,
              "customers": volume.customers, "products": volume.products}
    _run(CATALOGUE, **common)
    _run(CHECKOUTS, **common, count=volume.checkouts)
    _run(VIEWS, **common, count=volume.product_views)
    _flows(store, at, volume.products)
    _run(EVENTS, **common)
    _run(CREDITED, **common)
    _run(ORDER_LINES, **common)
    _run(TIMELINE, **common)
    _run(WEBHOOKS, **common, platform=store.platform, count=volume.webhooks,
         window=WEBHOOK_DAYS * 86400)


def in_time_order() -> None:
    """Rewrite each table in the order a live store would have written its rows."""
    for table, column in TIME_ORDER.items():
        audience.ddl(f"CREATE INDEX bench_time_order ON {table} ({column})")
        audience.ddl(f"CLUSTER {table} USING bench_time_order")
        audience.ddl("DROP INDEX bench_time_order")
