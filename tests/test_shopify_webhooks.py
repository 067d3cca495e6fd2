"""Shopify deliveries, from the HTTP request to rows in the local model, through a real worker."""
from __future__ import annotations

import io
import json
import logging
from decimal import Decimal

import redis
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from app.core.db import db
from app.ingest.pipeline import ingest
from app.ingest.sweep import sweep_inbox
from app.jobs import broker
from app.models import Checkout, CheckoutLine, Customer, Order, OrderLine, WebhookEvent
from connectors.shopify.webhooks import sign
from tests.helpers import SHOP, SHOP_SECRET, published


def count(model) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def one(model):
    with db.session() as session:
        return session.execute(select(model)).unique().scalar_one()


def test_signed_order_lands_in_the_model_through_a_worker(shop, webhooks, run_jobs):
    payload = published("shopify/orders_create.json")

    response = webhooks.deliver("orders/create", payload)
    assert response.status_code == 200
    assert response.json["status"] == "accepted"
    run_jobs()

    order = one(Order)
    assert order.store_id == shop.id
    assert order.platform_id == payload["id"]
    assert order.total_price == Decimal(payload["total_price"])
    assert order.currency == "USD"
    assert order.email == "jon@example.com"
    assert count(OrderLine) == len(payload["line_items"])
    buyer = one(Customer)
    assert buyer.platform_id == payload["customer"]["id"]
    assert order.customer_id == buyer.id
    assert one(WebhookEvent).processed_at is not None


def test_checkout_and_customer_topics_land(shop, webhooks, run_jobs):
    checkout_payload = published("shopify/checkouts_create.json")
    customer_payload = published("shopify/customers_create.json")

    assert webhooks.deliver("checkouts/create", checkout_payload).status_code == 200
    assert webhooks.deliver("customers/create", customer_payload).status_code == 200
    run_jobs()

    with db.session() as session:
        checkout = session.execute(select(Checkout)).scalar_one()
        assert checkout.token == checkout_payload["token"]
        assert checkout.email == "example@email.com"
        assert checkout.recovery_url == checkout_payload["abandoned_checkout_url"]
        assert [line.sku for line in checkout.lines] == [
            item["sku"] for item in checkout_payload["line_items"]]
        emails = set(session.execute(select(Customer.email)).scalars())
    assert emails == {"bob@biller.com", "john@example.com"}


def test_bad_or_missing_signature_is_refused_and_stores_nothing(shop, webhooks):
    payload = published("shopify/orders_create.json")

    refused = webhooks.deliver("orders/create", payload, secret="not-the-secret")
    # The reason, for whoever reads the platform's delivery log.
    assert refused.status_code == 401
    assert refused.json == {"error": "unknown shop or invalid signature"}
    assert webhooks.deliver("orders/create", payload, signature="").status_code == 401
    # A signature made for one body does not cover another.
    body = json.dumps(payload).encode()
    forged = webhooks.deliver("orders/create", body + b" ", signature=sign(SHOP_SECRET, body))
    assert forged.status_code == 401
    assert count(WebhookEvent) == 0


def test_a_signature_differing_only_in_letter_case_is_refused(shop, webhooks):
    # Base64 is case-sensitive: the same letters in another case are another signature.
    payload = published("shopify/orders_create.json")
    signature = sign(SHOP_SECRET, json.dumps(payload).encode())
    assert signature.swapcase() != signature

    response = webhooks.deliver("orders/create", payload, signature=signature.swapcase())

    assert response.status_code == 401
    assert count(WebhookEvent) == 0


def test_unknown_shop_is_refused(shop, webhooks):
    response = webhooks.deliver("orders/create", published("shopify/orders_create.json"),
                                shop="someone-else.myshopify.com")
    assert response.status_code == 401
    assert count(WebhookEvent) == 0


