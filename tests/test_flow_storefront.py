"""Browse and cart abandonment from shop-front events (the Web Pixel's published samples)."""
from __future__ import annotations

from datetime import datetime, timezone

from app.core import clock
from app.core.db import db
from app.models import Customer, FlowRun, Store
from flows import catalog, choices, rules
from flows.dryrun import dry_run
from tests.collect_helpers import event, pixel, post
from tests.flow_helpers import (HOUR, MINUTE, at, consent_update, enable, messages, move_to,
                                order_sample, run_context, runs)
from tests.helpers import published

VISITOR = "ffac04fa-8ad8-48fd-8a3a-59ad06a7518a"  # the pixel samples' clientId
VIEWED_AT = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)  # the pixel samples' time
SHOPPER = "bob@biller.com"  # customers_create.json


def known_shopper(client, shop, webhooks, run_jobs):
    """Bob, a subscribed customer, signs in on the shop front; the T-shirt is in stock."""
    with at(VIEWED_AT - MINUTE):
        webhooks.deliver("products/update", published("shopify/products_update.json"))
        webhooks.deliver("customers/create", published("shopify/customers_create.json"))
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(706405506930370084, SHOPPER))
        assert post(client, shop, [event("identify", VISITOR, email=SHOPPER,
                                         occurred_at="2026-11-22T09:59:00Z")]).status_code == 200
        run_jobs()


def cart_left(client, shop, webhooks, run_jobs):
    """Bob adds the T-shirt to his cart with only the cart flow on; its run."""
    enable(shop.id, "abandoned_cart")
    known_shopper(client, shop, webhooks, run_jobs)
    with at(VIEWED_AT + 2 * MINUTE):
        post(client, shop, [pixel("product_added_to_cart")])
        run_jobs()
    [cart_run] = runs("abandoned_cart")
    return cart_run


TSHIRT = 788032119674292922  # products_update.json


def stocked(product_id: int, in_stock: bool = True) -> dict:
    """The published product under another id, in stock or sold out."""
    product = published("shopify/products_update.json")
    product["id"] = product_id
    for variant in product["variants"]:
        variant.update(product_id=product_id, inventory_quantity=50 if in_stock else 0)
    return product


def viewed(product_id: int, minute: int, visitor: str = VISITOR) -> dict:
    """storeflow.js: a product page seen `minute` minutes after the pixel samples' time."""
    return event("product_viewed", visitor, product={"id": product_id, "title": "A product"},
                 occurred_at=(VIEWED_AT + minute * MINUTE).isoformat())


def cart(token: str, minute: int, lines: list, visitor: str = VISITOR) -> dict:
    return event("cart_updated", visitor, occurred_at=(VIEWED_AT + minute * MINUTE).isoformat(),
                 cart={"token": token, "currency": "USD", "lines": lines})


def sent(flow):
    return [m.step for m in messages(flow) if m.status == "sent"]


def test_a_known_shopper_who_only_browsed_hears_about_what_they_viewed(
        client, shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "browse_abandonment")
    known_shopper(client, shop, webhooks, run_jobs)
    with at(VIEWED_AT + MINUTE):
        post(client, shop, [pixel("product_viewed")])
        run_jobs()

    move_to(VIEWED_AT + HOUR, run_jobs)
    assert sent("browse_abandonment") == []
    move_to(VIEWED_AT + 2 * HOUR, run_jobs)

    assert sent("browse_abandonment") == ["email_1"]
    [mail] = smtp_sink.to(SHOPPER)
    assert "Example T-Shirt" in mail.get_body(("plain",)).get_content()


def test_carting_ends_browse_abandonment_and_starts_the_cart_reminder(
        client, shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "browse_abandonment", "abandoned_cart")
    known_shopper(client, shop, webhooks, run_jobs)
    with at(VIEWED_AT + 2 * MINUTE):
        post(client, shop, [pixel("product_viewed"), pixel("product_added_to_cart")])
        run_jobs()

    move_to(VIEWED_AT + 3 * HOUR, run_jobs)

    assert sent("browse_abandonment") == [] and sent("abandoned_cart") == ["email_1"]
    assert runs("browse_abandonment")[0].outcome == "added to cart"
    [mail] = smtp_sink.to(SHOPPER)
    assert "Example T-Shirt" in mail.get_body(("plain",)).get_content()


