"""What an email suggests after an order: products bought together with it in this store, then
best sellers, never bought, sold out, deleted or another store's. Products and orders arrive as
Shopify's published samples through signed webhooks; the picks are read from real PostgreSQL
the way a send reads them, and the post-purchase emails are sent through real SMTP."""
from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlsplit

from sqlalchemy import select

from app.core.db import db
from app.demo import payloads
from app.demo.payloads import Item, Person
from app.mail import links, product_picks
from app.models import Customer, Order
from tests.flow_helpers import DAY, HOUR, SAMPLE_TIME, at, consent_update, enable, move_to
from tests.helpers import SHOP
from tests.ui_helpers import RIVAL, connect_rival

BUYER = Person(9001, "Ana", "Reyes", "ana@example.com")
OTHERS = [Person(9100 + n, "Shopper", f"No. {n}", f"shopper{n}@example.com") for n in range(6)]


def item(number: int, title: str) -> Item:
    return Item(number, title.lower().replace(" ", "-"), title, Decimal("24.00"),
                f"https://cdn.shopify.com/s/files/{number}.jpg")


MUG, TEAPOT, KETTLE, NEWEST, TRAY, SPOON = (
    item(501, "Stoneware Mug"), item(502, "Cast Iron Teapot"), item(503, "Gooseneck Kettle"),
    item(504, "Linen Apron"), item(505, "Walnut Tray"), item(506, "Honey Spoon"))


class Shop:
    """Deliveries to one Shopify store, numbering its orders."""

    def __init__(self, webhooks, run_jobs, domain=SHOP, secret="shpss_test_webhook_secret"):
        self.webhooks, self.run_jobs, self.domain, self.secret = webhooks, run_jobs, domain, secret
        self.next_order = 1000

    def deliver(self, topic: str, payload: dict) -> None:
        response = self.webhooks.deliver(topic, payload, shop=self.domain, secret=self.secret)
        assert response.status_code == 200
        self.run_jobs()

    def stock(self, *items: Item, sold_out: bool = False) -> None:
        """The products, one a minute apart: the last is the newest."""
        for minute, product in enumerate(items):
            payload = payloads.product(product, SAMPLE_TIME)
            if sold_out:
                payload["variants"][0].update(inventory_management="shopify", inventory_quantity=0)
            with at(SAMPLE_TIME + minute * HOUR / 60):
                self.deliver("products/update", payload)

    def order(self, person: Person, *items: Item, placed=SAMPLE_TIME) -> int:
        """`person` buys one of each item; the order's platform id."""
        self.next_order += 1
        with at(placed):
            self.deliver("orders/create", payloads.order(
                self.next_order, self.next_order, person, [(i, 1) for i in items], placed))
        return self.next_order


def picks(store_id: int, person: Person, order_id: int | None = None, when=SAMPLE_TIME):
    """The titles a send at `when` would suggest to `person` (after their order `order_id`)."""
    with db.session() as session, at(when):
        customer = session.execute(select(Customer).where(
            Customer.store_id == store_id, Customer.email == person.email)).scalar_one()
        order = session.execute(select(Order).where(
            Order.store_id == store_id, Order.platform_id == order_id)).scalar_one_or_none()
        return [p.title for p in product_picks.recommendations(session, store_id, customer, order)]


def test_the_product_bought_together_outranks_a_newer_one(shop, webhooks, run_jobs):
    store = Shop(webhooks, run_jobs)
    store.stock(MUG, TEAPOT, NEWEST)
    for shopper in OTHERS[:2]:
        store.order(shopper, MUG, TEAPOT)
    mine = store.order(BUYER, MUG)

    assert picks(shop.id, BUYER, mine) == [TEAPOT.title, NEWEST.title]


def test_more_shared_orders_rank_higher_and_what_was_bought_never_shows(shop, webhooks, run_jobs):
    store = Shop(webhooks, run_jobs)
    store.stock(MUG, TEAPOT, KETTLE, TRAY)
    store.order(OTHERS[0], MUG, KETTLE)
    for shopper in OTHERS[1:4]:
        store.order(shopper, MUG, TEAPOT, TRAY)
    store.order(BUYER, TRAY, placed=SAMPLE_TIME - 40 * DAY)  # bought long ago: never again
    mine = store.order(BUYER, MUG)

    assert picks(shop.id, BUYER, mine) == [TEAPOT.title, KETTLE.title]


