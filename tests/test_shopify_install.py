"""Installing Storeflow as a public Shopify app: signed links, state, the code exchange against
the stub, and what the install sets up (subscriptions, backfill)."""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select, text

from app.core.db import db
from app.jobs import broker
from app.models import Store
from connectors.shopify import subscriptions
from connectors.shopify.oauth import query_signature
from tests.helpers import API_KEY, API_SECRET, SHOP, progress_of


def signed(**params) -> dict:
    params = {"shop": SHOP, "timestamp": str(int(time.time())), **params}
    return {**params, "hmac": query_signature(API_SECRET, params)}


def start(client) -> str:
    """Begin an install; returns the state Shopify is asked to send back."""
    response = client.get("/install/shopify", query_string=signed())
    assert response.status_code == 302
    return parse_qs(urlsplit(response.location).query)["state"][0]


def callback(client, shopify, state, shop=SHOP):
    return client.get("/install/shopify/callback", query_string=signed(
        shop=shop, code=shopify.issue_code(shop), state=state, host="YWRtaW4uc2hvcGlmeS5jb20"))


def test_install_redirects_to_shopify_with_our_scopes_and_callback(client, shopify, config):
    response = client.get("/install/shopify", query_string=signed())

    assert response.status_code == 302
    url = urlsplit(response.location)
    assert f"{url.scheme}://{url.netloc}{url.path}" == \
        shopify.base_url.replace("{shop}", SHOP) + "/admin/oauth/authorize"
    query = parse_qs(url.query)
    assert query["client_id"] == [API_KEY]
    assert query["redirect_uri"] == [f"{config.base_url}/install/shopify/callback"]
    assert "grant_options[]" not in query  # offline access
    assert broker.connection.get(f"shopify:install-state:{query['state'][0]}") == SHOP.encode()


def test_bad_links_are_refused_with_a_reason(client, shopify):
    bad_shop = signed(shop="evil.example.com")
    assert client.get("/install/shopify", query_string=bad_shop).status_code == 400
    forged = {**signed(), "hmac": "0" * 64}
    assert client.get("/install/shopify", query_string=forged).status_code == 401
    stale = signed(timestamp=str(int(time.time()) - 2 * 86400))
    assert client.get("/install/shopify", query_string=stale).status_code == 401
    tampered = {**signed(), "shop": "other-shop.myshopify.com"}
    assert client.get("/install/shopify", query_string=tampered).status_code == 401


def test_the_callback_connects_the_store_subscribes_and_backfills(client, shopify, run_jobs, config):
    response = callback(client, shopify, start(client))

    assert response.status_code == 302
    assert response.location.endswith(f"/admin/apps/{API_KEY}")
    with db.session() as session:
        store = session.execute(select(Store)).scalar_one()
        assert store.installed and store.webhook_secret is None
        assert store.access_token in shopify.tokens and store.refresh_token in shopify.refresh_tokens
        raw = session.execute(text("SELECT access_token, refresh_token FROM stores")).one()
        assert store.access_token not in raw.access_token and store.refresh_token not in raw.refresh_token

    run_jobs()

    uri = f"{config.base_url}/webhooks/shopify"
    assert sorted(s["topic"] for s in shopify.subscriptions[SHOP]) == \
        sorted(subscriptions.enum(t) for t in subscriptions.TOPICS)
    assert {s["uri"] for s in shopify.subscriptions[SHOP]} == {uri}
    assert "APP_UNINSTALLED" in {s["topic"] for s in shopify.subscriptions[SHOP]}
    assert progress_of(store.id, "backfill") == {
        "customers": ("done", 1), "products": ("done", 1), "orders": ("done", 1),
        "checkouts": ("done", 1)}


def test_a_reinstall_updates_the_store_and_keeps_its_subscriptions(client, shopify, run_jobs):
    callback(client, shopify, start(client))
    run_jobs()
    callback(client, shopify, start(client))
    run_jobs()

    with db.session() as session:
        assert session.execute(select(func.count()).select_from(Store)).scalar() == 1
    assert len(shopify.subscriptions[SHOP]) == len(subscriptions.TOPICS)


def test_a_state_works_once_and_only_for_its_shop(client, shopify):
    state = start(client)
    assert callback(client, shopify, state, shop="other-shop.myshopify.com").status_code == 403
    state = start(client)
    assert callback(client, shopify, state).status_code == 302
    assert callback(client, shopify, state).status_code == 403


def test_a_used_code_is_a_clear_400(client, shopify):
    state = start(client)
    query = signed(code="never-issued", state=state)
    response = client.get("/install/shopify/callback", query_string=query)
    assert response.status_code == 400


def test_the_app_toml_asks_for_the_scopes_and_compliance_topics_we_use():
    import tomllib
    from pathlib import Path

    from app.core.config import DEFAULT_SHOPIFY_SCOPES
    from connectors.shopify.normalize import COMPLIANCE

    toml = tomllib.loads((Path(subscriptions.__file__).parent / "shopify.app.toml").read_text())
    assert toml["access_scopes"]["scopes"] == DEFAULT_SHOPIFY_SCOPES
    compliance = [s for s in toml["webhooks"]["subscriptions"] if "compliance_topics" in s]
    assert set(compliance[0]["compliance_topics"]) == set(COMPLIANCE)
    assert all(s["uri"].endswith("/webhooks/shopify") for s in toml["webhooks"]["subscriptions"])