def test_a_cart_from_the_second_of_the_view_ends_browse_abandonment(
        client, shop, webhooks, run_jobs, smtp_sink):
    """Events stamped to the second (storeflow.js) put a quick add in the view's own second."""
    enable(shop.id, "browse_abandonment")
    known_shopper(client, shop, webhooks, run_jobs)
    with at(VIEWED_AT + 2 * MINUTE):
        post(client, shop, [pixel("product_viewed"),
                            pixel("product_added_to_cart", timestamp="2026-11-22T10:00:00.000Z")])
        run_jobs()

    move_to(VIEWED_AT + 3 * HOUR, run_jobs)

    assert sent("browse_abandonment") == []
    assert runs("browse_abandonment")[0].outcome == "added to cart"


def test_a_cart_that_reaches_checkout_belongs_to_the_checkout_flow(
        client, shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "abandoned_cart", "abandoned_checkout")
    known_shopper(client, shop, webhooks, run_jobs)
    with at(VIEWED_AT + 2 * MINUTE):
        post(client, shop, [pixel("product_added_to_cart")])
        run_jobs()
    with at(VIEWED_AT + 30 * MINUTE):
        post(client, shop, [pixel("checkout_started")])
        run_jobs()

    move_to(VIEWED_AT + 3 * HOUR, run_jobs)

    assert sent("abandoned_cart") == [] and sent("abandoned_checkout") == ["email_1"]
    assert runs("abandoned_cart")[0].outcome == "in the abandoned-checkout flow"


def test_a_cart_that_reaches_checkout_gets_no_cart_reminder_even_with_the_checkout_flow_off(
        client, shop, webhooks, run_jobs, smtp_sink):
    cart_run = cart_left(client, shop, webhooks, run_jobs)
    with run_context(cart_run) as ctx:
        # The stage rules each flow enrolls with, made afresh (as a new flow would make them).
        assert (rules.stage_is("cart")(ctx), rules.stage_is("checkout")(ctx)) == (
            None, "not at checkout")
    line = {"product_id": 788032119674292922, "variant_id": 757650484644203962,
            "title": "Example T-Shirt", "quantity": 1, "price": "19.99"}
    with at(VIEWED_AT + 30 * MINUTE):  # storeflow.js: the same cart, now at checkout
        post(client, shop, [event("checkout_started", VISITOR, occurred_at="2026-11-22T10:30:00Z",
                                  cart={"currency": "USD", "lines": [line]})])
        run_jobs()

    move_to(VIEWED_AT + 3 * HOUR, run_jobs)

    assert sent("abandoned_cart") == [] and smtp_sink.received == []
    assert runs("abandoned_cart")[0].outcome == "reached checkout"
    with run_context(cart_run) as ctx:
        assert (rules.stage_is("cart")(ctx), rules.stage_is("checkout")(ctx)) == (
            "not at cart", None)
    with run_context(cart_run, subject_id=0) as erased:  # its cart was erased meanwhile
        assert rules.stage_is("cart")(erased) == "not at cart"
        assert rules.checkout_flow_took_over(erased) is None


def test_the_browse_email_shows_the_six_in_stock_products_they_viewed_last_most_recent_first(
        client, shop, webhooks, run_jobs, smtp_sink):
    """Carts that say nothing of interest since the first view (one filled before it, one
    emptied after it, a stranger's) do not stop it; nor do others' views join the list."""
    enable(shop.id, "browse_abandonment")
    known_shopper(client, shop, webhooks, run_jobs)
    in_stock = [TSHIRT + n for n in range(1, 8)]
    sold_out = TSHIRT + 99
    line = {"product_id": TSHIRT, "title": "Example T-Shirt", "quantity": 1, "price": "19.99"}
    with at(VIEWED_AT + 20 * MINUTE):
        for product_id in in_stock:
            webhooks.deliver("products/update", stocked(product_id))
        webhooks.deliver("products/update", stocked(sold_out, in_stock=False))
        post(client, shop, [cart("filled-before", 0, [line])])
        post(client, shop, [viewed(product_id, n + 1) for n, product_id in enumerate(in_stock)])
        post(client, shop, [viewed(sold_out, 8), viewed(in_stock[0], 9), cart("emptied", 9, []),
                            viewed(in_stock[1], 10, visitor="a-stranger"),
                            cart("strangers", 10, [line], visitor="a-stranger")])
        run_jobs()
    [run] = runs("browse_abandonment")
    expected = [in_stock[0], in_stock[6], in_stock[5], in_stock[4], in_stock[3], in_stock[2]]
    with run_context(run) as ctx:
        assert rules.viewed_in_stock(ctx) == expected
    # Counted from the trigger's own instant on (here: the fourth view, at minute 4).
    with run_context(run, triggered_at=VIEWED_AT + 4 * MINUTE) as ctx:
        assert rules.viewed_in_stock(ctx) == [in_stock[0], in_stock[6], in_stock[5],
                                              in_stock[4], in_stock[3]]

    move_to(VIEWED_AT + 3 * HOUR, run_jobs)

    assert sent("browse_abandonment") == ["email_1"]
    assert messages("browse_abandonment")[0].context["product_ids"] == expected


