"""POST /collect: storefront events reach the local model through the inbox and a real worker."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from app.core.db import db
from app.ingest.identity import make_customer_token, merge, verify_customer_token
from app.ingest.pipeline import ingest
from app.models import Checkout, Customer, ProductView, Visitor, WebhookEvent
from connectors.shopify.webhooks import sign
from tests.collect_helpers import ORIGIN, event, pixel, post, post_signed
from tests.helpers import SHOP_SECRET, published

VISITOR = "ffac04fa-8ad8-48fd-8a3a-59ad06a7518a"  # the pixel fixtures' clientId


def rows(model) -> list:
    with db.session() as session:
        return session.execute(select(model).order_by(model.id)).scalars().all()


def count(model) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_anonymous_view_then_email_capture_is_one_customer_with_that_view(
        client, shop, run_jobs):
    viewed = post(client, shop, [pixel("product_viewed")])
    assert viewed.status_code == 200, viewed.json
    assert viewed.json == {"accepted": 1, "duplicates": 0}
    assert viewed.headers["Access-Control-Allow-Origin"] == ORIGIN
    run_jobs()
    [view] = rows(ProductView)
    assert view.customer_id is None
    assert (view.product_id, view.variant_id) == (788032119674292922, 642667041472713922)

    assert post(client, shop, [pixel("checkout_contact_info_submitted")]).status_code == 200
    run_jobs()

    [customer] = rows(Customer)
    assert customer.email == "bob@biller.com" and customer.platform_id is None
    [view] = rows(ProductView)
    assert view.customer_id == customer.id
    [checkout] = rows(Checkout)
    assert (checkout.token, checkout.customer_id, checkout.email) == ("123123123", customer.id,
                                                                      "bob@biller.com")
    assert [v.customer_id for v in rows(Visitor)] == [customer.id]


def test_the_platform_customer_adopts_the_email_only_customer(client, shop, webhooks, run_jobs):
    post(client, shop, [pixel("product_viewed"), pixel("checkout_contact_info_submitted")])
    run_jobs()
    # Shopify then reports the customer (same email) and the checkout (same token).
    assert webhooks.deliver("customers/create", published("shopify/customers_create.json")).status_code == 200
    assert webhooks.deliver("checkouts/create", published("shopify/checkouts_create.json")).status_code == 200
    run_jobs()

    [customer] = [c for c in rows(Customer) if c.email == "bob@biller.com"]
    assert customer.platform_id == 706405506930370084
    assert [v.customer_id for v in rows(ProductView)] == [customer.id]
    # The webhook's checkout (same token as the pixel's) is the same row, still the visitor's.
    [checkout] = rows(Checkout)
    assert checkout.visitor_id == VISITOR


def test_two_visitors_of_one_customer_keep_one_history(client, shop, run_jobs):
    phone, laptop = "visitor-phone", "visitor-laptop"
    product = {"id": 788032119674292922, "variant_id": 642667041472713922}
    post(client, shop, [event("product_viewed", phone, product=product)])
    post(client, shop, [event("product_viewed", laptop, product={"id": 632910392})])
    run_jobs()
    post(client, shop, [event("identify", phone, email="Bob@Biller.com ")])
    post(client, shop, [event("identify", laptop, email="bob@biller.com")])
    run_jobs()

    [customer] = rows(Customer)
    assert sorted(v.product_id for v in rows(ProductView) if v.customer_id == customer.id) == [
        632910392, 788032119674292922]


def test_a_corrected_email_ties_the_visitor_to_it_and_moves_no_ones_records(client, shop,
                                                                             run_jobs):
    post(client, shop, [event("product_viewed", "v1", product={"id": 632910392})])
    post(client, shop, [event("checkout_contact_info_submitted", "v1", email="bob@biler.com")])
    run_jobs()
    post(client, shop, [event("checkout_contact_info_submitted", "v1", email="bob@biller.com")])
    run_jobs()

    # Anyone's browser can type anyone's address: a page's say-so merges no one.
    typo, corrected = rows(Customer)
    assert (typo.email, corrected.email) == ("bob@biler.com", "bob@biller.com")
    assert [v.customer_id for v in rows(Visitor)] == [corrected.id]
    assert [v.customer_id for v in rows(ProductView)] == [typo.id]


def test_a_merged_guest_brings_the_points_and_tags_the_flows_gave_them(shop):
    with db.session() as session:
        guest = Customer(store_id=shop.id, email="bob@biller.com", score=20,
                         tags=["loyal", "early"])
        known = Customer(store_id=shop.id, email="bob@biller.com", platform_id=706405506930370084,
                         score=10, tags=["vip", "loyal"])
        session.add_all([guest, known])
        session.flush()
        merge(session, shop.id, guest.id, known.id)

    [customer] = rows(Customer)
    assert (customer.id, customer.score, customer.tags) == (known.id, 30,
                                                            ["vip", "loyal", "early"])


def test_a_signed_customer_token_identifies_and_a_forged_one_does_not(client, shop, run_jobs):
    post_signed(client, shop, [event("identify", "v-mail", customer_id=706405506930370084)])
    run_jobs()
    [customer] = rows(Customer)
    token = make_customer_token(shop.id, customer.id)
    assert verify_customer_token(token, shop.id) == customer.id
    assert verify_customer_token(token, shop.id + 1) is None  # another store's token

    post(client, shop, [event("product_viewed", "v-click", customer_token=token,
                              product={"id": 632910392}),
                        event("product_viewed", "v-forged", customer_token=token + "x",
                              product={"id": 632910392})])
    run_jobs()
    by_visitor = {v.visitor_id: v.customer_id for v in rows(ProductView)}
    assert by_visitor == {"v-click": customer.id, "v-forged": None}


def test_domain_events_have_the_webhook_shape(client, shop):
    post(client, shop, [pixel("product_viewed"), pixel("checkout_started")])
    emitted = [e for row in rows(WebhookEvent) for e in ingest(row.id)]

    assert [(e.name, e.subject, e.store_id) for e in emitted] == [
        ("product_viewed", "product_view", shop.id), ("checkout_updated", "checkout", shop.id)]
    assert emitted[1].subject_id == rows(Checkout)[0].id


def test_add_to_cart_joins_the_cart_and_cart_updated_replaces_it(client, shop, webhooks,
                                                                 run_jobs):
    webhooks.deliver("products/update", published("shopify/products_update.json"))
    line = {"product_id": 788032119674292922, "variant_id": 757650484644203962,
            "title": "Example T-Shirt", "quantity": 1, "price": "19.99"}  # the Medium variant
    post(client, shop, [pixel("product_added_to_cart")])
    post(client, shop, [event("product_added_to_cart", VISITOR, occurred_at="2026-11-22T10:05:00Z",
                              cart={"currency": "USD", "lines": [line]})])
    run_jobs()
    [cart] = rows(Checkout)
    with db.session() as session:
        cart = session.get(Checkout, cart.id)
        assert sorted(l.quantity for l in cart.lines) == [1, 2]
        assert str(cart.total_price) == "59.9700"
    post(client, shop, [event("cart_updated", VISITOR, occurred_at="2026-11-22T11:00:00Z",
                              cart={"currency": "USD", "lines": [line]})])
    run_jobs()
    with db.session() as session:
        cart = session.get(Checkout, cart.id)
        assert [l.variant_id for l in cart.lines] == [757650484644203962]


def test_a_pages_cart_lines_are_told_in_the_catalogues_words(client, shop, webhooks, run_jobs):
    """A page can send any title or price, and cart lines go into emails."""
    webhooks.deliver("products/update", published("shopify/products_update.json"))
    cart = {"currency": "EUR", "lines": [
        {"product_id": 788032119674292922, "title": "Visit evil.example", "quantity": 3,
         "price": "0.01", "variant_title": "Act now"},
        {"product_id": 632910392, "title": "IPod Nano - 8GB", "quantity": 1, "price": "199.00"}]}
    post(client, shop, [event("cart_updated", "v1", cart=cart)])
    post_signed(client, shop, [event("cart_updated", "v2", cart=dict(cart, token="server-cart"))])
    run_jobs()

    with db.session() as session:
        page, server = (session.get(Checkout, c.id) for c in rows(Checkout))
        assert [(l.title, l.variant_title, l.quantity, str(l.price)) for l in page.lines] == [
            ("Example T-Shirt", None, 3, "19.9900")]  # the unknown product is left out
        assert (page.currency, str(page.total_price)) == ("USD", "59.9700")
        # The store's own server (signed) is the store's word.
        assert [l.title for l in server.lines] == ["Visit evil.example", "IPod Nano - 8GB"]


def test_only_the_stores_server_may_name_a_platform_customer(client, shop, run_jobs):
    claim = event("identify", "v1", email="bob@biller.com", customer_id=706405506930370084)
    refused = post(client, shop, [claim])
    assert (refused.status_code, refused.json["error"]) == (
        400, "events[0]: field 'customer_id' is only accepted in a signed request")
    assert post_signed(client, shop, [claim]).status_code == 200
    run_jobs()
    [customer] = rows(Customer)
    assert (customer.email, customer.platform_id) == ("bob@biller.com", 706405506930370084)


def test_a_page_cannot_take_the_id_of_a_server_event_first(client, shop, run_jobs):
    """The WordPress plugin's order events have guessable ids (`order-<id>`)."""
    guess = event("identify", "v1", email="bob@biller.com", client_event_id="order-1")
    assert post(client, shop, [guess]).json == {"accepted": 1, "duplicates": 0}
    opt_in = dict(guess, marketing_opt_in=True)
    assert post_signed(client, shop, [opt_in]).json == {"accepted": 1, "duplicates": 0}
    run_jobs()
    [customer] = rows(Customer)
    assert customer.email_consent == "subscribed"


