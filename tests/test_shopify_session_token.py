"""App Bridge session tokens: the embedded settings UI proves which shop it speaks for."""
from __future__ import annotations

import time

import jwt
import pytest

from connectors.shopify.session_token import InvalidSessionToken, verify
from tests.helpers import API_KEY, API_SECRET, SHOP


def token(secret=API_SECRET, **changes) -> str:
    now = int(time.time())
    claims = {"iss": f"https://{SHOP}/admin", "dest": f"https://{SHOP}", "aud": API_KEY,
              "sub": "42", "exp": now + 60, "nbf": now - 5, "iat": now - 5, "jti": "abc",
              "sid": "session"}
    claims.update(changes)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm="HS256")


def test_a_good_token_names_its_shop():
    assert verify(token(), API_KEY, API_SECRET) == SHOP


def test_small_clock_skew_is_tolerated():
    assert verify(token(exp=int(time.time()) - 5), API_KEY, API_SECRET) == SHOP


@pytest.mark.parametrize("bad, reason", [
    (lambda: token(secret="shpss_another_apps_secret_of_full_length"), "not valid"),
    (lambda: token(exp=int(time.time()) - 60), "expired"),
    (lambda: token(aud="another-app"), "another app"),
    (lambda: token(dest="https://evil.example.com", iss="https://evil.example.com/admin"), "no shop"),
    (lambda: token(iss="https://other-shop.myshopify.com/admin"), "issuer"),
    (lambda: token(dest=None), "not valid"),
    (lambda: jwt.encode({"dest": f"https://{SHOP}"}, API_SECRET * 2, algorithm="HS512"), "not valid"),
    (lambda: "not-a-jwt", "not valid"),
])
def test_forged_expired_or_foreign_tokens_are_refused(bad, reason):
    with pytest.raises(InvalidSessionToken, match=reason):
        verify(bad(), API_KEY, API_SECRET)


def test_the_bearer_helper_reads_the_header(shopify):
    from connectors.shopify.credentials import embedded_shop

    assert embedded_shop(f"Bearer {token()}") == SHOP
    with pytest.raises(InvalidSessionToken):
        embedded_shop("Basic abc")


def test_opening_the_embedded_app_without_a_token_installs_by_token_exchange(shopify):
    from sqlalchemy import select

    from app.core.db import db
    from app.models import Store
    from app.web.install_shopify import connect_embedded

    store_id = connect_embedded(f"Bearer {token()}")

    with db.session() as session:
        store = session.execute(select(Store)).scalar_one()
        assert (store.id, store.domain, store.installed) == (store_id, SHOP, True)
        assert store.access_token in shopify.tokens and store.refresh_token
    # Opening it again uses the token we now hold: no second exchange, no second store.
    assert connect_embedded(f"Bearer {token()}") == store_id


def test_a_forged_session_token_installs_nothing(shopify):
    from app.web.install_shopify import connect_embedded

    with pytest.raises(InvalidSessionToken):
        connect_embedded(f"Bearer {token(secret='not-the-app-secret')}")