def test_sold_out_and_deleted_products_never_show(shop, webhooks, run_jobs):
    store = Shop(webhooks, run_jobs)
    store.stock(MUG, SPOON)
    store.stock(TEAPOT, sold_out=True)
    store.stock(KETTLE)
    for shopper in OTHERS[:3]:
        store.order(shopper, MUG, TEAPOT, KETTLE)
    store.deliver("products/delete", {"id": KETTLE.id})
    mine = store.order(BUYER, MUG)

    assert picks(shop.id, BUYER, mine) == [SPOON.title]


def test_another_stores_co_purchases_never_count(shop, webhooks, run_jobs):
    store = Shop(webhooks, run_jobs)
    rival = connect_rival()
    theirs = Shop(webhooks, run_jobs, RIVAL, "shpss_rival")
    # The same catalogue in both stores; only the rival sells mugs with teapots and trays.
    store.stock(MUG, TEAPOT, KETTLE, TRAY)
    theirs.stock(MUG, TEAPOT, KETTLE, TRAY, SPOON)
    for shopper in OTHERS:
        theirs.order(shopper, MUG, TEAPOT, TRAY)
    store.order(OTHERS[0], MUG, KETTLE)
    mine = store.order(BUYER, MUG)
    rivals = theirs.order(BUYER, MUG)

    # Here the kettle, then the newest; never the spoon, which only the rival sells.
    assert picks(shop.id, BUYER, mine) == [KETTLE.title, TRAY.title, TEAPOT.title]
    assert picks(rival.id, BUYER, rivals) == [TRAY.title, TEAPOT.title, SPOON.title]


def test_without_co_purchases_the_last_30_days_best_sellers_fill_in(shop, webhooks, run_jobs):
    store = Shop(webhooks, run_jobs)
    store.stock(MUG, TEAPOT, KETTLE, TRAY, NEWEST)
    for shopper in OTHERS[:3]:
        store.order(shopper, KETTLE, placed=SAMPLE_TIME - 5 * DAY)
    store.order(OTHERS[3], TEAPOT, placed=SAMPLE_TIME - 20 * DAY)
    for shopper in OTHERS:  # the most orders, but too long ago to count
        store.order(shopper, TRAY, placed=SAMPLE_TIME - 45 * DAY)
    mine = store.order(BUYER, MUG)

    assert picks(shop.id, BUYER, mine) == [KETTLE.title, TEAPOT.title, NEWEST.title]


def product_links(mail) -> tuple[set[str], str]:
    """Where the HTML's tracked links lead, and the text part."""
    html = mail.get_body(("html",)).get_content()
    targets = {links.read_token(urlsplit(h).path.split("/")[-1], links.CLICK).url
               for h in re.findall(r'href="([^"]+/c/[^"]+)"', html)}
    return targets, mail.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_the_thank_you_and_the_review_request_show_and_link_the_picks(
        shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "post_purchase")
    store = Shop(webhooks, run_jobs)
    store.stock(MUG, TEAPOT, NEWEST)
    for shopper in OTHERS[:2]:
        store.order(shopper, MUG, TEAPOT, placed=SAMPLE_TIME - 3 * DAY)
    with at(SAMPLE_TIME):
        store.deliver("customers_email_marketing_consent/update",
                      consent_update(BUYER.id, BUYER.email))
    store.order(BUYER, MUG)
    teapot_page = f"https://{SHOP}/products/{TEAPOT.handle}"

    # Never marked delivered: the tips go when their 14 days run out, the review 30 days on.
    for due in (HOUR, 14 * DAY + HOUR, 44 * DAY + HOUR):
        move_to(SAMPLE_TIME + due, run_jobs)

    mails = smtp_sink.to(BUYER.email)
    thanks, review = mails[0], mails[-1]
    assert "How did we do?" in review.get_body(("html",)).get_content()
    for mail in (thanks, review):
        targets, text = product_links(mail)
        assert teapot_page in targets and f"https://{SHOP}/products/{NEWEST.handle}" in targets
        suggested = text.split("YOU MIGHT ALSO LIKE\n", 1)[1]
        assert f"- {TEAPOT.title}, $24.00\n  {teapot_page}\n" in suggested
        assert MUG.title not in suggested.split("\n\n--")[0]  # theirs is in the summary only
    assert "Your code:" in review.get_body(("plain",)).get_content()
