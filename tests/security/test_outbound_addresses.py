"""Medium finding: a WooCommerce store URL pointed the worker's API client at our own network
(names resolving to loopback, any port, redirects to internal addresses). Replayed through the
real CLI, over HTTP, and against the worker's client at connection time."""
from __future__ import annotations

import socket

import pytest
from sqlalchemy import func, select

from app.core import stores
from app.core.db import db
from app.models import Store
from app.sync import progress
from app.sync.backfill import backfill
from connectors.netguard import policy
from connectors.woocommerce.client import WooClient, WooError
from tests.woo_stub import WooStub

REBINDING = "shop.rebinding.example"  # a name an attacker controls, resolving to loopback


@pytest.fixture
def attacker_dns(monkeypatch):
    """The attacker's name resolves to 127.0.0.1 (this machine has no DNS to serve it)."""
    resolve = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return resolve("127.0.0.1" if host == REBINDING else host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def store_count() -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(Store)).scalar_one()


@pytest.mark.parametrize("url", ["https://2130706433", "https://[::ffff:7f00:1]",
                                 "https://localhost:6379", "https://0x7f.1", "https://127.1",
                                 "https://shop.example.com:6379"])
def test_the_cli_refuses_internal_store_urls(storeflow_process, app, url):
    result = storeflow_process("store", "add", "woocommerce", url, "--key", "ck", "--secret", "cs")

    assert result.returncode != 0
    assert "store URL" in result.stderr and "Traceback" not in result.stderr
    assert store_count() == 0


def test_an_install_for_a_name_resolving_to_loopback_is_refused(http, app, attacker_dns,
                                                                 monkeypatch):
    monkeypatch.setitem(app.config, "STOREFLOW",
                        app.config["STOREFLOW"].replace(base_url="https://storeflow.example.org"))
    started = http.get("/install/woocommerce", params={"store": f"https://{REBINDING}"})

    assert started.status_code == 400 and "non-public address (127.0.0.1)" in started.text


def test_the_worker_refuses_a_saved_name_that_resolves_to_loopback_later(app, attacker_dns):
    """Saved while the name resolved nowhere (allowed), then pointed at us: each connection
    checks the address it opens, so the backfill calls nothing."""
    stub = WooStub().start()
    try:
        with db.session() as session:
            store, _ = stores.connect_with_keys(session, "woocommerce",
                                                f"http://{REBINDING}:{stub.port}",
                                                consumer_key="ck_test", consumer_secret="cs_test")
            progress.queue(session, store.id, "backfill", ["orders"])
        with pytest.raises(WooError, match="non-public address"):
            WooClient.for_store(store, retries=0).get("orders")
        with pytest.raises(WooError, match="non-public address"):
            backfill(store.id, "orders")  # recorded for the merchant to see, then failed
        assert stub.calls == []
        policy.allow_private = True  # the control: allowed, the same call reaches the stub
        try:
            WooClient.for_store(store, retries=0).get("orders")
        finally:
            policy.allow_private = False
        assert len(stub.calls) == 1
    finally:
        stub.stop()


def test_the_worker_follows_no_redirect(woo_store, woo_stub):
    internal = WooStub().start()
    try:
        woo_stub.redirect_to = f"{internal.url}/wp-json/wc/v3/orders"
        with pytest.raises(WooError, match="redirected"):
            WooClient.for_store(woo_store, retries=0).get("orders")
        assert len(woo_stub.calls) == 1 and internal.calls == []
    finally:
        internal.stop()