def test_a_repeated_client_event_id_is_stored_once(client, shop):
    view = pixel("product_viewed")
    assert post(client, shop, [view]).json == {"accepted": 1, "duplicates": 0}
    assert post(client, shop, [view]).json == {"accepted": 0, "duplicates": 1}
    assert count(WebhookEvent) == 1


def test_bad_requests_get_a_clear_4xx_and_store_nothing(client, shop):
    view = pixel("product_viewed")
    bad_key = post(client, shop, [view], key="not-the-key")
    assert (bad_key.status_code, bad_key.json["error"]) == (401, "unknown store or invalid collect key")
    foreign = post(client, shop, [view], origin="https://evil.example")
    assert foreign.status_code == 403 and "origin" in foreign.json["error"]
    assert "Access-Control-Allow-Origin" not in foreign.headers
    no_origin = post(client, shop, [view], origin=None)
    assert no_origin.status_code == 403
    oversize = post(client, shop, [dict(view, padding="x" * 40_000)])
    assert oversize.status_code == 413
    malformed = post(client, shop, [view, event("product_viewed", "has space", product={"id": 1})])
    assert malformed.status_code == 400
    assert malformed.json["error"].startswith("events[1]: field 'visitor_id'")
    no_email = post(client, shop, [event("checkout_contact_info_submitted", "v1", email="nope")])
    assert (no_email.status_code, no_email.json["error"]) == (
        400, "events[0]: field 'email' is not an email address")
    not_json = post(client, shop, [], body=b"{not json")
    assert not_json.status_code == 400
    assert count(WebhookEvent) == 0