def test_a_store_deleted_elsewhere_while_its_secret_is_kept_is_an_unknown_shop(shop, webhooks):
    """Another process (a purge, the CLI) deleted the store; this one still keeps its secret a
    few seconds (app.core.signing_secrets). The delivery gets the unknown shop's 401, not a 500
    from the inbox's foreign key that Shopify would retry for hours, and the next lookup is fresh."""
    from sqlalchemy import delete

    from app.models import Store

    payload = published("shopify/orders_create.json")
    assert webhooks.deliver("orders/create", payload).status_code == 200  # the secret is kept
    with db.engine.begin() as connection:  # not through this process's ORM, which would forget
        connection.execute(delete(Store).where(Store.id == shop.id))

    for _ in range(2):  # within the kept secret's lifetime, then after it was forgotten
        refused = webhooks.deliver("orders/create", payload)
        assert refused.status_code == 401
        assert refused.json == {"error": "unknown shop or invalid signature"}
    assert count(WebhookEvent) == 0


def test_same_delivery_three_times_is_one_inbox_row_and_one_order(shop, webhooks, run_jobs):
    payload = published("shopify/orders_create.json")

    answers = [webhooks.deliver("orders/create", payload, event_id="evt-1") for _ in range(3)]
    run_jobs()

    # 200 each time, the answer the module documents: a repeat is no error to retry.
    assert [(a.status_code, a.json["status"]) for a in answers] == [
        (200, "accepted"), (200, "duplicate"), (200, "duplicate")]
    assert count(WebhookEvent) == 1
    assert count(Order) == 1
    assert count(OrderLine) == len(payload["line_items"])


def test_an_older_update_after_a_newer_one_changes_nothing(shop, webhooks, run_jobs):
    newer = published("shopify/orders_updated.json")
    newer.update(updated_at="2022-01-01T10:00:00-05:00", total_price="500.00",
                 financial_status="paid")
    older = published("shopify/orders_updated.json")  # updated_at 2021-12-31T19:00:00-05:00

    webhooks.deliver("orders/updated", newer)
    run_jobs()
    webhooks.deliver("orders/updated", older)
    run_jobs()

    order = one(Order)
    assert order.total_price == Decimal("500.00")
    assert order.financial_status == "paid"
    assert count(WebhookEvent) == 2


def test_an_older_update_after_a_newer_one_keeps_the_newer_line_items(shop, webhooks, run_jobs):
    newer = published("shopify/orders_updated.json")
    # The merchant took the coffee table off the order.
    newer.update(updated_at="2022-01-01T10:00:00-05:00", line_items=newer["line_items"][:-1])

    webhooks.deliver("orders/updated", newer)
    run_jobs()
    webhooks.deliver("orders/updated", published("shopify/orders_updated.json"))  # older
    run_jobs()

    with db.session() as session:
        titles = session.execute(select(OrderLine.title).order_by(OrderLine.id)).scalars().all()
    assert titles == [item["title"] for item in newer["line_items"]]


def test_an_older_checkout_update_after_a_newer_one_keeps_the_newer_cart(shop, webhooks, run_jobs):
    newer = published("shopify/checkouts_update.json")
    # The shopper took one of the two lines out of the cart.
    newer.update(updated_at="2022-01-01T10:00:00-05:00", line_items=newer["line_items"][:1])

    webhooks.deliver("checkouts/update", newer)
    run_jobs()
    webhooks.deliver("checkouts/update", published("shopify/checkouts_update.json"))  # older
    run_jobs()

    with db.session() as session:
        lines = session.execute(select(func.count()).select_from(CheckoutLine)).scalar_one()
    assert lines == 1


def test_an_update_stamped_in_the_same_second_as_the_stored_one_applies(shop, webhooks, run_jobs):
    # Shopify stamps whole seconds: an order paid within the second it was placed comes twice
    # with one updated_at, and the later delivery holds the later state.
    placed = published("shopify/orders_create.json")
    placed.update(financial_status="pending", cancelled_at=None, cancel_reason=None)

    webhooks.deliver("orders/create", placed)
    run_jobs()
    webhooks.deliver("orders/paid", dict(placed, financial_status="paid"))
    run_jobs()

    assert one(Order).financial_status == "paid"


def test_malformed_json_gets_400_and_stores_nothing(shop, webhooks):
    response = webhooks.deliver("orders/create", b'{"id": 1, "line_items": [')
    assert response.status_code == 400
    assert response.json == {"error": "body is not valid JSON"}
    assert count(WebhookEvent) == 0


