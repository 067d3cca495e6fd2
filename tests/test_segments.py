"""Segments through the `storeflow segments` commands and real Shopify webhooks: live counts and
members, entered/left events on orders, refunds, tags and consent, and the daily pass for what
time changes. The built-ins are ordinary rules that count on a real store."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from sqlalchemy import select

from app.audiences import conditions, membership, metrics, segments
from app.audiences.builtins import BUILTINS
from app.core import clock, events
from app.core.db import db
from app.models import Customer, Segment, SegmentMember
from tests.helpers import published
from tests.test_audience_metrics import AT, shopify_order
from tests.test_consent import consent_update
from tests.ui_helpers import connect_rival

TWICE_OVER_100 = ('{"and": [{">=": [{"var": "customer.orders_count"}, 2]},'
                  ' {">": [{"var": "customer.total_spent"}, 100]}]}')
JOHN = "john@example.com"  # the published order's customer


def other_buyer(platform_id: int, email: str) -> dict:
    return published("shopify/orders_create.json")["customer"] | {"id": platform_id, "email": email}


def segment_events(emitted) -> list[tuple[str, str]]:
    """(event, segment name) of every segment event published so far."""
    with db.session() as session:
        names = dict(session.execute(select(Segment.id, Segment.name)).all())
    return [(e.name, names.get(e.related_id)) for e in emitted
            if e.name in (events.SEGMENT_ENTERED, events.SEGMENT_LEFT)]


def test_bought_twice_and_spent_over_100_from_the_command_line(shop, webhooks, run_jobs, storeflow):
    with clock.frozen_at(AT + timedelta(days=60)):
        webhooks.deliver("orders/create", shopify_order(1001, AT, "60.00"))
        webhooks.deliver("orders/create", shopify_order(1002, AT + timedelta(days=1), "50.00"))
        webhooks.deliver("orders/create", shopify_order(
            2001, AT, "500.00", customer=other_buyer(77, "ann@example.com"), email="ann@example.com"))
        run_jobs()

        created = storeflow("segments", "create", "--store", shop.domain, "Loyal big spenders",
                            "--rule", TWICE_OVER_100)
        assert "1 customer(s)" in created.output
        listed = json.loads(storeflow("segments", "list", "--store", str(shop.id), "--json").output)
        assert listed == [{"name": "Loyal big spenders", "count": 1,
                           "rule": json.loads(TWICE_OVER_100)}]
        assert storeflow("segments", "members", "--store", shop.domain,
                         "Loyal big spenders").output == f"{JOHN}\n"

        table = list(csv.reader(io.StringIO(storeflow(
            "segments", "members", "--store", shop.domain, "Loyal big spenders", "--csv").output)))
        assert table[0] == list(segments.CSV_COLUMNS)
        assert table[1][:5] == [JOHN, "John", "Smith", "2", "110.0000"]

        storeflow("segments", "update", "--store", shop.domain, "Loyal big spenders",
                  "--rule", '{">=": [{"var": "customer.total_spent"}, 100]}')
        assert storeflow("segments", "members", "--store", shop.domain, "Loyal big spenders",
                         "--sort", "spend").output == f"ann@example.com\n{JOHN}\n"
        storeflow("segments", "delete", "--store", shop.domain, "Loyal big spenders")
        assert json.loads(storeflow("segments", "list", "--store", shop.domain, "--json").output) == []


def test_bad_names_and_rules_are_one_clear_line_naming_the_part(shop, storeflow):
    bad_rule = storeflow("segments", "create", "--store", shop.domain, "Spenders", "--rule",
                         '{"and": [{">": [{"var": "customer.spent"}, 1]}]}', ok=False)
    assert bad_rule.exit_code == 1
    assert bad_rule.output.strip() == "Error: rule /and/0/>/0: unknown variable 'customer.spent'"
    for name in ("", " ", "x" * 61, "VIP; DROP TABLE segments", "<b>VIP</b>", "_leading", "tab\there"):
        refused = storeflow("segments", "create", "--store", shop.domain, name, "--rule", "true",
                            ok=False)
        assert refused.output.strip() == f"Error: a segment name is {segments.NAME_RULE}"
    storeflow("segments", "create", "--store", shop.domain, "Everyone", "--rule", "true")
    twice = storeflow("segments", "create", "--store", shop.domain, "Everyone", "--rule", "true",
                      ok=False)
    assert twice.output.strip() == "Error: there is already a segment named 'Everyone'"
    assert "Traceback" not in bad_rule.output + twice.output


def test_sql_in_a_rule_is_a_value_or_a_refusal_never_sql(shop, storeflow):
    storeflow("segments", "create", "--store", shop.domain, "Quoted", "--rule",
              '{"==": [{"var": "customer.first_name"}, "x\' OR \'1\'=\'1"]}')
    injected = storeflow("segments", "create", "--store", shop.domain, "Injected", "--rule",
                         '{"var": "customer.email; DROP TABLE customers"}', ok=False)
    assert "unknown variable" in injected.output
    listed = json.loads(storeflow("segments", "list", "--store", shop.domain, "--json").output)
    assert [(s["name"], s["count"]) for s in listed] == [("Quoted", 0)]


def test_another_stores_segment_is_not_there_for_this_store(shop, storeflow):
    rival = connect_rival()
    storeflow("segments", "create", "--store", str(rival.id), "Theirs", "--rule", "true")
    for command in (("members",), ("delete",), ("update", "--rule", "false")):
        refused = storeflow("segments", command[0], "--store", shop.domain, "Theirs",
                            *command[1:], ok=False)
        assert refused.output.strip() == "Error: no segment named 'Theirs'"
    assert json.loads(storeflow("segments", "list", "--store", shop.domain, "--json").output) == []
    assert len(json.loads(storeflow("segments", "list", "--store", rival.domain,
                                    "--json").output)) == 1


def test_another_stores_segment_takes_in_none_of_this_stores_customers(shop, webhooks, run_jobs,
                                                                       storeflow, emitted):
    rival = connect_rival()
    storeflow("segments", "create", "--store", str(rival.id), "Everyone", "--rule", "true")

    webhooks.deliver("customers/create", published("shopify/customers_create.json"))
    webhooks.deliver("orders/create", shopify_order(1001, AT, "10.00"))
    run_jobs()

    assert segment_events(emitted) == []
    with db.session() as session:
        assert session.execute(select(SegmentMember)).all() == []


def test_orders_refunds_tags_and_consent_move_customers_in_and_out(shop, webhooks, run_jobs,
                                                                    storeflow, emitted):
    webhooks.deliver("customers/create", published("shopify/customers_create.json"))
    run_jobs()
    for name, rule in (("Repeat", '{">=": [{"var": "customer.orders_count"}, 2]}'),
                       ("Tagged", '{"in": ["wholesale", {"var": "customer.tags"}]}'),
                       ("Subscribed", '{"var": "customer.accepts_marketing"}')):
        storeflow("segments", "create", "--store", shop.domain, name, "--rule", rule)
    assert segment_events(emitted) == []  # saving a segment moves no one

    webhooks.deliver("orders/create", shopify_order(1001, AT, "10.00"))
    run_jobs()
    assert segment_events(emitted) == []
    webhooks.deliver("orders/create", shopify_order(1002, AT + timedelta(days=3), "10.00"))
    run_jobs()
    assert segment_events(emitted) == [("segment_entered", "Repeat")]
    later = (AT + timedelta(days=4)).isoformat()
    webhooks.deliver("orders/updated", shopify_order(
        1002, AT + timedelta(days=3), "10.00", financial_status="refunded", updated_at=later))
    run_jobs()
    assert segment_events(emitted)[1:] == [("segment_left", "Repeat")]

    tagged = published("shopify/customers_update.json") | {
        "tags": "wholesale, early", "updated_at": "2022-01-05T10:00:00Z"}
    webhooks.deliver("customers/update", tagged)
    webhooks.deliver("customers_email_marketing_consent/update",
                     consent_update("subscribed", "2022-01-06T10:00:00Z"))
    run_jobs()
    assert segment_events(emitted)[2:] == [("segment_entered", "Tagged"),
                                           ("segment_entered", "Subscribed")]
    bob = events_subject(emitted[-1])
    assert bob.email == "bob@biller.com"
    with db.session() as session:
        assert [s.name for s in segments.of_customer(session, bob)] == ["Subscribed", "Tagged"]


def events_subject(event) -> Customer:
    with db.session() as session:
        return session.get(Customer, event.subject_id)


def test_the_daily_pass_publishes_what_time_changed(shop, webhooks, run_jobs, storeflow, emitted):
    with clock.frozen_at(AT + timedelta(days=1)):
        webhooks.deliver("orders/create", shopify_order(1001, AT, "10.00"))
        run_jobs()
        storeflow("segments", "create", "--store", shop.domain, "Lapsed 90",
                  "--rule", json.dumps(BUILTINS["lapsed_90"].rule))
        assert membership.refresh_all() == 0
    with clock.frozen_at(AT + timedelta(days=90, hours=1)):
        assert membership.refresh_all() == 1
        assert membership.refresh_all() == 0  # found once, told once
    assert segment_events(emitted) == [("segment_entered", "Lapsed 90")]
    with clock.frozen_at(AT + timedelta(days=91)):
        webhooks.deliver("orders/create", shopify_order(1002, AT + timedelta(days=91), "10.00"))
        run_jobs()
    assert segment_events(emitted)[1:] == [("segment_left", "Lapsed 90")]
    with db.session() as session:
        assert session.execute(select(SegmentMember)).all() == []


def test_every_builtin_is_a_rule_that_counts_on_a_real_store(shop, webhooks, run_jobs):
    now = AT + timedelta(days=100)
    with clock.frozen_at(now):
        for n in range(20):  # twenty buyers of 10, 20, ... 200; the last also bought before
            buyer = other_buyer(500 + n, f"buyer{n}@example.com")
            webhooks.deliver("orders/create", shopify_order(
                3000 + n, AT, f"{10 * (n + 1)}.00", customer=buyer, email=buyer["email"]))
        webhooks.deliver("orders/create", shopify_order(
            4000, now - timedelta(days=2), "5.00", customer=other_buyer(519, "buyer19@example.com"),
            email="buyer19@example.com"))
        run_jobs()
        with db.session() as session:
            metrics.recompute_store(session, shop.id)  # the daily bar of the top 5 %
        with db.session() as session:
            counts = {key: segments.count(session, shop.id, conditions.check(builtin.rule))
                      for key, builtin in BUILTINS.items()}
    assert counts == {"vip": 1, "repeat": 1, "one_time": 19, "never": 0, "lapsed_90": 19,
                      "lapsed_180": 0, "lapsed_365": 0, "engaged_30": 0, "due_to_reorder": 0}


def test_a_customer_just_stored_is_never_purchased_before_any_recompute(shop, webhooks, run_jobs):
    """Every customer has a metrics row from the moment it is stored (migration 0026's trigger),
    which segments join to: a new customer counts as "never purchased" at once."""
    customer = published("shopify/customers_create.json")
    webhooks.deliver("customers/create", customer)
    run_jobs()
    never = conditions.check(BUILTINS["never"].rule)
    with db.session() as session:
        emails = [m.email for m in segments.members(session, shop.id, never)]
        count = segments.count(session, shop.id, never)
    assert (emails, count) == ([customer["email"].lower()], 1)


def test_customers_who_bought_a_product_type_or_vendor(shop, webhooks, run_jobs):
    """The published product (type Shirts, vendor Acme) bought in the published order: John is in
    "bought Shirts" and "bought from Acme", and no one is in "bought from anyone else"."""
    with clock.frozen_at(AT + timedelta(days=1)):
        product = published("shopify/products_update.json")
        line_product = published("shopify/orders_create.json")["line_items"][0]["product_id"]
        webhooks.deliver("products/update", {**product, "id": line_product})
        webhooks.deliver("orders/create", shopify_order(1001, AT, "60.00"))
        run_jobs()
        with db.session() as session:
            def members(rule):
                return [m.email for m in segments.members(session, shop.id, conditions.check(rule))]
            assert members({"in": ["Shirts", {"var": "customer.product_types"}]}) == [JOHN]
            assert members({"in": ["Acme", {"var": "customer.vendors"}]}) == [JOHN]
            assert members({"in": ["Globex", {"var": "customer.vendors"}]}) == []


def test_a_rule_changed_while_a_drain_runs_holds_for_its_later_deliveries(
        shop, webhooks, monkeypatch):
    """The merchant raises a segment's bar between two deliveries of one drain's batch: the
    second customer is judged by the new rule, not by what the batch read before."""
    from app.ingest import drain
    from tests.helpers import work

    with clock.frozen_at(AT + timedelta(days=60)):
        with db.session() as session:
            segments.create(session, shop.id, "Big", '{">=": [{"var": "customer.total_spent"}, 100]}',
                            actor="test")
        for n, email in ((81, "ann@example.com"), (82, "bob@example.com")):
            webhooks.deliver("orders/create", shopify_order(
                3000 + n, AT, "500.00", customer=other_buyer(n, email), email=email))
        real, seen = drain.ingest_row, []

        def ingest_row(session, event):
            if seen:  # between the two deliveries the merchant raises the bar (committed)
                with db.session() as other:
                    segment = other.execute(select(Segment)).scalar_one()
                    segments.update(other, segment,
                                    '{">=": [{"var": "customer.total_spent"}, 1000]}',
                                    actor="merchant")
            seen.append(event.id)
            return real(session, event)

        monkeypatch.setattr(drain, "ingest_row", ingest_row)
        work("ingest", max_jobs=1)
    assert len(seen) == 2  # one batch
    with db.session() as session:
        members = session.execute(select(Customer.email).join(
            SegmentMember, SegmentMember.customer_id == Customer.id)).scalars().all()
    assert members == []