def test_a_sandboxed_pixel_with_an_opaque_origin_names_a_page_of_the_store(client, shop):
    """Shopify runs app pixels in a sandbox whose requests say `Origin: null`."""
    def sent_from(page):
        payload = {"store_id": shop.id, "key": shop.collect_key, "events": [pixel("product_viewed")]}
        if page is not None:
            payload["page"] = page
        return post(client, shop, [], origin="null", body=json.dumps(payload).encode())

    assert sent_from(f"https://{shop.domain}/products/mug").status_code == 200
    assert sent_from("https://evil.example/products/mug").status_code == 403
    assert sent_from(None).status_code == 403
    # A real Origin elsewhere is refused whatever page it names.
    foreign = post(client, shop, [], origin="https://evil.example", body=json.dumps({
        "store_id": shop.id, "key": shop.collect_key, "page": f"https://{shop.domain}/",
        "events": [pixel("product_viewed")]}).encode())
    assert foreign.status_code == 403
    assert count(WebhookEvent) == 1


def test_a_server_signs_with_the_store_secret_instead_of_key_and_origin(client, shop, run_jobs):
    body = json.dumps({"store_id": shop.id, "events": [event("identify", "v1", email="a@b.co")]})
    signed = post(client, shop, [], origin=None, body=body.encode(),
                  headers={"X-Storeflow-Signature": sign(SHOP_SECRET, body.encode())})
    assert signed.status_code == 200
    forged = post(client, shop, [], origin=None, body=body.encode() + b" ",
                  headers={"X-Storeflow-Signature": sign(SHOP_SECRET, body.encode())})
    assert forged.status_code == 401
    run_jobs()
    assert [c.email for c in rows(Customer)] == ["a@b.co"]


