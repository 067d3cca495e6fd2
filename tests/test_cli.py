"""The `storeflow` command as an operator uses it, in production configuration."""
from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select, text

from app.cli import cli
from app.core.db import db
from tests.helpers import SHOP, published


def test_store_add_prints_the_id_alone_on_the_last_line_and_reconnect_updates(storeflow):
    first = storeflow("store", "add", "shopify", "Demo-Shop.myshopify.com",
                      "--token", "shpat_one", "--webhook-secret", "secret-one")
    store_id = first.output.strip().splitlines()[-1]
    assert store_id.isdigit()

    again = storeflow("store", "add", "shopify", "demo-shop.myshopify.com",
                      "--token", "shpat_two", "--webhook-secret", "secret-two")

    assert again.output.strip().splitlines()[-1] == store_id
    with db.session() as session:
        rows = session.execute(text("SELECT domain, access_token FROM stores")).all()
    assert len(rows) == 1
    domain, stored_token = rows[0]
    assert domain == "demo-shop.myshopify.com"
    assert "shpat_two" not in stored_token  # encrypted at rest


def test_store_add_refuses_a_domain_that_is_not_a_shop(storeflow):
    result = storeflow("store", "add", "shopify", "evil.example.com/..",
                       "--token", "t", "--webhook-secret", "s", ok=False)
    assert result.exit_code == 2
    assert "myshopify.com" in result.output


def test_customer_export_contains_their_orders(storeflow, shop, webhooks, run_jobs):
    order = published("shopify/orders_create.json")
    checkout = published("shopify/checkouts_create.json")
    webhooks.deliver("orders/create", order)
    webhooks.deliver("checkouts/create", checkout)
    webhooks.deliver("customers/create", published("shopify/customers_create.json"))
    run_jobs()

    # Shopify's samples give john@example.com two customer ids: the order's and the checkout's.
    for store_ref in (SHOP, str(shop.id)):
        exported = json.loads(storeflow("customer", "export", "--store", store_ref,
                                        "--email", " John@Example.com ").output)
        assert sorted(c["platform_id"] for c in exported["customers"]) == sorted(
            [order["customer"]["id"], checkout["customer"]["id"]])
        assert [o["name"] for o in exported["orders"]] == ["#9999"]
        assert [l["title"] for l in exported["orders"][0]["lines"]] == [
            item["title"] for item in order["line_items"]]
        assert [c["token"] for c in exported["checkouts"]] == [checkout["token"]]
        assert "bob@biller.com" not in json.dumps(exported)  # another customer's data


def test_unknown_store_is_a_clear_error(storeflow):
    result = storeflow("customer", "export", "--store", "nope.myshopify.com", "--email", "a@b.c",
                       ok=False)
    assert result.exit_code == 1
    assert "no store 'nope.myshopify.com'" in result.output


def test_settings_set_and_show(storeflow, shop):
    storeflow("settings", "set", "--store", SHOP, "timezone=Europe/Paris", "quiet_hours=off",
              "frequency_cap_hours=0")
    shown = json.loads(storeflow("settings", "show", "--store", SHOP, "--json").output)
    assert shown["timezone"] == "Europe/Paris"
    assert shown["quiet_hours"] == "off"
    assert shown["frequency_cap_hours"] == 0
    assert shown["attribution_days"] == 5  # untouched default

    bad = storeflow("settings", "set", "--store", SHOP, "timezone=Mars/Olympus", ok=False)
    assert bad.exit_code == 2
    assert "IANA" in bad.output


def test_a_production_process_names_the_missing_variable(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example/x")
    for name in ("SECRET_KEY", "ENCRYPTION_KEY", "REDIS_URL", "BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "SECRET_KEY is not set" in result.output


def test_a_worker_can_serve_only_the_queues_it_is_given(storeflow):
    from app.jobs import broker

    slow = broker.queue("sync").enqueue("app.core.clock.now")
    mail = broker.queue("mail").enqueue("app.core.clock.now")

    storeflow("worker", "--burst", "--queue", "sync")

    assert slow.get_status(refresh=True) == "finished"
    assert mail.get_status(refresh=True) == "queued"
    unknown = storeflow("worker", "--queue", "nope", ok=False)
    assert unknown.exit_code == 2 and "no queue nope" in unknown.output


def test_customer_export_holds_everything_kept_about_them(storeflow, shop):
    """A data-access request gets all of it: consent history, visits and views, messages with
    their opens and clicks, flow runs and their timeline, suppression; nobody else's."""
    from app.core import clock
    from app.core.db import db
    from app.models import (ConsentChange, Customer, Message, MessageEvent, ProductView,
                            Suppression, Visitor)
    from tests.ui_helpers import ANA, seed_history

    seed_history(shop)
    with db.session() as session:
        ana = session.execute(select(Customer).where(Customer.email == ANA)).scalar_one()
        mailed = session.execute(select(Message.id).where(Message.email == ANA)).scalars().first()
        session.add_all([
            MessageEvent(store_id=shop.id, message_id=mailed, kind="click",
                         url="https://storeflow-test.myshopify.com/", occurred_at=clock.now()),
            ConsentChange(store_id=shop.id, customer_id=ana.id, state="subscribed",
                          source="storefront:checkout"),
            Visitor(store_id=shop.id, visitor_id="v-ana", customer_id=ana.id),
            ProductView(store_id=shop.id, visitor_id="v-ana", product_id=632910392,
                        title="IPod Nano - 8GB", viewed_at=clock.now()),
            ProductView(store_id=shop.id, visitor_id="v-someone-else", product_id=1,
                        viewed_at=clock.now()),
            Suppression(store_id=shop.id, email=ANA, reason="unsubscribed", created_at=clock.now())])

    exported = json.loads(storeflow("customer", "export", "--store", str(shop.id),
                                    "--email", ANA).output)
    assert [c["source"] for c in exported["consent_history"]] == ["storefront:checkout"]
    assert [v["visitor_id"] for v in exported["storefront_visitors"]] == ["v-ana"]
    assert [v["title"] for v in exported["product_views"]] == ["IPod Nano - 8GB"]
    assert exported["messages"] and {m["email"] for m in exported["messages"]} == {ANA}
    clicked = next(m for m in exported["messages"] if m["id"] == mailed)
    assert [e["kind"] for e in clicked["events"]] == ["click"]
    assert exported["flow_runs"] and exported["timeline"]
    assert [s["reason"] for s in exported["suppressions"]] == ["unsubscribed"]
    assert "smith" not in json.dumps(exported).lower()  # the other customers


def test_customer_export_of_something_not_an_address_exports_nothing(storeflow, shop):
    """`--email nobody` is refused: it must not match every row that has no address."""
    result = storeflow("customer", "export", "--store", str(shop.id), "--email", "nobody",
                       ok=False)
    assert result.exit_code == 2 and "'nobody' is not an email address" in result.output
