"""The companion WordPress plugin: every PHP file lints, and its payload and signing code (run
with php-cli) builds events that Storeflow's /collect accepts byte for byte."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.db import db
from app.models import Checkout, ConsentChange, Customer
from connectors.signing import verify
from tests.helpers import WOO_SECRET

PLUGIN = Path(__file__).parent.parent / "connectors/woocommerce/wordpress-plugin/storeflow"
PHP = shutil.which("php")
needs_php = pytest.mark.skipif(PHP is None, reason="php-cli is not installed (apt-get install php-cli)")
ITEMS = [{"product_id": 93, "variation_id": 0, "name": "Woo Single #1", "quantity": 2,
          "price": "3.00", "sku": ""},
         {"product_id": 22, "variation_id": 23, "name": "Ship Your Idea – Black, M",
          "quantity": 1, "price": "12.00", "sku": "Bar3"}]


def run_php(script: Path, stdin: str = "") -> str:
    done = subprocess.run([PHP, str(script)], input=stdin, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr or done.stdout
    return done.stdout


def build(**changes) -> dict:
    given = {"secret": WOO_SECRET, "store_id": 1, "cart_token": "wc-t_4f2a9c", "total": "18.00",
             "items": ITEMS, "visitor_id": "wc-t_4f2a9c", "at": "2026-11-22T10:00:00Z",
             "email": "Jane.Doe@Example.com", "ts": int(time.time()),
             "consumer_secret": "cs_xxxxxxxxxxxxxxxx", **changes}
    return json.loads(run_php(Path(__file__).parent / "php/plugin_payload.php", json.dumps(given)))


@needs_php
def test_every_plugin_file_lints():
    files = sorted(PLUGIN.rglob("*.php"))
    assert {f.name for f in files} >= {"storeflow.php", "uninstall.php", "payload.php"}
    for path in files:
        done = subprocess.run([PHP, "-l", str(path)], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stdout + done.stderr


@needs_php
def test_php_signature_is_the_one_python_computes():
    built = build()
    assert verify(WOO_SECRET, built["body"].encode(), built["signature"])
    assert not verify("another secret", built["body"].encode(), built["signature"])


@needs_php
def test_plugin_events_are_accepted_and_the_opt_in_subscribes(woo_store, client, run_jobs):
    built = build(store_id=woo_store.id)
    response = client.post("/collect", data=built["body"].encode(), content_type="application/json",
                           headers={"X-Storeflow-Signature": built["signature"]})
    assert response.status_code == 200, response.data
    assert response.json == {"accepted": 2, "duplicates": 0}
    run_jobs()

    with db.session() as session:
        cart = session.execute(select(Checkout)).scalar_one()
        assert (cart.token, cart.email, cart.stage) == ("wc-t_4f2a9c", "jane.doe@example.com", "checkout")
        assert cart.recovery_url.startswith("https://shop.example.com/?storeflow_restore=")
        assert [(l.product_id, l.variant_id, l.quantity) for l in cart.lines] == [
            (93, None, 2), (22, 23, 1)]
        buyer = session.execute(select(Customer)).scalar_one()
        assert (buyer.email, buyer.platform_id, buyer.email_consent) == (
            "jane.doe@example.com", 25, "subscribed")
        change = session.execute(select(ConsentChange)).scalar_one()
        assert change.source == "storefront:checkout"


def test_a_browser_cannot_send_consent_or_cart_links(woo_store, client):
    from tests.collect_helpers import event

    opt_in = event("identify", "v1", email="victim@example.com", marketing_opt_in=True)
    body = json.dumps({"store_id": woo_store.id, "key": woo_store.collect_key, "events": [opt_in]})
    response = client.post("/collect", data=body, content_type="text/plain",
                           headers={"Origin": woo_store.domain})
    assert response.status_code == 400 and b"signed request" in response.data


@needs_php
def test_restore_links_only_open_with_the_stores_secret():
    built = build()
    assert built["restored"] == [{"product_id": 93, "variation_id": 0, "quantity": 2},
                                 {"product_id": 22, "variation_id": 23, "quantity": 1}]
    assert built["forged"] is None


@needs_php
def test_php_handshake_is_accepted_by_storeflow(app, client, monkeypatch):
    from app.core import stores

    monkeypatch.setitem(app.config, "STOREFLOW", app.config["STOREFLOW"].replace(
        base_url="https://storeflow.example.org"))
    with db.session() as session:
        store, _ = stores.connect_with_keys(session, "woocommerce", "https://shop.example.com",
                                            consumer_key="ck",
                                            consumer_secret="cs_xxxxxxxxxxxxxxxx")
    built = build()
    answer = client.post("/install/woocommerce/handshake", data=built["handshake"].encode(),
                         headers={"X-Storeflow-Signature": built["handshake_signature"]})
    assert answer.status_code == 200 and answer.json["store_id"] == store.id


@needs_php
def test_uninstall_removes_the_plugins_options(tmp_path):
    harness = tmp_path / "uninstall.php"
    harness.write_text(
        "<?php define('WP_UNINSTALL_PLUGIN', true); $deleted = array();\n"
        "function delete_option($n) { global $deleted; $deleted[] = $n; }\n"
        "function delete_site_option($n) { global $deleted; $deleted[] = 'site:' . $n; }\n"
        f"require {json.dumps(str(PLUGIN / 'uninstall.php'))};\n"
        "echo json_encode($deleted);\n")
    assert json.loads(run_php(harness)) == ["storeflow_settings", "site:storeflow_settings"]


def open_storeflow(storeflow_url: str, store_id: int, secret: str) -> dict:
    """Run the plugin's "Open Storeflow" request (its own code, php-cli) against Storeflow."""
    given = {"url": storeflow_url, "store_id": store_id, "secret": secret, "user_id": 7,
             "email": "owner@shop.example.com"}
    return json.loads(run_php(Path(__file__).parent / "php/plugin_sign_in.php", json.dumps(given)))


@needs_php
def test_open_storeflow_signs_the_wordpress_user_in_once(woo_store, app_server, client):
    """The WordPress admin's button: the plugin asks the running Storeflow for a link and the
    browser it sends there is signed in to that store's settings, once."""
    answer = open_storeflow(app_server, woo_store.id, WOO_SECRET)
    assert answer["target"].startswith(f"{app_server}/app/login/"), answer
    path = answer["target"].removeprefix(app_server)

    opened = client.get(path)
    assert opened.status_code == 302 and opened.location.endswith("/app/")
    page = client.get("/app/")
    assert page.status_code == 200
    assert b"Signed in as owner@shop.example.com (WordPress user 7)" in page.data
    assert client.application.test_client().get(path).status_code == 403  # the link is spent


@needs_php
def test_open_storeflow_with_the_wrong_secret_explains_itself(woo_store, app_server):
    answer = open_storeflow(app_server, woo_store.id, "not the store's secret")
    assert "target" not in answer
    assert answer["error"].startswith("Storeflow did not open a session")