def test_the_rate_limit_answers_429(app, client, shop, monkeypatch):
    limited = app.config["STOREFLOW"].replace(collect_rate_limit_ip="3/minute")
    monkeypatch.setitem(app.config, "STOREFLOW", limited)
    answers = [post(client, shop, [pixel("product_viewed")]).status_code for _ in range(5)]
    assert answers == [200, 200, 200, 429, 429]
    assert count(WebhookEvent) == 3


def test_the_per_store_limit_counts_every_ip(app, client, shop, monkeypatch):
    limited = app.config["STOREFLOW"].replace(collect_rate_limit_store="2/minute")
    monkeypatch.setitem(app.config, "STOREFLOW", limited)
    answers = [post(client, shop, [pixel("product_viewed")],
                    remote_addr=f"10.0.0.{i}").status_code for i in range(3)]
    assert answers == [200, 200, 429]


def test_behind_a_trusted_proxy_each_visitor_has_their_own_limit(app, config, shop, monkeypatch):
    """On Heroku every request comes through the router: without TRUSTED_PROXY_HOPS the per-IP
    limit would count all visitors as one."""
    from app import create_app

    limited = config.replace(collect_rate_limit_ip="2/minute", trusted_proxy_hops=1)
    client = create_app(limited).test_client()

    def from_visitor(ip: str, forged: str = "") -> int:
        chain = f"{forged}, {ip}" if forged else ip  # the router appends who connected to it
        return post(client, shop, [pixel("product_viewed")], remote_addr="10.1.1.1",
                    headers={"X-Forwarded-For": chain}).status_code

    assert [from_visitor("203.0.113.7") for _ in range(3)] == [200, 200, 429]
    assert from_visitor("198.51.100.2") == 200  # another visitor, the same router
    # A visitor cannot pose as another by sending the header themselves.
    assert from_visitor("203.0.113.7", forged="198.51.100.99") == 429


def test_a_bot_is_ignored(client, shop):
    googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    response = post(client, shop, [pixel("product_viewed")], headers={"User-Agent": googlebot})
    assert response.status_code == 204
    assert count(WebhookEvent) == 0


def test_preflight_answers_only_the_stores_own_domain(client, shop):
    headers = {"Access-Control-Request-Method": "POST"}
    allowed = client.options("/collect", headers={"Origin": ORIGIN, **headers})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert client.options("/collect", headers={"Origin": "https://evil.example", **headers}).status_code == 403
