"""Every kind of email Storeflow sends, as an SMTP server receives it: SpamAssassin (offline)
scores each under 2.0, no line of any part is longer than 78 characters, and every product link
leads to that product's own page, in the HTML and in the text."""
from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes, policy
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, text

from app.core import brand, clock
from app.core.db import db
from app.demo import payloads, shop as demo_shop
from app.mail import links, mime, outbox
from app.models import Checkout, Order, Product, Store
from app.web.ui import previews as preview, staff
from flows import choices
from tests.helpers import SHOP, published
from tests.mail_helpers import with_postal_address

SPAMASSASSIN = shutil.which("spamassassin")
MAX_SCORE = 2.0
# RFC 5322 2.1.1: a line SHOULD be at most 78 characters (RFC 2045 wants 76 for QP bodies).
MAX_LINE = 78
SHOPIFY_PAGE = f"https://{SHOP}/products/example-t-shirt"
WOO_PAGE = "https://example.com/product/premium-quality-19/"
# A whole brand kit (issue 18), so every score covers its font, colours and footer links.
BRAND_KIT = {"brand_color": "#7c2d12", "text_color": "#1e293b", "background_color": "#fef3c7",
             "font_stack": "georgia", "button_style": "pill",
             **{name: f"https://www.{domains[0]}/juniperandoak"
                for name, (_, domains) in brand.SOCIAL_SITES.items()}}


def deliver_all(store_id: int, queued: dict[str, int], smtp_sink) -> dict[str, bytes]:
    """Deliver the queued messages; each one's bytes as the SMTP server took them."""
    raw = {}
    for name, message_id in queued.items():
        assert outbox.deliver(message_id) == "sent", name
        raw[name] = smtp_sink.raw[-1]
    return raw


def every_email(store_id: int, smtp_sink) -> dict[str, bytes]:
    """One test send of every step of every prebuilt flow (the double opt-in mails among them),
    the built flows' email (issue 17's example thanks) and a staff sign-in mail, as received;
    the store has a whole brand kit."""
    with_postal_address(store_id)
    with db.session() as session:
        store = session.get(Store, store_id)
        store.settings = {**store.settings, **BRAND_KIT}
    queued = {}
    with db.session() as session:
        for step in preview.steps():
            settings = choices.effective(session, store_id, step.flow)[1]
            context, _ = preview.message_context(session, store_id, step, None, settings)
            queued[step.template] = outbox.queue_message(
                session, store_id=store_id, email="ana@example.com", template=step.template,
                marketing=step.marketing, context=context, flow=step.flow.name)
        queued["built/email"] = outbox.queue_message(
            session, store_id=store_id, email="ana@example.com", template="built/email",
            marketing=True, flow="big_order_thanks", context={
                "sample": True, "subject": "Thank you for your big order, {{ first_name }}",
                "message": "We are packing it now.", "button_text": "Shop again",
                "button_url": "{{ shop_url }}"})
    raw = deliver_all(store_id, queued, smtp_sink)
    with db.session() as session:
        member = staff.invite(session, store_id, "lee@example.com", "viewer", invited_by="test")
    staff.send_sign_in_links([member.id])
    raw["staff sign-in"] = smtp_sink.raw[-1]
    return raw


def spam_report(raw: bytes) -> tuple[float, str]:
    """SpamAssassin's score for a message, offline (no network tests), and its report."""
    done = subprocess.run([SPAMASSASSIN, "-L", "-t"], input=raw, capture_output=True,
                          timeout=120, check=False)
    headers = message_from_bytes(done.stdout, policy=policy.default)
    status = str(headers["X-Spam-Status"])
    score = float(re.search(r"score=(-?[\d.]+)", status).group(1))
    return score, done.stdout.decode(errors="replace").split("Content analysis details:")[-1]


