"""POST /sign-in/wordpress (the plugin's "Open Storeflow" button) attacked from outside: only a
request the store signed, fresh and never seen, gets a link; the link works once, for a minute,
for that store. Over HTTP against the running app."""
from __future__ import annotations

import json
import logging
import secrets
import time

import pytest

from app.web import wordpress_sign_in
from connectors.signing import sign
from tests.helpers import WOO_SECRET

EMAIL = "owner@shop.example.com"


def ask(http, store_id: int, *, secret: str = WOO_SECRET, ts: float | None = None,
        nonce: str | None = None, changes: dict | None = None):
    """The plugin's request, signed with `secret`; `changes` overrides fields as sent."""
    fields = {"store_id": store_id, "user_id": 7, "email": EMAIL,
              "ts": int(time.time() if ts is None else ts),
              "nonce": nonce or secrets.token_hex(16), **(changes or {})}
    body = json.dumps(fields).encode()
    return http.post("/sign-in/wordpress", data=body,
                     headers={"Content-Type": "application/json",
                              "X-Storeflow-Signature": sign(secret, body)})


def test_a_signed_fresh_request_gets_a_link_for_its_store_and_user(http, woo_store):
    answer = ask(http, woo_store.id)
    assert answer.status_code == 200
    assert answer.json()["expires_in"] == 60
    assert http.get(answer.json()["path"]).status_code == 302
    page = http.get("/app/")
    assert page.status_code == 200 and woo_store.domain.split("//")[1] in page.text


def test_a_replayed_request_is_refused(http, woo_store):
    fields = json.dumps({"store_id": woo_store.id, "user_id": 7, "email": EMAIL,
                         "ts": int(time.time()), "nonce": secrets.token_hex(16)}).encode()
    headers = {"Content-Type": "application/json",
               "X-Storeflow-Signature": sign(WOO_SECRET, fields)}
    assert http.post("/sign-in/wordpress", data=fields, headers=headers).status_code == 200
    again = http.post("/sign-in/wordpress", data=fields, headers=headers)
    assert again.status_code == 401 and "path" not in again.json()


# Half a window clear of its edge either way: a request may take seconds to arrive on a
# loaded machine, and must not drift across the edge in the meantime.
@pytest.mark.parametrize("skew", [-90, 90, -3600])
def test_a_stale_or_future_request_is_refused(http, woo_store, skew):
    assert ask(http, woo_store.id, ts=time.time() + skew).status_code == 401


@pytest.mark.parametrize("skew", [-30, 30])
def test_a_request_within_the_clock_window_is_accepted(http, woo_store, skew):
    assert ask(http, woo_store.id, ts=time.time() + skew).status_code == 200


def test_a_forged_or_borrowed_signature_is_refused(http, woo_store, shop):
    assert ask(http, woo_store.id, secret="guessed").status_code == 401
    # The Shopify store's own secret signs for the Shopify store: not a WooCommerce store.
    assert ask(http, shop.id, secret=shop.webhook_secret).status_code == 401
    assert ask(http, 424242).status_code == 401  # no such store: the same answer


def test_an_uninstalled_store_gets_no_link(http, woo_store):
    from app.core.db import db
    from app.ingest import compliance

    with db.session() as session:
        compliance.uninstall(session, woo_store.id)
    assert ask(http, woo_store.id).status_code == 401


def test_the_link_works_once(http, woo_store):
    path = ask(http, woo_store.id).json()["path"]
    assert http.get(path).status_code == 302
    assert http.__class__().get(path).status_code == 403


def test_the_link_lives_a_minute(http, woo_store, monkeypatch):
    import itsdangerous.timed

    path = ask(http, woo_store.id).json()["path"]
    later = time.time() + wordpress_sign_in.LINK_LIFETIME.total_seconds() + 2
    # The link was made a minute and two seconds ago, as far as its signature can tell.
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    assert http.get(path).status_code == 403


def test_a_link_cannot_be_retargeted_to_another_store(http, woo_store):
    """The link names its store under Storeflow's signature: changing a letter breaks it."""
    path = ask(http, woo_store.id).json()["path"]
    token = path.rsplit("/", 1)[1]
    tampered = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    assert http.get(f"/app/login/{tampered}").status_code == 403


@pytest.mark.parametrize("changes, says", [
    ({"store_id": True}, "store_id must be a whole number"),
    ({"store_id": 2**31}, "store_id must be a whole number from 1 to 2147483647"),
    ({"user_id": 0}, "user_id must be a whole number"),
    ({"ts": "now"}, "ts must be a whole number"),
    ({"email": "x" * 300 + "@example.com"}, "email must be an address"),
    ({"nonce": "short"}, "nonce must be 16 to 64"),
])
def test_malformed_requests_are_told_what_is_wrong(http, woo_store, changes, says):
    answer = ask(http, woo_store.id, changes=changes)
    assert answer.status_code == 400 and says in answer.text


def test_a_body_that_is_not_json_is_a_400(http, woo_store):
    answer = http.post("/sign-in/wordpress", data=b"store_id=1",
                       headers={"X-Storeflow-Signature": sign(WOO_SECRET, b"store_id=1")})
    assert answer.status_code == 400 and "JSON object" in answer.text


def test_the_logs_name_no_one(http, woo_store, caplog):
    caplog.set_level(logging.INFO)
    nonce = secrets.token_hex(16)
    ask(http, woo_store.id, nonce=nonce)
    ask(http, woo_store.id, nonce=nonce)
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert "wordpress sign-in refused: replayed request" in logged
    assert EMAIL not in logged and nonce not in logged
