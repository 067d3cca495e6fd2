"""Many abandoned checkouts at once, written with SQL rather than one webhook at a time, for the
fault tests and benchmarks that need hundreds or many thousands of runs coming due."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import text

from app.core.db import db
from flows import catalog, choices
from flows.steps import Flow

HOUR = timedelta(hours=1)

# One statement: subscribed customers, a one-line checkout each, and an abandoned-checkout run
# at step 0 (the one-hour wait) whose anchor is an hour before it falls due, as `enroll` leaves it.
_SEED = text("""
WITH c AS (
  INSERT INTO customers (store_id, platform_id, email, first_name, last_name, country_code, tags,
                         email_consent, email_consent_opt_in_level, email_consent_updated_at,
                         source_created_at, source_updated_at, created_at, updated_at)
  SELECT :store, :first + n, 'shopper' || (:first + n) || '@example.com', 'Shopper', 'Number ' || n,
         'US', '[]', 'subscribed', 'single_opt_in', :anchor, :anchor, :anchor, :anchor, :anchor
  FROM generate_series(0, :count - 1) AS n
  RETURNING id, platform_id, email
), k AS (
  INSERT INTO checkouts (store_id, token, platform_id, customer_id, email, stage, currency,
                         total_price, recovery_url, source_created_at, source_updated_at,
                         created_at, updated_at)
  SELECT :store, 'seed-' || platform_id, platform_id, id, email, 'checkout', 'USD', 199.00,
         'https://' || :domain || '/checkouts/seed-' || platform_id || '/recover', :anchor, :anchor,
         :anchor, :anchor
  FROM c
  RETURNING id, customer_id, platform_id
), l AS (
  INSERT INTO checkout_lines (store_id, checkout_id, product_id, variant_id, sku, title,
                              variant_title, quantity, price)
  SELECT :store, id, 632910392, 808950810, 'IPOD2008PINK', 'IPod Nano - 8GB', 'Pink', 1, 199.00
  FROM k
)
INSERT INTO flow_runs (store_id, flow, version, customer_id, subject, subject_id, status, step,
                       triggered_at, anchor_at, due_at, settings, data, holdout, started_at,
                       updated_at)
SELECT :store, :flow, :version, customer_id, 'checkout', id, 'active', 0,
       :anchor + (platform_id - :first) * :gap, :anchor + (platform_id - :first) * :gap,
       :due + (platform_id - :first) * :gap, CAST(:settings AS jsonb), '{}', false, :anchor, :anchor
FROM k
""")


def due_checkout_runs(store_id: int, domain: str, count: int, due_at: datetime, *,
                      spread: timedelta = timedelta(0), first: int = 1,
                      flow: Flow = catalog.FLOWS["abandoned_checkout"]) -> None:
    """`count` runs of a checkout flow (abandoned checkout unless told) falling due from
    `due_at` over `spread`, one per new subscribed customer (platform ids from `first`). The
    flow must be enabled for the store."""
    with db.session() as session:
        enabled, settings = choices.effective(session, store_id, flow)
        assert enabled, f"enable {flow.name} first: a disabled flow's runs exit at once"
        session.execute(_SEED, {
            "store": store_id, "domain": domain, "count": count, "first": first,
            "flow": flow.name, "version": flow.version, "settings": json.dumps(settings),
            "due": due_at, "anchor": due_at - HOUR, "gap": spread / max(count, 1),
        })