def test_every_email_scores_under_two_with_spamassassin(shop, smtp_sink):
    if SPAMASSASSIN is None:
        pytest.skip("no spamassassin: install Debian's spamassassin (.ci/run does)")
    raw = every_email(shop.id, smtp_sink)
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = dict(zip(raw, pool.map(spam_report, raw.values())))
    for name, (score, _) in sorted(reports.items()):
        print(f"{name}: {score}")
    too_high = {name: report for name, (score, report) in reports.items() if score >= MAX_SCORE}
    assert not too_high, "\n\n".join(f"{name}:{report}" for name, report in too_high.items())


def long_lines(raw: bytes) -> list[bytes]:
    """Lines over 78 characters, but for the headers kept whole on purpose (app.mail.mime)."""
    return [line for line in raw.split(b"\r\n") if len(line) > MAX_LINE
            and not line.decode().lower().startswith(mime.UNFOLDED)]


def test_no_line_of_any_email_is_longer_than_78(shop, smtp_sink):
    raw = every_email(shop.id, smtp_sink)
    assert len(raw) == len(preview.steps()) + 2
    for name, message in raw.items():
        assert b"\r\n" in message and not long_lines(message), (name, long_lines(message)[:3])


class Anchors(HTMLParser):
    """Every link of an HTML part: [href, the text inside, the alt of a picture inside]."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[list] = []
        self._open: list | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._open = [dict(attrs).get("href", ""), "", ""]
            self.found.append(self._open)
        elif tag == "img" and self._open is not None:
            self._open[2] = dict(attrs).get("alt", "")

    def handle_data(self, data):
        if self._open is not None:
            self._open[1] += data

    def handle_endtag(self, tag):
        if tag == "a":
            self._open = None


def target(href: str) -> str:
    """Where a link leads once its click tracking is unwrapped."""
    path = urlsplit(href).path
    if path.startswith("/c/"):
        link = links.read_token(path[len("/c/"):], links.CLICK)
        assert link is not None, href
        return link.url
    return href


def product_links(raw: bytes, titles: set[str]) -> tuple[list[tuple[str, str]], str]:
    """The HTML's links on a product, as (its title, where the link leads): links on a title,
    on a picture (titled by its alt) or "View item" (titled by the card it closes); and the
    text part."""
    mail = message_from_bytes(raw, policy=policy.default)
    parser = Anchors()
    parser.feed(mail.get_body(("html",)).get_content())
    found, title = [], None
    for href, text, alt in parser.found:
        name = alt or text.strip()
        if name in titles:
            title = name
        elif "View item" not in text:
            continue
        found.append((title, target(href)))
    return found, mail.get_body(("plain",)).get_content().replace("\r\n", "\n")


def queue(session, store_id: int, template: str, context: dict, customer_id=None) -> int:
    return outbox.queue_message(session, store_id=store_id, email="shopper@example.com",
                                template=template, marketing=False, context=context,
                                customer_id=customer_id, flow=template.split("/")[0])


def test_shopify_products_link_to_their_own_page_and_show(shop, webhooks, run_jobs, smtp_sink):
    """The demo's products (Shopify's published samples carrying its pictures) in a checkout,
    and Shopify's published product and order."""
    items = demo_shop.catalogue("https://storeflow.example")
    mug, candle = items["stoneware-mug"], items["beeswax-candle"]
    person = demo_shop.people(clock.now())["ava"]
    for item in (mug, candle):
        webhooks.deliver("products/update", payloads.product(item, clock.now()))
    webhooks.deliver("products/update", published("shopify/products_update.json"))
    webhooks.deliver("checkouts/create", payloads.checkout(
        "deliverability", person, [(mug, 1), (candle, 2)], clock.now(),
        f"https://{SHOP}/checkouts/deliverability/recover"))
    webhooks.deliver("orders/create", published("shopify/orders_create.json"))
    run_jobs()
    with db.session() as session:
        checkout = session.execute(select(Checkout)).scalar_one()
        order = session.execute(select(Order)).scalar_one()
        queued = {
            "checkout": queue(session, shop.id, "abandoned_checkout/email_1",
                              {"checkout_id": checkout.id}),
            "order": queue(session, shop.id, "order_updates/confirmation", {"order_id": order.id}),
            "viewed": queue(session, shop.id, "browse_abandonment/email_1",
                            {"product_ids": [mug.id, 788032119674292922]}),
        }
    raw = deliver_all(shop.id, queued, smtp_sink)
    pages = {"Stoneware Mug": f"https://{SHOP}/products/stoneware-mug",
             "Beeswax Candle": f"https://{SHOP}/products/beeswax-candle",
             "Example T-Shirt": SHOPIFY_PAGE, "Aviator sunglasses": SHOPIFY_PAGE,
             "Mid-century lounger": SHOPIFY_PAGE, "Coffee table": SHOPIFY_PAGE}
    shown = {"checkout": {"Stoneware Mug", "Beeswax Candle"},
             "order": {"Aviator sunglasses", "Mid-century lounger", "Coffee table"},
             "viewed": {"Stoneware Mug", "Example T-Shirt"}}
    for name, message in raw.items():
        assert not long_lines(message), name
        found, text = product_links(message, set(pages))
        assert {title for title, _ in found} == shown[name], (name, found)
        assert all(url == pages[title] for title, url in found), (name, found)
        if name == "viewed":
            for title in shown[name]:
                assert f"\n  {pages[title]}\n" in text
    html = message_from_bytes(raw["checkout"], policy=policy.default).get_body(("html",))
    for item in (mug, candle):
        picture = re.search(rf'<img\b[^>]*src="{re.escape(item.image_url)}"[^>]*>',
                            html.get_content()).group(0)
        assert f'alt="{item.title}"' in picture and 'width="64" height="64"' in picture


