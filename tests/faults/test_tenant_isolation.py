"""Two stores on one Storeflow: nothing signed, keyed or linked for one store reaches the other."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.core import stores
from app.core.db import db
from app.mail import links
from app.models import Message, Suppression, WebhookEvent
from tests.collect_helpers import pixel, post
from tests.helpers import SHOP_SECRET, published
from tests.mail_helpers import checkout_message

OTHER_SHOP = "other-store.myshopify.com"
OTHER_SECRET = "shpss_the_other_stores_secret"


@pytest.fixture
def other(app):
    """A second store, connected like the first."""
    with db.session() as session:
        store, _ = stores.connect(session, "shopify", OTHER_SHOP, access_token="shpat_other",
                                  webhook_secret=OTHER_SECRET)
    return store


def count(model, store_id: int) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(model).where(
            model.store_id == store_id)).scalar_one()


def test_a_webhook_signed_with_one_stores_secret_is_refused_for_the_other(shop, other, webhooks):
    payload = published("shopify/orders_create.json")

    as_other = webhooks.deliver("orders/create", payload, shop=OTHER_SHOP, secret=SHOP_SECRET)

    assert as_other.status_code == 401
    assert count(WebhookEvent, other.id) == 0 and count(WebhookEvent, shop.id) == 0


def test_one_stores_collect_key_does_not_open_the_other(client, shop, other):
    response = post(client, other, [pixel("product_viewed")], key=shop.collect_key)

    assert response.status_code == 401
    assert count(WebhookEvent, other.id) == 0


def test_a_link_names_its_store_and_a_message_of_another_is_not_found(
        client, shop, other, webhooks, run_jobs):
    message_id = checkout_message(shop, webhooks, run_jobs)
    with db.session() as session:
        message = session.get(Message, message_id)
    # A link signed by us but naming the other store with this store's message: 404.
    crossed = links.make_token(links.UNSUBSCRIBE, other.id, message.id)

    assert client.post(f"/u/{crossed}").status_code == 404
    assert count(Suppression, shop.id) == 0 and count(Suppression, other.id) == 0
    # The right link works, for its own store only.
    own = urlsplit(links.unsubscribe_url(message)).path
    assert client.post(own).status_code == 200
    assert (count(Suppression, shop.id), count(Suppression, other.id)) == (1, 0)


def test_the_cli_reads_only_the_named_store(storeflow, shop, other, webhooks, run_jobs):
    webhooks.deliver("orders/create", published("shopify/orders_create.json"))
    run_jobs()

    mine = storeflow("customer", "export", "--store", shop.domain, "--email", "jon@example.com")
    theirs = storeflow("customer", "export", "--store", OTHER_SHOP, "--email", "jon@example.com")

    assert '"orders": []' not in mine.output
    assert '"orders": []' in theirs.output and '"customers": []' in theirs.output
