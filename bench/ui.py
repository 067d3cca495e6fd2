"""The settings UI's pages over a store with 100,000 customers and a year of messages (see
bench/history.py), beside a small second store in the same database: each page requested through
the real Flask app, signed in with a login link, N times after a warm-up.
Baseline: GET /healthz (a database and a Redis round trip), in the same run.

Target (issue 8): every page under 200 ms at p95.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections import defaultdict

from sqlalchemy import text

from app import create_app
from app.audiences import segments
from app.campaigns import campaigns
from app.core import clock, stores
from app.core.db import db
from app.models import Store
from app.web.ui import auth
from bench import audience, history
from bench.harness import load_note, record, services
from flows import choices, document, dryrun, library
from flows.catalog import FLOWS

TARGET_MS = 200
BIG = history.Volume(customers=100_000, orders=200_000, checkouts=100_000, product_views=20_000,
                     products=200, webhooks=60_000)
SMALL = history.Volume(customers=5, orders=12, checkouts=6, product_views=3, products=5,
                       webhooks=20)
SETTINGS = {"from_name": "Bench Goods", "from_email": "hello@bench.example",
            "postal_address": "1 Bench Street, Portland, OR 97201",
            "timezone": "America/New_York"}
BUILT_NAME = "bench_thirty_steps"
# The campaign whose page is timed before its send (issue 21): to every customer but one (the
# bench's customers are all subscribed), so the recipient count resolves two segments over all.
CAMPAIGN = "Spring teas"
AUDIENCE = {"Everyone": True, "Staff": {"==": [{"var": "customer.email"}, "shopper1@example.com"]}}
TABLES = ("customers", "orders", "checkouts", "flow_runs", "messages", "message_events",
          "attributions", "timeline", "webhook_events")


def small_store() -> Store:
    with db.session() as session:
        store, _ = stores.connect(session, "woocommerce", "https://small.example",
                                  access_token="ck", webhook_secret="s")
    return store


def thirty_steps() -> dict:
    """A built flow of 30 steps for the builder page (issue 17: under 200 ms): waits and emails,
    then a branch on the first email's clicks with a tag on one side and emails on the other."""
    steps = []
    for n in range(1, 12):
        steps += [{"id": f"wait_{n}", "wait": {"days": n}},
                  {"id": f"email_{n}", "send": {"subject": f"Note {n} for {{{{ first_name }}}}",
                                                "body": "Something new in the shop."}}]
    steps.append({"id": "clicked", "if": {"var": "run.steps.email_1.clicked"},
                  "then": [{"id": "tag_engaged", "tag": {"add": "engaged"}},
                           {"id": "score_up", "score": {"add": 5}}],
                  "else": [{"id": "wait_last", "wait": {"days": 2}},
                           {"id": "nudge", "send": {"subject": "Still here", "body": "Come back."}},
                           {"id": "wait_after", "wait": {"hours": 12}},
                           {"id": "last_tag", "tag": {"add": "quiet"}},
                           {"id": "bye", "exit": {}}]})
    doc = {"format": document.FORMAT, "name": BUILT_NAME, "title": "Thirty steps",
           "consent": "marketing", "trigger": {"event": "order_placed"}, "steps": steps}
    return document.parse(json.dumps(doc))


def build(big: Store, small: Store, scale: float) -> float:
    """Both stores' history in time order, then VACUUM ANALYZE; returns the seconds it took."""
    at = clock.now()
    started = time.perf_counter()
    for store, size in ((big, BIG.scaled(scale)), (small, SMALL)):
        with db.session() as session:
            session.get(Store, store.id).settings = SETTINGS
            library.save(session, store.id, thirty_steps(), "bench")
            for name, rule in AUDIENCE.items():
                segments.create(session, store.id, name, json.dumps(rule), "bench")
            campaigns.create(session, store.id, CAMPAIGN, subject="New teas, {{ first_name }}",
                             included=("Everyone",), excluded=("Staff",), actor="bench")
        history.seed(store, size, at)
    history.in_time_order()
    audience.ddl("VACUUM ANALYZE")
    return time.perf_counter() - started


def sql(statement: str, **params):
    with db.session() as session:
        return session.execute(text(statement), params).one()


def pages(store: Store) -> dict[str, str]:
    """Every page of the UI, for this store's busiest customer and a recent message."""
    email, customer_id = sql("""SELECT email, customer_id FROM messages WHERE store_id = :s
                                GROUP BY email, customer_id ORDER BY count(*) DESC, customer_id
                                LIMIT 1""", s=store.id)
    message_id, = sql("""SELECT id FROM messages WHERE store_id = :s AND status = 'sent'
                         AND template = 'abandoned_checkout/email_1'
                         ORDER BY created_at DESC LIMIT 1""", s=store.id)
    campaign_id, = sql("SELECT id FROM campaigns WHERE store_id = :s AND name = :n",
                       s=store.id, n=CAMPAIGN)
    return {
        "overview": "/app/",
        "flows": "/app/flows",
        "activity": "/app/activity",
        "activity, sent only": "/app/activity?status=sent",
        "activity, failed only": "/app/activity?status=failed",
        "activity, search with no match": "/app/activity?email=nobody%40example.com",
        "customer timeline (search hit)": f"/app/activity?email={email}",
        "message": f"/app/activity/messages/{message_id}",
        "settings": "/app/settings",
        "flow builder, a flow of 30 steps": f"/app/flows/{BUILT_NAME}/build",
        "preview of a step as that customer":
            f"/app/preview?step=abandoned_checkout/email_1&customer_id={customer_id}",
        "email designer as that customer (issue 18)":
            f"/app/emails/abandoned_checkout/email_1/design?customer_id={customer_id}",
        "campaigns (issue 21)": "/app/campaigns",
        "campaign before its send (issue 21)": f"/app/campaigns/{campaign_id}",
        "campaign before its send, as that customer (issue 21)":
            f"/app/campaigns/{campaign_id}?customer_id={customer_id}",
        "its recipient count and duration (JSON, asked once that page has loaded)":
            f"/app/campaigns/{campaign_id}/recipients",
    }