def test_woocommerce_product_links_to_its_permalink_with_its_picture(woo_store, woo_webhooks,
                                                                     run_jobs, smtp_sink):
    woo_webhooks.deliver(woo_store.id, "product.updated", published("woocommerce/product.json"))
    run_jobs()
    with db.session() as session:
        message_id = queue(session, woo_store.id, "browse_abandonment/email_1",
                           {"product_ids": [794]})
    raw = deliver_all(woo_store.id, {"viewed": message_id}, smtp_sink)["viewed"]
    found, text = product_links(raw, {"Premium Quality"})
    assert found and set(found) == {("Premium Quality", WOO_PAGE)}
    assert f"\n  {WOO_PAGE}\n" in text
    html = message_from_bytes(raw, policy=policy.default).get_body(("html",)).get_content()
    picture = re.search(r'<img\b[^>]*src="https://example.com/wp-content/uploads/2017/03/'
                        r'T_2_front-4.jpg"[^>]*>', html).group(0)
    assert 'width="' in picture and 'height="' in picture and 'alt="Premium Quality"' in picture


def test_stored_products_get_their_page_from_the_migration(shop, woo_store):
    """Rows stored before products carried a page: the 0022 migration's SQL fills them."""
    migration = Path(__file__).parents[1] / "migrations" / "versions" / "0022_product_pages.py"
    statements = re.findall(r'op\.execute\("""(.*?)"""\)', migration.read_text(), re.DOTALL)
    with db.session() as session:
        for store, handle in ((shop, "a-shirt"), (woo_store, "a-mug")):
            session.add(Product(store_id=store.id, platform_id=7, title="A thing", handle=handle))
        session.flush()
        for statement in statements:
            session.execute(text(statement))
        pages = dict(session.execute(select(Product.store_id, Product.url)).all())
        woo_url = session.get(Store, woo_store.id).domain.rstrip("/")
    assert pages == {shop.id: f"https://{SHOP}/products/a-shirt",
                     woo_store.id: f"{woo_url}/?post_type=product&p=7"}
