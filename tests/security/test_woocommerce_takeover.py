"""Critical finding: a stranger took over a connected WooCommerce store by starting an install
for its URL, posting keys of their own to the callback and handshaking with them for the store's
webhook secret. Replayed here over HTTP against the running app."""
from __future__ import annotations

import json
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from app.core import stores
from app.core.db import db
from app.models import PendingInstall, Store
from app.web import key_exchange as installs
from connectors.signing import sign
from tests.helpers import published

BASE = "https://storeflow.example.org"
STORE = "https://shop.example.com"
KEYS = published("woocommerce/wc_auth_callback_keys.json")  # what WooCommerce posts
ATTACKER = {"consumer_key": "ck_x", "consumer_secret": "cs_x", "key_permissions": "read_write"}


@pytest.fixture
def https_base(app, cli_env, monkeypatch):
    """WooCommerce posts keys to https callbacks only: serve under an https BASE_URL (also for
    `storeflow` run in this process, which binds the signers again)."""
    monkeypatch.setenv("BASE_URL", BASE)
    monkeypatch.setitem(app.config, "STOREFLOW", app.config["STOREFLOW"].replace(base_url=BASE))
    monkeypatch.setattr(installs.signer, "base_url", BASE)


@pytest.fixture
def connected(https_base):
    """The merchant's store, connected with its real keys."""
    with db.session() as session:
        store, _ = stores.connect_with_keys(session, "woocommerce", STORE, consumer_key="ck_real",
                                            consumer_secret="cs_real")
    return store


def the_store(url: str = STORE) -> Store:
    with db.session() as session:
        return session.execute(select(Store).where(Store.domain == url)).scalar_one()


def handshake(http, secret: str, url: str = STORE):
    body = json.dumps({"store": url, "ts": int(time.time())}).encode()
    return http.post("/install/woocommerce/handshake", data=body,
                     headers={"X-Storeflow-Signature": sign(secret, body)})


def test_a_stranger_cannot_start_an_install_of_a_connected_store(http, connected):
    started = http.get("/install/woocommerce", params={"store": STORE})

    assert started.status_code == 403 and "already connected" in started.text
    assert "user_id" not in started.headers.get("Location", "")
    assert handshake(http, "cs_x").status_code == 401
    assert the_store().access_token == "cs_real"


def test_an_uninstalled_store_is_not_reinstalled_by_a_stranger(http, connected):
    with db.session() as session:
        session.get(Store, connected.id).uninstalled_at = connected.installed_at
    assert http.get("/install/woocommerce", params={"store": STORE}).status_code == 403
    assert not the_store().installed


def test_keys_posted_for_a_leaked_reference_never_reach_the_store(http, connected, storeflow):
    """Even holding a reference from the merchant's own reconnect, the stranger's keys stay on
    the pending install: only the merchant's browser (its cookie) completes it."""
    from tests.ui_helpers import login_path

    merchant = http.__class__()
    merchant.get(login_path(storeflow, connected.id))  # signed in to this store
    started = merchant.get("/install/woocommerce", params={"store": STORE})
    assert started.status_code == 302
    reference = parse_qs(urlsplit(started.headers["Location"]).query)["user_id"][0]

    assert http.post("/install/woocommerce/callback",
                     json={**ATTACKER, "user_id": reference}).status_code == 200
    back = http.get("/install/woocommerce/return", params={"success": "1", "user_id": reference})

    assert back.status_code == 403 and "another browser" in back.text
    assert the_store().access_token == "cs_real" and the_store().api_key == "ck_real"
    assert handshake(http, "cs_x").status_code == 401
    # WooCommerce's own delivery for the same install is refused too: one set of keys each.
    assert http.post("/install/woocommerce/callback",
                     json={**KEYS, "user_id": reference}).status_code == 403


def begin(http) -> tuple[str, str]:
    """A stranger's own install of a store we do not hold yet: (reference, cookie)."""
    started = http.get("/install/woocommerce", params={"store": STORE})
    reference = parse_qs(urlsplit(started.headers["Location"]).query)["user_id"][0]
    assert http.post("/install/woocommerce/callback",
                     json={**ATTACKER, "user_id": reference}).status_code == 200
    return reference, started.cookies["storeflow_wc_install"]


