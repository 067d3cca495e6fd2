"""The Admin GraphQL client against the stub: throttling, transient errors, refused tokens and
expiring tokens refreshed before they lapse."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.core import clock
from app.core.db import db
from app.models import Store
from app.sync import access
from connectors.shopify import sync
from connectors.shopify.admin import AdminClient, Throttled, Unauthorized, Unavailable
from tests.helpers import SHOP

QUERY = "query { products(first: 1) { nodes { id } pageInfo { hasNextPage endCursor } } }"


def client(shopify, token=None, waits=None):
    return AdminClient(shop=SHOP, access_token=token or shopify.issue_token(SHOP),
                       sleep=(waits.append if waits is not None else lambda seconds: None))


def test_a_short_throttle_waits_the_advised_time_then_answers(shopify):
    waits = []
    shopify.throttle[SHOP] = 1
    data = client(shopify, waits=waits).execute(QUERY)

    assert data["products"]["nodes"]
    # The published THROTTLED answer: 752 points asked, 666 available, 50 restored per second.
    assert waits == [pytest.approx((752 - 666) / 50)]


def test_a_long_throttle_is_handed_back_with_the_advised_wait_instead_of_sleeping(shopify):
    waits = []
    shopify.throttle[SHOP] = 5
    with pytest.raises(Throttled) as raised:
        client(shopify, waits=waits).execute(QUERY)

    assert raised.value.retry_after == pytest.approx(1.72)
    assert sum(waits) <= 2.0


def test_transient_5xx_are_retried_with_jitter(shopify):
    waits = []
    shopify.failures[SHOP] = 2
    assert client(shopify, waits=waits).execute(QUERY)["products"]
    assert len(waits) == 2 and all(0 <= w <= 1.0 for w in waits)

    shopify.failures[SHOP] = 3
    with pytest.raises(Unavailable):
        client(shopify, waits=[]).execute(QUERY)


def test_a_refused_token_says_so(shopify):
    with pytest.raises(Unauthorized):
        client(shopify, token="shpat_revoked").execute(QUERY)


def test_throttling_one_shop_leaves_another_untouched(shopify):
    other = "other-shop.myshopify.com"
    shopify.throttle[SHOP] = 5
    with pytest.raises(Throttled):
        client(shopify).execute(QUERY)
    answer = AdminClient(shop=other, access_token=shopify.issue_token(other),
                         sleep=lambda s: None).execute(QUERY)
    assert answer["products"]["nodes"]


def test_an_expiring_token_is_refreshed_before_it_lapses_and_the_rotation_is_kept(installed_shop, shopify):
    refresh = "shprt_first"
    shopify.refresh_tokens[refresh] = SHOP
    with db.session() as session:
        store = session.get(Store, installed_shop.id)
        store.refresh_token = refresh
        store.access_token_expires_at = clock.now() + timedelta(minutes=2)

    answer = sync.client(access.fresh(installed_shop.id)).execute(QUERY)

    assert answer["products"]["nodes"]
    with db.session() as session:
        store = session.get(Store, installed_shop.id)
        assert store.refresh_token not in (None, refresh)  # rotated, and the new one kept
        assert store.access_token_expires_at > clock.now() + timedelta(minutes=50)
        assert refresh not in shopify.refresh_tokens
