"""Customer metrics kept as orders and mail are stored: one statement rebuilds the rows of the
customers it is given from their orders, lines, messages and opens/clicks, so upkeep, a store's
recompute and the backfill all mean the same thing.

A customer's orders are those linked to their row or placed with their address (as the flows'
rules count them). Orders that are cancelled, refunded or voided do not count; a partial refund
is not taken off (the model keeps no refund amounts).
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from app.audiences.catalogue import ENGAGEMENT_WINDOW
from app.core import clock
from app.core.db import db
from app.models import Customer, Message, Order, Store

NOT_BOUGHT = ("refunded", "voided")

# {which} picks the customers (a fixed fragment below, never input); everything else is bound.
RECOMPUTE = """
WITH target AS (
    SELECT c.id, c.store_id, c.email FROM customers c WHERE {which}
), owned AS (
    SELECT t.id AS customer_id, o.store_id, o.id AS order_id, o.placed_at, o.total_price
    FROM target t JOIN orders o ON o.store_id = t.store_id AND o.customer_id = t.id
    WHERE o.cancelled_at IS NULL AND coalesce(o.financial_status, '') <> ALL(:not_bought)
    UNION
    SELECT t.id, o.store_id, o.id, o.placed_at, o.total_price
    FROM target t JOIN orders o ON o.store_id = t.store_id AND o.email = t.email
    WHERE o.cancelled_at IS NULL AND coalesce(o.financial_status, '') <> ALL(:not_bought)
), gaps AS (
    SELECT customer_id, placed_at, total_price,
           placed_at - lag(placed_at) OVER (PARTITION BY customer_id ORDER BY placed_at) AS gap
    FROM owned
), totals AS (
    SELECT customer_id, count(*) AS n, sum(total_price) AS spent, min(placed_at) AS first_at,
           max(placed_at) AS last_at, percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS gap
    FROM gaps GROUP BY customer_id
), bought AS (
    SELECT w.customer_id,
           jsonb_agg(DISTINCT l.product_id) FILTER (WHERE l.product_id IS NOT NULL) AS ids,
           jsonb_agg(DISTINCT l.title) AS titles,
           jsonb_agg(DISTINCT p.product_type) FILTER (WHERE p.product_type IS NOT NULL) AS types,
           jsonb_agg(DISTINCT p.vendor) FILTER (WHERE p.vendor IS NOT NULL) AS vendors
    FROM owned w JOIN order_lines l ON l.store_id = w.store_id AND l.order_id = w.order_id
    LEFT JOIN products p ON p.store_id = l.store_id AND p.platform_id = l.product_id
    GROUP BY w.customer_id
), mail AS (
    SELECT t.id AS customer_id, m.id AS message_id, m.sent_at
    FROM target t JOIN messages m ON m.store_id = t.store_id AND m.customer_id = t.id
    UNION
    SELECT t.id, m.id, m.sent_at
    FROM target t JOIN messages m ON m.store_id = t.store_id AND m.email = t.email
), sends AS (
    SELECT customer_id, array_agg(sent_at ORDER BY sent_at) AS recent FROM mail
    WHERE sent_at > :since
    GROUP BY customer_id
), engagement AS (
    SELECT w.customer_id, max(e.occurred_at) FILTER (WHERE e.kind = 'open') AS opened,
           max(e.occurred_at) FILTER (WHERE e.kind = 'click') AS clicked
    FROM mail w JOIN message_events e ON e.message_id = w.message_id
    GROUP BY w.customer_id
)
INSERT INTO customer_metrics AS cm (
    customer_id, store_id, orders_count, total_spent, average_order_value, first_order_at,
    last_order_at, product_ids, product_titles, product_types, vendors, last_opened_at,
    last_clicked_at, recent_sends,
    predicted_next_order_at, prediction_basis, computed_at)
SELECT t.id, t.store_id, coalesce(o.n, 0), coalesce(o.spent, 0), round(o.spent / o.n, 4),
       o.first_at, o.last_at, coalesce(b.ids, '[]'), coalesce(b.titles, '[]'),
       coalesce(b.types, '[]'), coalesce(b.vendors, '[]'), e.opened, e.clicked,
       coalesce(s.recent, '{{}}'),
       CASE WHEN o.n >= 2 THEN o.last_at + o.gap
            WHEN o.n = 1 THEN o.last_at + sm.median_order_interval END,
       CASE WHEN o.n >= 2 THEN 'own ' || o.n || ' orders'
            WHEN o.n = 1 AND sm.median_order_interval IS NOT NULL THEN 'store median' END,
       :now
FROM target t
LEFT JOIN totals o ON o.customer_id = t.id
LEFT JOIN bought b ON b.customer_id = t.id
LEFT JOIN sends s ON s.customer_id = t.id
LEFT JOIN engagement e ON e.customer_id = t.id
LEFT JOIN store_metrics sm ON sm.store_id = t.store_id
ON CONFLICT (customer_id) DO UPDATE SET
    orders_count = excluded.orders_count, total_spent = excluded.total_spent,
    average_order_value = excluded.average_order_value, first_order_at = excluded.first_order_at,
    last_order_at = excluded.last_order_at, product_ids = excluded.product_ids,
    product_titles = excluded.product_titles, product_types = excluded.product_types,
    vendors = excluded.vendors, last_opened_at = excluded.last_opened_at,
    last_clicked_at = excluded.last_clicked_at, recent_sends = excluded.recent_sends,
    predicted_next_order_at = excluded.predicted_next_order_at,
    prediction_basis = excluded.prediction_basis, computed_at = excluded.computed_at