def test_another_browsers_cookie_does_not_complete_an_install(http, https_base):
    reference, _ = begin(http)
    _, other_cookie = begin(http.__class__())

    back = http.get("/install/woocommerce/return", params={"success": "1", "user_id": reference},
                    cookies={"storeflow_wc_install": other_cookie})

    assert back.status_code == 403 and "another browser" in back.text
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(Store)).scalar_one() == 0


def test_a_store_connected_meanwhile_is_not_overwritten_by_an_install_started_before(
        http, https_base):
    reference, cookie = begin(http)
    with db.session() as session:  # the operator connects it from the shell meanwhile
        stores.connect_with_keys(session, "woocommerce", STORE, consumer_key="ck_real",
                                 consumer_secret="cs_real")

    back = http.get("/install/woocommerce/return", params={"success": "1", "user_id": reference},
                    cookies={"storeflow_wc_install": cookie})

    assert back.status_code == 403 and "connected by someone else meanwhile" in back.text
    assert the_store().access_token == "cs_real"


def test_the_browser_cannot_come_back_before_woocommerce_delivered_the_keys(http, https_base):
    started = http.get("/install/woocommerce", params={"store": STORE})
    reference = parse_qs(urlsplit(started.headers["Location"]).query)["user_id"][0]

    back = http.get("/install/woocommerce/return", params={"success": "1", "user_id": reference},
                    cookies={"storeflow_wc_install": started.cookies["storeflow_wc_install"]})

    assert back.status_code == 403 and "has not delivered the keys" in back.text


def test_a_url_cannot_be_claimed_with_keys_the_store_never_issued(http, https_base, woo_stub):
    """A stranger's own browser, start to finish, for a store we do not hold yet, with keys of
    their own making: the store refuses them, so nothing is connected and no secret handed out."""
    started = http.get("/install/woocommerce", params={"store": woo_stub.url})
    reference = parse_qs(urlsplit(started.headers["Location"]).query)["user_id"][0]
    assert http.post("/install/woocommerce/callback",
                     json={**ATTACKER, "user_id": reference}).status_code == 200

    back = http.get("/install/woocommerce/return", params={"success": "1", "user_id": reference},
                    cookies={"storeflow_wc_install": started.cookies["storeflow_wc_install"]})

    assert back.status_code == 403 and "does not accept the keys" in back.text
    assert handshake(http, "cs_x", woo_stub.url).status_code == 401
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(Store)).scalar_one() == 0


def test_the_merchants_own_browser_installs_a_new_store_end_to_end(http, https_base, woo_stub):
    """The control: a browser that starts an install, and only it, finishes it, with keys the
    store issued (its REST API is the stub on loopback)."""
    woo_stub.keys.add(KEYS["consumer_key"])
    started = http.get("/install/woocommerce", params={"store": woo_stub.url})
    assert started.status_code == 302
    reference = parse_qs(urlsplit(started.headers["Location"]).query)["user_id"][0]
    # The cookie is Secure (BASE_URL is https); this loopback server is plain http.
    cookie = started.cookies["storeflow_wc_install"]
    assert http.post("/install/woocommerce/callback",
                     json={**KEYS, "user_id": reference}).status_code == 200

    back = http.get("/install/woocommerce/return", params={"success": "1", "user_id": reference},
                    cookies={"storeflow_wc_install": cookie})

    assert back.status_code == 302
    assert back.headers["Location"].startswith(f"{woo_stub.url}/wp-admin/")
    assert the_store(woo_stub.url).access_token == KEYS["consumer_secret"]
    answer = handshake(http, KEYS["consumer_secret"], woo_stub.url)
    assert answer.json()["store_id"] == the_store(woo_stub.url).id


def test_a_pending_install_expires_in_minutes(http, https_base, monkeypatch):
    from app.core import clock

    started = http.get("/install/woocommerce", params={"store": STORE})
    reference = parse_qs(urlsplit(started.headers["Location"]).query)["user_id"][0]
    later = clock.now() + installs.INSTALL_MAX_AGE + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)

    assert http.post("/install/woocommerce/callback",
                     json={**KEYS, "user_id": reference}).status_code == 403
    # Strangers' abandoned starts do not pile up: the next start clears the expired one.
    http.get("/install/woocommerce", params={"store": STORE})
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(PendingInstall)).scalar_one() == 1
