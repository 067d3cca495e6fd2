"""The Low findings of the security review, each replayed from outside against the running app:
HTTP to the served app, the real `storeflow web` process, and the servers it runs on."""
from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from app.core import stores
from app.core.db import db
from app.models import WebhookEvent
from tests.helpers import API_SECRET, SHOP, Webhooks, published
from tests.smtp import free_port
from tests.ui_helpers import login_path

ROOT = Path(__file__).resolve().parents[2]
HUGE = "99999999999999999999"  # past PostgreSQL's bigint
ADMIN_PASSWORD = "a-long-operator-password"


class _Over:
    """The test client's `post` that tests.helpers.Webhooks calls, sent over real HTTP."""

    def __init__(self, http):
        self.http = http

    def post(self, path, *, data, headers, content_type):
        return self.http.post(path, data=data, headers={**headers, "Content-Type": content_type})


def sign_in(http, storeflow, store_id: int) -> str:
    """Follow a login link as a browser would; the page's CSRF token."""
    # requests' get() asks to follow redirects itself, over the fixture's default.
    assert http.get(login_path(storeflow, store_id), allow_redirects=False).status_code == 302
    page = http.get("/app/")
    assert page.status_code == 200
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)


# --- Shopify: a body signed for one shop, delivered as another --------------------------------

VICTIM = "victim-shop.myshopify.com"
COMPLIANCE = ("customers/redact", "shop/redact", "customers/data_request")


@pytest.fixture
def victim(installed_shop, shopify):
    """A second store of the same public app: its webhooks are signed with the same secret."""
    with db.session() as session:
        store, _ = stores.connect(session, "shopify", VICTIM, access_token=shopify.issue_token(VICTIM),
                                  webhook_secret=None)
    return store


@pytest.mark.parametrize("topic", COMPLIANCE)
def test_a_body_signed_for_one_shop_is_refused_when_delivered_as_another(
        http, installed_shop, victim, topic, caplog):
    caplog.set_level(logging.INFO)
    body = published(f"shopify/{topic.replace('/', '_')}.json")  # names SHOP, Shopify signed it

    answer = Webhooks(_Over(http)).deliver(topic, body, secret=API_SECRET, shop=VICTIM)

    assert 400 <= answer.status_code < 500
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(WebhookEvent)).scalar_one() == 0
    assert "john@example.com" not in caplog.text and "555-625-1199" not in caplog.text


# --- Sign-out ends the session on the server ----------------------------------------------------

def test_a_cookie_copied_before_sign_out_no_longer_signs_in(http, app_server, shop, storeflow):
    csrf = sign_in(http, storeflow, shop.id)
    copied = http.cookies.get("storeflow_session")

    assert http.post("/app/logout", data={"csrf_token": csrf}).status_code == 200

    with requests.Session() as thief:
        thief.cookies.set("storeflow_session", copied)
        replayed = thief.get(f"{app_server}/app/", allow_redirects=False)
    assert replayed.status_code == 401 and "Overview" not in replayed.text


# --- Ids past PostgreSQL's integers -------------------------------------------------------------

@pytest.mark.parametrize("path", [
    f"/app/activity/messages/{HUGE}", f"/app/dev-inbox/{HUGE}", f"/app/preview?customer_id={HUGE}",
    "/app/preview?customer_id=%C2%B2",  # "²" is a digit to str.isdigit, not to int()
])
def test_a_huge_id_in_a_ui_route_is_not_found(http, shop, storeflow, path):
    sign_in(http, storeflow, shop.id)

    assert http.get(path).status_code == 404
    assert http.get(path, headers={"Accept": "application/json"}).status_code == 404


def test_a_huge_number_in_the_jobs_dashboard_is_not_found(http, app, monkeypatch):
    monkeypatch.setitem(app.config, "STOREFLOW",
                        app.config["STOREFLOW"].replace(admin_password=ADMIN_PASSWORD))

    for path in (f"/admin/jobs/{HUGE}/view", f"/admin/jobs/{HUGE}/data/queues.json"):
        assert http.get(path, auth=("admin", ADMIN_PASSWORD)).status_code == 404


# --- Merchant text that names other templates ---------------------------------------------------

@pytest.mark.parametrize("text", ['{% include "base.html" %}', '{% extends "base.html" %}',
                                  '{% import "base.html" as b %}x', '{% from "base.html" import x %}x'])
def test_merchant_text_naming_another_template_is_refused_with_a_reason(http, shop, storeflow, text):
    csrf = sign_in(http, storeflow, shop.id)

    answer = http.post("/app/preview/texts", data={
        "csrf_token": csrf, "step": "abandoned_checkout/email_2", "action": "save",
        "subject": "Still there?", "message": text})

    assert answer.status_code == 400
    assert "other templates" in answer.text


# --- Bearer tokens in access logs ---------------------------------------------------------------

def test_the_access_log_carries_no_bearer_token(shop, storeflow, cli_env):
    port = free_port()
    env = {**os.environ, **cli_env, "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1"}
    web = subprocess.Popen([sys.executable, "-m", "app.cli", "web"], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    secret = "Zm9yLXRoZS1sb2dzLW9ubHk"
    paths = [f"/u/{secret}", f"/confirm/{secret}", f"/o/{secret}.gif", f"/c/{secret}",
             login_path(storeflow, shop.id)]
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                # A slow first answer (a loaded machine, gunicorn warming up) is no failure.
                requests.get(f"{base}/healthz", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert web.poll() is None and time.monotonic() < deadline
                time.sleep(0.3)
        for path in paths:
            requests.get(base + path, allow_redirects=False, timeout=10)
    finally:
        web.terminate()
        output, _ = web.communicate(timeout=60)

    assert '"GET /healthz" 200' in output, output
    for path in paths:
        token = path.removesuffix(".gif").rsplit("/", 1)[1]
        assert token not in output
    assert '"GET /u/[token]"' in output and '"GET /app/login/[token]" 302' in output


# --- Shopify session tokens ---------------------------------------------------------------------

@pytest.mark.parametrize("changes", [
    {"iss": f"https://{SHOP}/admin.attacker.example"},
    {"iss": f"https://{SHOP}/administrator"},
    {"exp": int(time.time()) + 30 * 86400},  # a month-long token: a leaked one stays good
])
def test_a_session_token_with_a_loose_issuer_or_a_long_life_is_refused(http, shopify, shop, changes):
    from tests.test_shopify_session_token import token

    answer = http.get("/app/", headers={"Authorization": f"Bearer {token(**changes)}"})

    assert answer.status_code == 401
    assert http.get("/app/", headers={"Authorization": f"Bearer {token()}"}).status_code == 200


# --- The embedded development servers -----------------------------------------------------------

def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL") or os.environ.get("REDIS_URL")),
                    reason="the tests run on servers of your own, not the embedded ones")
def test_the_embedded_servers_are_builds_without_the_published_cves(app):
    from app.jobs import broker

    with db.engine.connect() as connection:
        postgres = connection.exec_driver_sql("SHOW server_version").scalar()
    server = broker.connection.info("server")

    # CVE-2025-12817/12818 and every earlier one were fixed by PostgreSQL 18.1 (16.11, 17.7).
    assert version(postgres) >= (18, 1), postgres
    # CVE-2025-49844 (Lua, remote code execution) and its kin: fixed in Valkey 8.1.4.
    assert version(server.get("valkey_version", "0")) >= (8, 1, 4), server["redis_version"]