"""
# Planning the upkeep's statement takes several times longer than running it for a few customers,
# and its plan does not depend on which customers: a generic plan, made once per connection
# (psycopg prepares a statement on its fifth use), is kept for it alone. The setting rides on the
# statements around it rather than two SETs of their own (two round trips of an email's upkeep):
# the owners' lock turns it on for the transaction, and the statement turns it back to auto as
# it runs, after its plan was chosen.
GENERIC_PLAN = func.set_config("plan_cache_mode", "force_generic_plan", True)
FOR_CUSTOMERS = text(RECOMPUTE.format(
    which="c.store_id = :store_id AND c.id = ANY(:customer_ids)"
          " AND set_config('plan_cache_mode', 'auto', true) IS NOT NULL"))
FOR_STORE = text(RECOMPUTE.format(which="c.store_id = :store_id"))

# The median time between one customer's consecutive counted orders, over the whole store.
STORE_MEDIAN = text("""
WITH gaps AS (
    SELECT placed_at - lag(placed_at) OVER (PARTITION BY customer_id ORDER BY placed_at) AS gap
    FROM orders
    WHERE store_id = :store_id AND customer_id IS NOT NULL AND cancelled_at IS NULL
      AND coalesce(financial_status, '') <> ALL(:not_bought)
)
INSERT INTO store_metrics (store_id, median_order_interval, computed_at)
SELECT :store_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY gap), :now FROM gaps
ON CONFLICT (store_id) DO UPDATE SET
    median_order_interval = excluded.median_order_interval, computed_at = excluded.computed_at
""")

# The spend from which a buyer is in the store's top 5 % (read after its rows were rebuilt).
TOP_SPEND = text("""
UPDATE store_metrics SET top_spend = (
    SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY total_spent) FROM customer_metrics
    WHERE store_id = :store_id AND total_spent > 0)
WHERE store_id = :store_id
""")


def _params(store_id: int, **extra) -> dict:
    now = clock.now()
    return {"store_id": store_id, "not_bought": list(NOT_BOUGHT), "now": now,
            "since": now - ENGAGEMENT_WINDOW, **extra}


def recompute(session: Session, store_id: int, customer_ids: list[int]) -> None:
    """Rebuild these customers' rows (ids of other stores are ignored)."""
    if not customer_ids:
        return
    session.execute(FOR_CUSTOMERS, _params(store_id, customer_ids=sorted(set(customer_ids))))


def recompute_store(session: Session, store_id: int) -> int:
    """Refresh the store's median order interval, rebuild every customer's row, then set the
    store's top-5 % spend from them; how many rows."""
    session.execute(STORE_MEDIAN, _params(store_id))
    rows = session.execute(FOR_STORE, _params(store_id)).rowcount
    session.execute(TOP_SPEND, {"store_id": store_id})
    return rows


def _locked(session: Session, store_id: int, match, *joined, upkeep: bool = False) -> list[int]:
    """The ids of the store's customers `match` holds for, locked: a concurrent upkeep for them
    waits for this transaction to commit, so its statement starts from a snapshot with this
    order or message in it, instead of overwriting the row with a count that misses it. Locked
    in id order, as every upkeep takes them. For an `upkeep`, the recompute's generic plan is
    turned on with them (GENERIC_PLAN)."""
    query = select(Customer.id).add_columns(GENERIC_PLAN) if upkeep else select(Customer.id)
    for table, on in joined:
        query = query.join(table, on)
    return list(session.execute(query.where(Customer.store_id == store_id, match)
                                .order_by(Customer.id).with_for_update(of=Customer)).scalars())


def owners(session: Session, store_id: int, customer_ids: Iterable[int | None],
           emails: Iterable[str | None], upkeep: bool = False) -> list[int]:
    """The customers messages or an order belong to (their linked rows and their addresses'),
    locked."""
    ids = sorted({customer_id for customer_id in customer_ids if customer_id is not None})
    addresses = sorted({email for email in emails if email})
    match = ([Customer.id.in_(ids)] if ids else []) + (
        [Customer.email.in_(addresses)] if addresses else [])
    return _locked(session, store_id, or_(*match), upkeep=upkeep) if match else []


def order_owners(session: Session, store_id: int, order_id: int,
                 upkeep: bool = False) -> list[int]:
    """The customers an order belongs to (its linked row and its address's), locked; read with
    the order in one statement."""
    return _locked(session, store_id,
                   or_(Customer.id == Order.customer_id, Customer.email == Order.email),
                   (Order, (Order.store_id == Customer.store_id) & (Order.id == order_id)),
                   upkeep=upkeep)


def order_stored(session: Session, store_id: int, order_id: int) -> None:
    """Upkeep after an order was stored, changed, cancelled or deleted."""
    recompute(session, store_id, order_owners(session, store_id, order_id, upkeep=True))


def message_recorded(session: Session, message: Message) -> None:
    """Upkeep after a message was opened or clicked."""
    session.flush()  # the open or click just added is part of what the statement reads
    mail_recorded(session, message.store_id, [message.customer_id], [message.email])


def mail_recorded(session: Session, store_id: int, customer_ids: Iterable[int | None],
                  emails: Iterable[str | None]) -> None:
    """Upkeep after messages of one store were sent, opened or clicked: the rows of the
    customers they belong to (linked, or by address), rebuilt in one statement."""
    recompute(session, store_id, owners(session, store_id, customer_ids, emails, upkeep=True))


def recompute_all() -> int:
    """Daily, store by store: the backfill of rows not yet there, each store's median order
    interval (one-time buyers' predictions move with it), and the 30-day window moved on."""
    with db.session() as session:
        store_ids = session.execute(select(Store.id).order_by(Store.id)).scalars().all()
    for store_id in store_ids:
        with db.session() as session:
            recompute_store(session, store_id)
    return len(store_ids)