def test_no_browse_email_when_everything_they_viewed_sold_out(client, shop, webhooks, run_jobs,
                                                             smtp_sink):
    enable(shop.id, "browse_abandonment")
    known_shopper(client, shop, webhooks, run_jobs)
    with at(VIEWED_AT + 2 * MINUTE):
        webhooks.deliver("products/update", stocked(TSHIRT, in_stock=False))
        post(client, shop, [viewed(TSHIRT, 1)])
        run_jobs()

    move_to(VIEWED_AT + 3 * HOUR, run_jobs)

    assert sent("browse_abandonment") == [] and smtp_sink.received == []
    assert runs("browse_abandonment")[0].outcome == "viewed products out of stock"


def test_an_order_after_browsing_ends_browse_abandonment(client, shop, webhooks, run_jobs,
                                                         smtp_sink):
    enable(shop.id, "browse_abandonment")
    known_shopper(client, shop, webhooks, run_jobs)
    with at(VIEWED_AT + 30 * MINUTE):
        post(client, shop, [viewed(TSHIRT, 1)])
        webhooks.deliver("orders/create", order_sample(
            VIEWED_AT + 20 * MINUTE, customer={"id": 706405506930370084, "email": SHOPPER}))
        run_jobs()

    move_to(VIEWED_AT + 3 * HOUR, run_jobs)

    assert sent("browse_abandonment") == [] and smtp_sink.received == []
    assert runs("browse_abandonment")[0].outcome == "ordered"


def test_the_cart_flow_yields_only_to_this_shoppers_checkout_run_under_way(
        client, shop, webhooks, run_jobs):
    """Another shopper's checkout run, or this shopper's ended one, holds no cart back."""
    cart_run = cart_left(client, shop, webhooks, run_jobs)

    def checkout_run(customer_id: int, status: str, checkout: int) -> None:
        with db.session() as session:
            session.add(FlowRun(store_id=shop.id, flow="abandoned_checkout", version=1,
                                customer_id=customer_id, subject="checkout", subject_id=checkout,
                                status=status, triggered_at=VIEWED_AT, anchor_at=VIEWED_AT,
                                settings={}, data={}, started_at=VIEWED_AT))

    with db.session() as session:
        other = Customer(store_id=shop.id, email="someone@example.com", tags=[])
        session.add(other)
        session.flush()
        other_id = other.id
    checkout_run(other_id, "active", 1)
    checkout_run(cart_run.customer_id, "completed", 2)
    with run_context(cart_run) as ctx:
        assert rules.not_in_checkout_flow(ctx) is None
    checkout_run(cart_run.customer_id, "active", 3)
    with run_context(cart_run) as ctx:
        assert rules.not_in_checkout_flow(ctx) == "in the abandoned-checkout flow"


def test_the_dry_run_counts_a_browse_email_sent_before_the_shopper_later_carted(
        client, shop, webhooks, run_jobs):
    """The replay judges each run as of its send: a cart five hours after the view came after
    the two-hour email, and does not take it back; a cart one hour after the view stops it."""
    known_shopper(client, shop, webhooks, run_jobs)  # the flow stays off, as before deciding
    line = {"product_id": TSHIRT, "title": "Example T-Shirt", "quantity": 1, "price": "19.99"}
    with at(VIEWED_AT + 5 * HOUR):
        post(client, shop, [viewed(TSHIRT, 1), cart("later", 5 * 60, [line])])
        run_jobs()

    assert _predicted_browse_emails(shop.id, VIEWED_AT + 10 * HOUR) == (1, {})

    with at(VIEWED_AT + 5 * HOUR):
        post(client, shop, [cart("sooner", 60, [line])])
        run_jobs()
    assert _predicted_browse_emails(shop.id, VIEWED_AT + 10 * HOUR) == (0, {"added to cart": 1})


def _predicted_browse_emails(store_id: int, until: datetime) -> tuple[int, dict]:
    with clock.frozen_at(until), db.session() as session:
        flow = catalog.FLOWS["browse_abandonment"]
        report = dry_run(session, session.get(Store, store_id), flow,
                         choices.effective(session, store_id, flow)[1], until)
    return report.emails, dict(report.stopped)
