"""Finding stores and their rows (app/core/stores.py): by domain, id or URL as the CLI takes them,
and never another store's row."""
from __future__ import annotations

import pytest

from app.core import clock, stores
from app.core.db import db
from app.models import Product, Store


def test_a_host_is_the_lower_case_network_location_of_what_was_typed():
    assert [stores.host(a) for a in (" https://Shop.Example.com/path ", "Shop.Example.com",
                                     "shop.example.com:8443")] == [
        "shop.example.com", "shop.example.com", "shop.example.com:8443"]
    assert stores.own_hosts(Store(domain="Shop.Example.com")) == {"shop.example.com",
                                                                  "www.shop.example.com"}


def test_a_stores_home_is_its_shopify_domain_over_https_or_its_woocommerce_url():
    assert stores.home_url(Store(domain="fern.myshopify.com")) == "https://fern.myshopify.com"
    assert stores.home_url(Store(domain="https://fern.example/shop")) == "https://fern.example/shop"


def test_connecting_again_updates_the_store_and_reinstalls_it(app):
    with db.session() as session:
        store, created = stores.connect(session, "shopify", "fern.myshopify.com",
                                        access_token="shpat_1", webhook_secret="s1")
        store.uninstalled_at = clock.now()
    with db.session() as session:
        again, created_again = stores.connect(session, "shopify", "fern.myshopify.com",
                                              access_token="shpat_2", webhook_secret="s2",
                                              api_key="key")
        assert (created, created_again, again.id) == (True, False, store.id)
        assert (again.platform, again.domain, again.access_token, again.webhook_secret,
                again.api_key, again.uninstalled_at) == (
            "shopify", "fern.myshopify.com", "shpat_2", "s2", "key", None)
        assert again.installed_at is not None and again.installed


def test_a_domain_names_a_store_of_its_own_platform_only(app):
    with db.session() as session:
        store, _ = stores.connect(session, "woocommerce", "https://fern.example",
                                  access_token="ck", webhook_secret=None)
        stores.connect(session, "woocommerce", "https://other.example", access_token="ck",
                       webhook_secret=None)
        assert stores.find_by_domain(session, "woocommerce", "https://fern.example") is store
        assert stores.find_by_domain(session, "shopify", "https://fern.example") is None


def test_the_cli_finds_a_store_by_id_or_by_url_as_typed(app):
    with db.session() as session:
        store, _ = stores.connect(session, "woocommerce", "https://fern.example",
                                  access_token="ck", webhook_secret=None)
        stores.connect(session, "shopify", "other.myshopify.com", access_token="t",
                       webhook_secret=None)
        assert [stores.resolve(session, r).id for r in (
            str(store.id), " https://Fern.example/ ", "https://fern.example")] == [store.id] * 3
        with pytest.raises(stores.StoreNotFound, match="no store 'https://nowhere.example'"):
            stores.resolve(session, "https://nowhere.example")
        with pytest.raises(stores.StoreNotFound):
            stores.resolve(session, "999")


def test_a_row_is_found_only_for_the_store_it_belongs_to(app):
    with db.session() as session:
        mine, _ = stores.connect(session, "shopify", "fern.myshopify.com", access_token="t",
                                 webhook_secret=None)
        theirs, _ = stores.connect(session, "shopify", "other.myshopify.com", access_token="t",
                                   webhook_secret=None)
        lamp, shade = (Product(store_id=mine.id, platform_id=n, title=t, in_stock=True,
                               source_updated_at=clock.now()) for n, t in ((1, "Lamp"), (2, "Shade")))
        session.add_all([lamp, shade])
        session.flush()
        assert stores.get_owned(session, Product, mine.id, lamp.id) is lamp
        assert stores.get_owned(session, Product, theirs.id, lamp.id) is None
