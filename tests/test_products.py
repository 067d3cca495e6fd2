"""products/* deliveries keep the catalogue emails show: price, image, stock, and deletions."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.core.db import db
from app.models import Product
from tests.helpers import published


def product(**fields) -> dict:
    payload = published("shopify/products_update.json")
    payload.update(fields)
    return payload


def stored() -> Product:
    with db.session() as session:
        return session.execute(select(Product)).scalar_one()


def test_a_published_product_lands_with_what_emails_show(shop, webhooks, run_jobs, emitted):
    payload = published("shopify/products_update.json")
    webhooks.deliver("products/update", payload)
    webhooks.deliver("products/update", payload)  # a repeat changes nothing
    run_jobs()

    row = stored()
    assert (row.platform_id, row.title, row.handle, row.status) == (
        payload["id"], "Example T-Shirt", "example-t-shirt", "active")
    assert row.price == Decimal("19.99")
    assert row.in_stock is True  # 75 and 50 on hand
    assert row.image_url is None  # the sample has no image
    assert (row.product_type, row.vendor) == ("Shirts", "Acme")
    assert [(e.name, e.subject, e.subject_id) for e in emitted] == [
        ("product_updated", "product", row.id)]


def test_stock_is_any_variant_sellable(shop, webhooks, run_jobs):
    sold_out = product()
    for variant in sold_out["variants"]:
        variant["inventory_quantity"] = 0
    webhooks.deliver("products/create", sold_out)
    run_jobs()
    assert stored().in_stock is False

    oversell = product(updated_at="2022-01-02T00:00:00Z", variants=sold_out["variants"])
    oversell["variants"][1]["inventory_policy"] = "continue"
    webhooks.deliver("products/update", oversell)
    run_jobs()
    assert stored().in_stock is True

    untracked = product(updated_at="2022-01-03T00:00:00Z", variants=sold_out["variants"])
    untracked["variants"][1].update(inventory_policy="deny", inventory_management=None)
    webhooks.deliver("products/update", untracked)
    run_jobs()
    assert stored().in_stock is True


def test_the_image_is_the_featured_one_or_else_the_first(shop, webhooks, run_jobs):
    first = {"id": 1, "src": "https://cdn.shopify.com/s/files/first.jpg"}
    webhooks.deliver("products/update", product(images=[first, {"id": 2, "src": "x"}]))
    run_jobs()
    assert stored().image_url == first["src"]

    featured = {"id": 3, "src": "https://cdn.shopify.com/s/files/featured.jpg"}
    webhooks.deliver("products/update", product(updated_at="2022-01-02T00:00:00Z", image=featured,
                                                images=[first]))
    run_jobs()
    assert stored().image_url == featured["src"]


def test_a_deleted_product_is_kept_out_of_stock_and_stays_deleted(shop, webhooks, run_jobs,
                                                                   emitted):
    webhooks.deliver("products/create", published("shopify/products_update.json"))
    run_jobs()
    emitted.clear()

    webhooks.deliver("products/delete", published("shopify/products_delete.json"))
    webhooks.deliver("products/delete", published("shopify/products_delete.json"))
    # An update Shopify sent before the deletion, arriving late, does not bring it back.
    webhooks.deliver("products/update", product(updated_at="2022-06-01T00:00:00Z"))
    run_jobs()

    row = stored()
    assert (row.status, row.in_stock, row.title) == ("deleted", False, "Example T-Shirt")
    assert [e.name for e in emitted] == ["product_updated"]


def test_deleting_a_product_we_never_stored_does_nothing(shop, webhooks, run_jobs, emitted):
    webhooks.deliver("products/delete", published("shopify/products_delete.json"))
    run_jobs()

    with db.session() as session:
        assert session.execute(select(Product)).first() is None
    assert emitted == []


def test_deleting_a_product_changes_that_product_of_that_store_only(shop, shopify, webhooks,
                                                                      run_jobs):
    """Another product of the store, and the same product id in another store, stay for sale."""
    from app.core import stores

    other_shop = "other-shop.myshopify.com"
    with db.session() as session:
        other, _ = stores.connect(session, "shopify", other_shop,
                                  access_token=shopify.issue_token(other_shop),
                                  webhook_secret="other-secret")
    webhooks.deliver("products/create", product())
    webhooks.deliver("products/create", product(id=1000000000001, title="Another Shirt"))
    webhooks.deliver("products/create", published("shopify/products_update.json", shop=other_shop),
                     shop=other_shop, secret="other-secret")
    run_jobs()

    webhooks.deliver("products/delete", published("shopify/products_delete.json"))
    run_jobs()

    with db.session() as session:
        rows = session.execute(select(Product.store_id, Product.platform_id, Product.status,
                                      Product.in_stock)).all()
    deleted = published("shopify/products_delete.json")["id"]
    assert sorted(rows) == sorted([(shop.id, deleted, "deleted", False),
                                   (shop.id, 1000000000001, "active", True),
                                   (other.id, deleted, "active", True)])