def test_a_body_only_pythons_json_reads_is_accepted_as_before(shop, webhooks):
    """orjson reads bodies first (app.web.webhooks._json); what it refuses and json reads (a
    byte-order mark, NaN) is still accepted."""
    assert webhooks.deliver("orders/create", b'\xef\xbb\xbf{"id": 1}').status_code == 200
    assert webhooks.deliver("orders/create", b'{"id": 2, "total_tax": NaN}').status_code == 200
    assert count(WebhookEvent) == 2


def test_other_methods_and_paths_under_webhooks_are_refused(shop, client):
    get = client.get("/webhooks/shopify")
    assert get.status_code == 405 and get.headers["Allow"] == "POST"
    for path in ("/webhooks/", "/webhooks/nowhere", "/webhooks/shopify/1/x",
                 "/webhooks/woocommerce/0", f"/webhooks/woocommerce/{2**31}"):
        assert client.post(path, data=b"{}").status_code == 404, path


def test_body_over_the_limit_gets_413(shop, webhooks, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = b'{"note": "' + b"x" * limit + b'"}'
    assert webhooks.deliver("orders/create", body).status_code == 413
    assert count(WebhookEvent) == 0


def test_missing_delivery_headers_get_400(shop, client):
    response = client.post("/webhooks/shopify", data=b"{}", headers={"X-Shopify-Hmac-Sha256": "x"})
    assert response.status_code == 400
    assert "X-Shopify-Shop-Domain" in response.json["error"]


def test_signed_unsupported_topic_is_acknowledged_and_ignored(shop, webhooks, caplog):
    caplog.set_level(logging.INFO, logger="app.web.webhooks")

    response = webhooks.deliver("inventory_levels/update", {"inventory_item_id": 1})

    assert response.status_code == 200
    assert response.json == {"status": "ignored", "reason": "unsupported topic"}
    assert count(WebhookEvent) == 0
    # The operator's log line says which store and topic, as every ingress line does.
    [line] = [r for r in caplog.records if r.name == "app.web.webhooks"]
    assert (line.store_id, line.topic) == (shop.id, "inventory_levels/update")


def test_a_payload_missing_a_field_is_recorded_and_writes_nothing(shop, webhooks, run_jobs):
    payload = published("shopify/orders_create.json")
    del payload["total_price"]

    assert webhooks.deliver("orders/create", payload).status_code == 200
    run_jobs()

    event = one(WebhookEvent)
    assert event.processed_at is not None
    assert "total_price" in event.error
    assert "jon@example.com" not in event.error
    assert count(Order) == 0 and count(Customer) == 0


def test_processing_the_same_row_twice_leaves_the_same_state(shop, webhooks, run_jobs):
    webhooks.deliver("orders/create", published("shopify/orders_create.json"))
    run_jobs()
    event = one(WebhookEvent)
    before = (one(Order).source_updated_at, count(OrderLine), count(Customer))

    assert ingest(event.id) == []

    assert (one(Order).source_updated_at, count(OrderLine), count(Customer)) == before


def test_with_redis_down_the_event_is_stored_and_the_sweeper_queues_it(shop, webhooks, run_jobs,
                                                                         monkeypatch, tmp_path):
    working = broker.connection
    monkeypatch.setattr(broker, "connection",
                        redis.Redis(unix_socket_path=str(tmp_path / "nothing.sock")))

    response = webhooks.deliver("orders/create", published("shopify/orders_create.json"))

    assert response.status_code == 200
    assert one(WebhookEvent).processed_at is None
    monkeypatch.setattr(broker, "connection", working)
    assert sweep_inbox(older_than_seconds=0) == 1
    assert sweep_inbox(older_than_seconds=0) == 0  # already queued: not twice
    run_jobs()
    assert one(WebhookEvent).processed_at is not None
    assert count(Order) == 1


def test_with_the_database_down_ingress_answers_503(shop, webhooks, monkeypatch):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    dead = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", pool_pre_ping=False)
    monkeypatch.setattr(db, "_sessions", sessionmaker(dead))

    response = webhooks.deliver("orders/create", published("shopify/orders_create.json"))

    assert response.status_code == 503


def test_exhausted_rows_wait_for_the_operator_and_old_processed_rows_are_pruned(
        shop, webhooks, run_jobs, monkeypatch):
    from datetime import timedelta

    from sqlalchemy import update

    from app.core import clock
    from app.ingest.sweep import MAX_INGEST_ATTEMPTS, prune_inbox, retry_exhausted

    monkeypatch.setattr(broker, "connection",
                        redis.Redis(unix_socket_path="/nonexistent/redis.sock"))
    webhooks.deliver("orders/create", published("shopify/orders_create.json"))
    with db.session() as session:
        session.execute(update(WebhookEvent).values(attempts=MAX_INGEST_ATTEMPTS))
    monkeypatch.undo()

    assert sweep_inbox(older_than_seconds=0) == 0  # the sweeper gives up on it
    assert retry_exhausted() == 1                   # the operator does not
    run_jobs()
    assert count(Order) == 1

    with clock.frozen_at(clock.now() + timedelta(days=31)):
        assert prune_inbox() == 1
    assert count(WebhookEvent) == 0 and count(Order) == 1


def test_a_customer_birth_date_metafield_is_kept_and_silence_does_not_clear_it(shop, webhooks,
                                                                               run_jobs):
    from datetime import date, datetime, timezone

    from app.demo.payloads import Person, customer

    bob = Person(706405506930370084, "Bob", "Biller", "bob@biller.com", birthday=date(1988, 3, 9))
    webhooks.deliver("customers/create", customer(bob, datetime(2026, 1, 1, tzinfo=timezone.utc)))
    later = customer(Person(bob.id, "Bob", "Biller", bob.email),
                     datetime(2026, 2, 1, tzinfo=timezone.utc))
    webhooks.deliver("customers/update", later)
    run_jobs()

    with db.session() as session:
        stored = session.execute(select(Customer).where(Customer.platform_id == bob.id)).scalar_one()
    assert stored.birthday == date(1988, 3, 9) and stored.first_name == "Bob"


def test_the_inbox_keeps_one_row_per_delivery_id_and_store(shop):
    """A redelivery is recognised by its id within its store; another store's delivery of the
    same id is its own."""
    from app.core import stores
    from app.ingest import inbox

    with db.session() as session:
        other, _ = stores.connect(session, "shopify", "other-shop.myshopify.com",
                                  access_token="t", webhook_secret=None)
        first = inbox.accept(session, shop.id, "shopify", "orders/paid", "d-1", b"{}")
        again = inbox.accept(session, shop.id, "shopify", "orders/paid", "d-1", b"{}")
        theirs = inbox.accept(session, other.id, "shopify", "orders/paid", "d-1", b"{}")
        assert first is not None and again is None and theirs not in (None, first)
        row = session.get(WebhookEvent, first)
        assert (row.store_id, row.platform, row.topic, row.delivery_key, row.body, row.attempts,
                row.processed_at) == (shop.id, "shopify", "orders/paid", "d-1", b"{}", 0, None)


def chunked_delivery(app, body: bytes) -> str:
    """A signed orders/create sent chunked, as gunicorn hands it over (no Content-Length,
    wsgi.input_terminated): the answer's status line."""
    environ = EnvironBuilder(path="/webhooks/shopify", method="POST", data=body, headers={
        "X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": sign(SHOP_SECRET, body),
        "X-Shopify-Shop-Domain": SHOP, "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Webhook-Id": str(len(body)), "X-Shopify-Triggered-At": "2026-11-22T10:00:00Z",
    }, content_type="application/json").get_environ()
    del environ["CONTENT_LENGTH"]
    environ.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True,
                    "wsgi.input": io.BytesIO(body)})
    answered = []
    b"".join(app.wsgi_app(environ, lambda status, headers: answered.append(status)))
    return answered[0]


def test_a_chunked_body_over_the_limit_gets_413_and_one_within_it_is_stored(shop, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    order = json.dumps(published("shopify/orders_create.json")).encode()
    assert chunked_delivery(app, b" " * limit + order).startswith("413")
    assert count(WebhookEvent) == 0
    assert chunked_delivery(app, order).startswith("200") and count(WebhookEvent) == 1


def test_a_signed_body_nested_deeper_than_python_can_read_gets_400(shop, webhooks):
    response = webhooks.deliver("orders/create", b"[" * 100_000 + b"]" * 100_000)
    assert response.status_code == 400 and response.json["error"] == "body is not valid JSON"
    assert count(WebhookEvent) == 0
