"""Connecting a WooCommerce store: the wc-auth key exchange (start, callback, forged callbacks)
and `storeflow store add woocommerce`."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select, text

from app.core.db import db
from app.jobs import broker
from app.models import PendingInstall, Store
from app.web import key_exchange as installs
from connectors.woocommerce.site import normalize_store_url
from tests.helpers import published
from tests.ui_helpers import sign_in

BASE = "https://storeflow.example.org"
KEYS = published("woocommerce/wc_auth_callback_keys.json")  # what WooCommerce posts


@pytest.fixture
def https_base(app, monkeypatch):
    """WooCommerce posts keys to https callbacks only: run these tests under an https BASE_URL."""
    config = app.config["STOREFLOW"]
    monkeypatch.setitem(app.config, "STOREFLOW", config.replace(base_url=BASE))
    monkeypatch.setattr(installs.signer, "base_url", BASE)


@pytest.fixture
def shop_url(woo_stub) -> str:
    """The store being installed: WooCommerce's REST API on loopback, which accepts the keys
    its approval screen issues (the published ones, and a second pair for a reinstall)."""
    woo_stub.keys |= {KEYS["consumer_key"], "ck_new"}
    return woo_stub.url


def start(client, store="https://shop.example.com") -> dict:
    response = client.get("/install/woocommerce", query_string={"store": store})
    assert response.status_code == 302, response.data
    target = urlsplit(response.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{store}/wc-auth/v1/authorize"
    return {name: values[0] for name, values in parse_qs(target.query).items()}


def callback(client, user_id, **changes):
    return client.post("/install/woocommerce/callback", json={**KEYS, "user_id": user_id, **changes})


def come_back(client, user_id, success="1"):
    """The browser's return from WooCommerce's approval screen (its return_url)."""
    return client.get("/install/woocommerce/return",
                      query_string={"success": success, "user_id": user_id})


def install(client, store, **keys):
    """The whole exchange, as a merchant's browser and WooCommerce's server perform it."""
    user_id = start(client, store)["user_id"]
    assert callback(client, user_id, **keys).status_code == 200
    return come_back(client, user_id)


def stores() -> list[Store]:
    with db.session() as session:
        return session.execute(select(Store)).scalars().all()


def test_install_redirects_to_authorize_with_a_signed_pending_reference(client, https_base):
    params = start(client)
    assert params["app_name"] == "Storeflow" and params["scope"] == "read_write"
    assert params["callback_url"] == f"{BASE}/install/woocommerce/callback"
    assert params["return_url"] == f"{BASE}/install/woocommerce/return"
    with db.session() as session:
        pending = session.execute(select(PendingInstall)).scalar_one()
    assert pending.domain == "https://shop.example.com" and pending.completed_at is None
    # A signed reference to the row and its nonce, not a bare id anyone could guess.
    assert installs.signer.serializer().loads(params["user_id"]) == [pending.id, pending.nonce]


@pytest.mark.parametrize("store", [
    "http://shop.example.com", "https://user:pw@shop.example.com", "https://127.0.0.1",
    "https://localhost", "https://shop", "https://shop.example.com/?x=1", "shop.example.com",
    "https://intranet.local", "javascript:alert(1)", "", "https://2130706433", "https://127.1",
    "https://0x7f000001", "https://[::ffff:7f00:1]", "https://[::1]", "https://localhost:6379",
    "https://shop.example.com:8443",
])
def test_bad_store_urls_are_refused(client, https_base, store):
    response = client.get("/install/woocommerce", query_string={"store": store})
    assert response.status_code == 400
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(PendingInstall)).scalar_one() == 0


def test_store_urls_are_normalised():
    assert normalize_store_url(" HTTPS://Shop.Example.com/ ") == "https://shop.example.com"
    assert normalize_store_url("https://example.com:443/shop/") == "https://example.com/shop"
    with pytest.raises(ValueError, match="default https port"):
        normalize_store_url("https://example.com:8443")


def test_install_needs_an_https_base_url(client):
    response = client.get("/install/woocommerce", query_string={"store": "https://shop.example.com"})
    assert response.status_code == 503 and b"BASE_URL" in response.data


def test_keys_reach_the_store_when_the_browser_returns_and_sync_is_queued(client, https_base,
                                                                          shop_url):
    params = start(client, shop_url)
    assert callback(client, params["user_id"]).status_code == 200
    assert stores() == []  # the keys wait on the pending install for the browser

    response = come_back(client, params["user_id"])
    assert response.status_code == 302
    assert response.headers["Location"] == f"{shop_url}/wp-admin/admin.php?page=storeflow&success=1"
    [store] = stores()
    assert (store.platform, store.domain) == ("woocommerce", shop_url)
    assert (store.api_key, store.access_token) == ("ck_xxxxxxxxxxxxxxxx", "cs_xxxxxxxxxxxxxxxx")
    assert store.webhook_secret and len(store.webhook_secret) >= 32
    with db.session() as session:
        raw = session.execute(text("SELECT api_key, access_token FROM stores")).one()
        pending = session.execute(select(PendingInstall)).scalar_one()
    assert "ck_" not in raw.api_key and "cs_" not in raw.access_token
    assert pending.store_id == store.id and pending.completed_at is not None
    assert broker.queue("sync").job_ids == [f"setup-{store.id}"]


def test_forged_replayed_or_weak_callbacks_are_refused(client, https_base, shop_url):
    assert callback(client, "123").status_code == 403  # the published example's user_id
    params = start(client, shop_url)
    tampered = params["user_id"][:-2] + ("AA" if not params["user_id"].endswith("AA") else "BB")
    assert callback(client, tampered).status_code == 403
    assert callback(client, params["user_id"], key_permissions="read").status_code == 403
    assert callback(client, params["user_id"], consumer_key=None).status_code == 400
    assert client.post("/install/woocommerce/callback", data=b"nope").status_code == 400
    assert stores() == []
    assert callback(client, params["user_id"]).status_code == 200
    assert callback(client, params["user_id"], consumer_secret="cs_attacker").status_code == 403
    assert come_back(client, params["user_id"]).status_code == 302
    assert come_back(client, params["user_id"]).status_code == 403  # single-use
    [store] = stores()
    assert store.access_token == "cs_xxxxxxxxxxxxxxxx"


def test_keys_the_store_does_not_accept_connect_nothing(client, https_base, shop_url):
    """Keys a stranger made up to claim a store URL: the store itself refuses them (401)."""
    params = start(client, shop_url)
    assert callback(client, params["user_id"], consumer_key="ck_made_up").status_code == 200

    refused = come_back(client, params["user_id"])

    assert refused.status_code == 403 and b"does not accept the keys" in refused.data
    assert stores() == []


def test_a_declined_approval_connects_nothing(client, https_base):
    params = start(client)
    assert come_back(client, params["user_id"], success="0").status_code == 400
    assert stores() == []


def test_a_signed_in_merchant_reinstalls_with_new_keys_and_keeps_the_webhook_secret(
        client, https_base, storeflow, shop_url):
    install(client, shop_url)
    [first] = stores()
    refused = client.get("/install/woocommerce", query_string={"store": shop_url})
    assert refused.status_code == 403 and b"login-link" in refused.data  # not signed in to it
    sign_in(client, storeflow, first.id)
    assert install(client, shop_url, consumer_key="ck_new", consumer_secret="cs_new").status_code == 302
    [again] = stores()
    assert again.id == first.id and again.api_key == "ck_new"
    assert again.webhook_secret == first.webhook_secret


def test_cli_connects_and_reconnects_without_duplicating(storeflow):
    result = storeflow("store", "add", "woocommerce", "https://Shop.Example.com/",
                       "--key", "ck_1", "--secret", "cs_1")
    store_id = result.output.strip().splitlines()[-1]
    assert store_id.isdigit()
    [store] = stores()
    assert str(store.id) == store_id and store.domain == "https://shop.example.com"
    assert store.webhook_secret in result.output  # generated, shown once for the plugin

    again = storeflow("store", "add", "woocommerce", "https://shop.example.com",
                      "--key", "ck_2", "--secret", "cs_2", "--webhook-secret", "mine")
    assert again.output.strip().splitlines()[-1] == store_id
    assert "mine" not in again.output
    [store] = stores()
    assert (store.api_key, store.access_token, store.webhook_secret) == ("ck_2", "cs_2", "mine")


def test_cli_refuses_a_bad_url(storeflow):
    result = storeflow("store", "add", "woocommerce", "http://shop.example.com",
                       "--key", "k", "--secret", "s", ok=False)
    assert result.exit_code == 2 and "https://" in result.output
    assert stores() == []


def test_plugin_handshake_needs_the_consumer_secret(client, https_base, shop_url):
    import json
    import time

    from connectors.signing import sign

    install(client, shop_url)
    [store] = stores()
    body = json.dumps({"store": f"{shop_url}/", "ts": int(time.time())}).encode()

    def handshake(data, secret):
        return client.post("/install/woocommerce/handshake", data=data,
                           headers={"X-Storeflow-Signature": sign(secret, data)})

    answer = handshake(body, "cs_xxxxxxxxxxxxxxxx")
    assert answer.status_code == 200
    assert answer.json == {"store_id": store.id, "webhook_secret": store.webhook_secret,
                           "collect_key": store.collect_key}
    assert handshake(body, "cs_guess").status_code == 401
    stale = json.dumps({"store": shop_url, "ts": int(time.time()) - 3600}).encode()
    assert handshake(stale, "cs_xxxxxxxxxxxxxxxx").status_code == 401
    other = json.dumps({"store": "https://other.example.com", "ts": int(time.time())}).encode()
    assert handshake(other, "cs_xxxxxxxxxxxxxxxx").status_code == 401
    assert handshake(b"[]", "cs_xxxxxxxxxxxxxxxx").status_code == 400