def signed_in(flask_app, store: Store):
    """A test client signed in as the UI does it: a login link, then the session cookie."""
    client = flask_app.test_client()
    response = client.get(f"/app/login/{auth.login_token(store.id)}")
    assert response.status_code == 302, response.status_code
    return client


def took(client, path: str) -> float:
    """One GET's milliseconds; it must answer 200."""
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (path, response.status_code)
    return elapsed


def figures(times: list[float]) -> dict[str, float]:
    """Median and p95 (nearest rank)."""
    ordered = sorted(times)
    return {"median": statistics.median(ordered),
            "p95": ordered[math.ceil(0.95 * len(ordered)) - 1]}


def scoped(client, foreign_path: str) -> bool:
    """Another store's message looks like no message at all."""
    return client.get(foreign_path).status_code == 404


def measure(flask_app, big: Store, small: Store, runs: int, warmup: int):
    """The baseline, each page's figures for both stores, and whether scoping held. Each round
    asks every page once, so whatever else loads the machine falls on all of them alike."""
    clients = {big.id: signed_in(flask_app, big), small.id: signed_in(flask_app, small)}
    paths = {store.id: pages(store) for store in (big, small)}
    asked = [(("/healthz", big.id), "/healthz")] + [
        ((name, store_id), path)
        for store_id, named in paths.items() for name, path in named.items()]
    times = defaultdict(list)
    for round_ in range(warmup + runs):
        for key, path in asked:
            elapsed = took(clients[key[1]], path)
            if round_ >= warmup:
                times[key].append(elapsed)
    results = {name: (figures(times[name, big.id]), figures(times[name, small.id]))
               for name in paths[big.id]}
    isolated = scoped(clients[small.id], paths[big.id]["message"])
    return figures(times["/healthz", big.id]), results, isolated


def meets(pair: tuple[dict, dict]) -> bool:
    return max(figures["p95"] for figures in pair) < TARGET_MS


def sizes(store: Store) -> str:
    return ", ".join(f"{sql(f'SELECT count(*) FROM {t} WHERE store_id = :s', s=store.id)[0]:,} {t}"
                     for t in TABLES)


def table(results: dict, baseline: dict) -> list[str]:
    rows = ["| page | big store median ms | p95 ms | median / `/healthz` | small store median ms "
            f"| p95 ms | < {TARGET_MS} ms at p95 |", "|---|---|---|---|---|---|---|"]
    for name, (big, small) in results.items():
        rows.append(f"| {name} | {big['median']:.1f} | {big['p95']:.1f} | "
                    f"{big['median'] / baseline['median']:.0f} | {small['median']:.1f} | "
                    f"{small['p95']:.1f} | {'pass' if meets((big, small)) else '**miss**'} |")
    return rows


def dry_runs(big: Store) -> list[str]:
    """Each flow's dry run over the big store's last 30 days, as the worker's job does it (the
    page shows its answer when ready, so this is a wait, not a page time)."""
    rows = ["| flow | triggers replayed | would have emailed | seconds |", "|---|---|---|---|"]
    for flow in FLOWS.values():
        with db.session() as session:
            settings = choices.effective(session, big.id, flow)[1]
            started = time.perf_counter()
            report = dryrun.dry_run(session, session.get(Store, big.id), flow, settings, clock.now())
            elapsed = time.perf_counter() - started
        rows.append(f"| {flow.name} | {report.triggers:,} | {len(report.emailed):,} | {elapsed:.1f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="of the big store's volume")
    parser.add_argument("--pages-only", action="store_true", help="without the flows' dry runs")
    args = parser.parse_args()
    note = load_note()
    config, big = services()
    small = small_store()
    built = build(big, small, args.scale)
    baseline, results, isolated = measure(create_app(config), big, small, args.runs, args.warmup)
    missed = [name for name, pair in results.items() if not meets(pair)]
    size, = sql("SELECT pg_size_pretty(pg_database_size(current_database()))")
    record("Settings UI pages (bench/ui.py)", [
        note, "",
        f"Big store: {sizes(big)}, over {history.DAYS} days (webhooks: the inbox's last "
        f"{history.WEBHOOK_DAYS}). Small store in the same database: {sizes(small)}. Written "
        f"with SQL and laid out in time order, as a live store's rows are, in {built:.0f} s; "
        f"then VACUUM ANALYZE. Database {size}.",
        "",
        f"Each page through Flask's test client in the bench process (signed in with a login "
        f"link), {args.runs} rounds of every page after {args.warmup} warm-up rounds: the "
        "whole request in the server (routing, queries, rendering), no network. Baseline "
        f"`/healthz`: median {baseline['median']:.1f} ms, p95 {baseline['p95']:.1f} ms.",
        "",
        *table(results, baseline),
        "",
        f"Another store's message answered 404: {'yes' if isolated else '**no**'}. Pages over "
        f"{TARGET_MS} ms at p95: **{', '.join(missed) if missed else 'none'}** (target: every "
        f"page < {TARGET_MS} ms).",
        *([] if args.pages_only else [
            "", "Dry runs of every flow over the big store's last 30 days (a worker job; the "
            "page waits for it):", "", *dry_runs(big)]),
    ])


if __name__ == "__main__":
    main()
