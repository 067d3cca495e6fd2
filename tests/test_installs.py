"""app.web.key_exchange step by step, at its edges: what each refusal tells the merchant, the ten
minutes an install lives (to the second), references we signed that name no open install, and
keys that must not linger once bound. WooCommerce's REST API is the stub on loopback."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.core import clock, stores
from app.core.db import db
from app.models import PendingInstall
from app.web import key_exchange as installs
from tests.helpers import published

KEYS = published("woocommerce/wc_auth_callback_keys.json")  # what WooCommerce posts


def refusal(step, *args, **kwargs) -> str:
    with pytest.raises(installs.InstallRefused) as refused, db.session() as session:
        step(session, *args, **kwargs)
    return str(refused.value)


def started(url: str, signed_in: int | None = None) -> tuple[str, str]:
    """(reference, browser secret) of a fresh install of `url`."""
    with db.session() as session:
        authorize, secret = installs.start(session, url, signed_in)
    return parse_qs(urlsplit(authorize).query)["user_id"][0], secret


def deliver(reference: str, permissions: str = "read_write", **keys) -> None:
    with db.session() as session:
        installs.receive_keys(session, reference, consumer_key=keys.get("key", KEYS["consumer_key"]),
                              consumer_secret=keys.get("secret", KEYS["consumer_secret"]),
                              permissions=permissions)


@pytest.fixture
def store_url(app, woo_stub):
    """A store whose REST API takes exactly the published key and its secret."""
    woo_stub.keys.add(KEYS["consumer_key"])
    woo_stub.secrets[KEYS["consumer_key"]] = KEYS["consumer_secret"]
    return woo_stub.url


def test_the_browser_gets_a_32_byte_secret(store_url):
    _, secret = started(store_url)
    assert len(secret) == 43  # 32 bytes, urlsafe base64 without padding


def test_each_refusal_tells_the_merchant_what_to_do(store_url):
    with db.session() as session:
        held, _ = stores.connect_with_keys(session, "woocommerce", store_url,
                                           consumer_key="ck_test", consumer_secret="cs_test")
    assert refusal(installs.start, store_url, None) == (
        f"{store_url} is already connected to Storeflow. To reconnect it, sign in to Storeflow "
        "for this store first (a link from `storeflow login-link`), then click Connect again; "
        "an operator can also run `storeflow store add woocommerce`.")

    reference, secret = started(store_url, held.id)
    assert refusal(installs.complete, reference, secret) == (
        "WooCommerce has not delivered the keys for this install")
    assert refusal(installs.receive_keys, reference, consumer_key="ck", consumer_secret="cs",
                   permissions="read") == "the keys must have read_write permissions"
    deliver(reference)
    assert refusal(installs.receive_keys, reference, consumer_key="ck", consumer_secret="cs",
                   permissions="read_write") == "keys were already delivered for this install"
    assert refusal(installs.complete, reference, "another browser's secret") == (
        "this install was started in another browser; start it again here")
    assert refusal(installs.complete, "forged", secret) == (
        "no install was started for this reference")


def test_keys_with_the_wrong_secret_are_not_bound(store_url):
    """The store's API must take the key with the secret WooCommerce delivered with it."""
    reference, secret = started(store_url)
    deliver(reference, secret="cs_made_up")
    assert refusal(installs.complete, reference, secret) == (
        f"WooCommerce at {store_url} does not accept the keys sent for this install (or could "
        "not be reached); start again")


def test_a_store_that_errors_is_asked_once(store_url, woo_stub):
    """No retries while the merchant's browser waits on the answer: start again instead."""
    reference, secret = started(store_url)
    deliver(reference)
    woo_stub.faults.extend([500] * 5)
    refusal(installs.complete, reference, secret)
    assert len(woo_stub.requests("GET", "webhooks")) == 1


def test_once_bound_the_keys_are_kept_only_on_the_store(store_url):
    reference, secret = started(store_url)
    deliver(reference)
    with db.session() as session:
        store, created = installs.complete(session, reference, secret)
        assert created and store.access_token == KEYS["consumer_secret"]
    with db.session() as session:
        pending = session.execute(select(PendingInstall)).scalar_one()
        assert (pending.consumer_key, pending.consumer_secret) == (None, None)
        assert pending.completed_at is not None
    # The same reference, used again, continues nothing.
    assert refusal(installs.complete, reference, secret) == (
        "no install was started for this reference, or it has expired")


def test_an_install_lives_ten_minutes_to_the_second(store_url):
    start_time = clock.now()
    with clock.frozen_at(start_time):
        reference, secret = started(store_url)
        deliver(reference)
    # Exactly ten minutes on, it may still complete, and another start does not clear it.
    with clock.frozen_at(start_time + installs.INSTALL_MAX_AGE):
        started("https://another-shop.example.com")
        with db.session() as session:
            store, _ = installs.complete(session, reference, secret)
    assert store.domain == store_url


def test_a_second_later_it_is_gone(store_url):
    start_time = clock.now()
    with clock.frozen_at(start_time):
        reference, _ = started(store_url)
    with clock.frozen_at(start_time + installs.INSTALL_MAX_AGE + timedelta(seconds=1)):
        assert refusal(installs.receive_keys, reference, consumer_key="ck",
                       consumer_secret="cs", permissions="read_write") == (
            "no install was started for this reference, or it has expired")


@pytest.mark.parametrize("install_id, nonce", [(999_999, "any"), ("1", "any"), (None, None)])
def test_a_reference_we_signed_for_no_open_install_is_refused(store_url, install_id, nonce):
    """Defence in depth behind the signature: a reference naming no install, or not in the
    shape we make, continues nothing (a 403, never a crash)."""
    started(store_url)
    reference = installs.signer.serializer().dumps([install_id, nonce])
    assert refusal(installs.receive_keys, reference, consumer_key="ck", consumer_secret="cs",
                   permissions="read_write") == (
        "no install was started for this reference, or it has expired")


def test_a_reference_with_another_nonce_is_refused(store_url):
    """A row's reference is only good with the row's own random nonce."""
    reference, _ = started(store_url)
    install_id, _ = installs.signer.serializer().loads(reference)
    guessed = installs.signer.serializer().dumps([install_id, "not-the-nonce"])
    assert refusal(installs.receive_keys, guessed, consumer_key="ck", consumer_secret="cs",
                   permissions="read_write") == (
        "no install was started for this reference, or it has expired")
