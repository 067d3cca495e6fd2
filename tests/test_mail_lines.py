"""A cart's or an order's lines as an email shows them (app.mail.product_picks.lines): read at
send time as plain rows, each with its own store's catalogue page, in the order they came.
Real PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from app.core.db import db
from app.mail import compose, product_picks
from app.mail.design import blocks
from app.models import Checkout, CheckoutLine, Message, Order, OrderLine, Product
from app.models.store import Store

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
MUG, BLANKET, UNLISTED = 501, 502, 503


def catalogue(store_id: int, host: str) -> None:
    with db.session() as session:
        for platform_id in (MUG, BLANKET):
            session.add(Product(store_id=store_id, platform_id=platform_id, title="x",
                                url=f"https://{host}/products/{platform_id}",
                                image_url=f"https://{host}/{platform_id}.jpg"))


def line_items(model, **owner) -> list:
    return [model(**owner, product_id=BLANKET, title="Linen Throw Blanket",
                  variant_title="Sage / Large", quantity=1, price=Decimal("89.00")),
            model(**owner, product_id=MUG, title="Stoneware Mug", variant_title=None,
                  quantity=2, price=Decimal("24.00")),
            model(**owner, product_id=UNLISTED, title="Gift wrap", variant_title=None,
                  quantity=1, price=Decimal("3.00"))]


def cart(session, store_id: int, token: str) -> Checkout:
    """A checkout with the three lines of `line_items`."""
    checkout = Checkout(store_id=store_id, token=token, currency="USD",
                        total_price=Decimal("140.00"), source_updated_at=NOW)
    session.add(checkout)
    session.flush()
    session.add_all(line_items(CheckoutLine, store_id=store_id, checkout_id=checkout.id))
    session.flush()
    return checkout


def test_a_cart_s_lines_come_with_their_own_store_s_pages_in_order(shop, woo_store):
    # The other store lists products under the same platform ids: never shown for this cart.
    catalogue(woo_store.id, "other.example")
    catalogue(shop.id, shop.domain)
    with db.session() as session:
        read = product_picks.lines(session, cart(session, shop.id, "t-1"))

    assert [(line.title, line.variant_title, line.quantity, line.price) for line in read] == [
        ("Linen Throw Blanket", "Sage / Large", 1, Decimal("89.00")),
        ("Stoneware Mug", None, 2, Decimal("24.00")), ("Gift wrap", None, 1, Decimal("3.00"))]
    assert [line.product for line in read] == [
        (f"https://{shop.domain}/products/{BLANKET}", f"https://{shop.domain}/{BLANKET}.jpg"),
        (f"https://{shop.domain}/products/{MUG}", f"https://{shop.domain}/{MUG}.jpg"), None]


def test_an_order_s_lines_are_read_with_their_pages(shop):
    catalogue(shop.id, shop.domain)
    with db.session() as session:
        order = Order(store_id=shop.id, platform_id=1, currency="USD",
                      total_price=Decimal("89.00"), placed_at=NOW, source_updated_at=NOW)
        session.add(order)
        session.flush()
        session.add(line_items(OrderLine, store_id=shop.id, order_id=order.id)[0])
        session.flush()
        read = product_picks.lines(session, order)

    assert [(line.title, line.product) for line in read] == [
        ("Linen Throw Blanket",
         (f"https://{shop.domain}/products/{BLANKET}", f"https://{shop.domain}/{BLANKET}.jpg"))]


def test_an_email_reads_the_lines_only_when_its_design_can_show_them(shop):
    with db.session() as session:
        checkout = cart(session, shop.id, "t-2")
        message = Message(store_id=shop.id, email="ana@example.com", template="t",
                          marketing=False, context={"checkout_id": checkout.id})
        store = session.get(Store, shop.id)
        summary = {"format": 1, "blocks": [{"type": "order_summary"}]}
        text_only = {"format": 1, "blocks": [{"type": "text", "text": "Hello"}]}

        shown = compose.context_for(session, store, message, summary)
        not_shown = compose.context_for(session, store, message, text_only)

    assert blocks.shows_lines(summary) and not blocks.shows_lines(text_only)
    assert [line.title for line in shown["lines"]["checkout"]] == [
        "Linen Throw Blanket", "Stoneware Mug", "Gift wrap"]
    assert "lines" not in not_shown
