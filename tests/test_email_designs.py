"""Email designs (issue 18): a design of every block type renders through MJML into an email a
shopper can read in HTML and text, its product cards lead (tracked) to each product's page,
SpamAssassin passes it, and a design that is wrong or hostile is refused naming the JSON pointer
or escaped. Designs are a store's own: another store can neither read nor change them."""
from __future__ import annotations

import json
import re
from email import message_from_bytes, policy

import pytest
from jinja2 import UndefinedError
from sqlalchemy import select

from app.core.db import db
from app.mail import outbox
from app.mail.design import document, store as designs
from app.mail.render import TEMPLATES, default_design, render
from app.models import Product
from tests.test_deliverability import (MAX_SCORE, SPAMASSASSIN, deliver_all, long_lines,
                                       product_links, spam_report)
from tests.test_email_templates import CODE, PRODUCTS, RECOVERY_URL, TRACKING, checkout, full, \
    order, shipment
from tests.test_flow_built import EXAMPLE

# The first six; the rest of the ported emails are found by their design.json. Each is
# scored by SpamAssassin and measured line by line in tests/test_deliverability.py.
FIRST = ["abandoned_checkout/email_1", "abandoned_checkout/email_2", "abandoned_checkout/email_3",
         "abandoned_cart/email_1", "browse_abandonment/email_1", "post_purchase/thank_you"]
EVERY_BLOCK = {"format": 1, "preheader": "Everything, {{ first_name or 'friend' }}", "blocks": [
    {"type": "heading", "text": "Hello {{ first_name }}"},
    {"type": "text", "text": "A <script>alert(1)</script> line\nand its second line"},
    {"type": "image", "src": "https://cdn.fernhill.example/banner.jpg", "width": 536,
     "height": 200, "alt": "Autumn at Fernhill", "href": "https://fernhill.example/autumn"},
    {"type": "button", "text": "Finish checkout", "link": "cart"},
    {"type": "divider"},
    {"type": "spacer", "height": 24},
    {"type": "product_grid", "source": "recommendations", "title": "Picked for you"},
    {"type": "discount", "note": "Use it by Sunday."},
    {"type": "order_summary", "of": "order"},
    {"type": "shipment_tracking"},
    {"type": "footer", "reason": "You're receiving this because you shop at {{ store_name }}."}]}


def every_block_context():
    return full(checkout=checkout(), order=order(), shipment=shipment())


def test_a_design_with_every_block_type_renders_html_and_text():
    rendered = render("abandoned_checkout/email_1", every_block_context(), document.check(EVERY_BLOCK))
    html, text = rendered.html, rendered.text
    assert "<h1" in html and "Hello Ana" in html and "Everything, Ana" in html
    banner = re.search(r'<img\b[^>]*banner.jpg[^>]*>', html).group(0)
    assert all(part in banner for part in ('width="536"', 'height="200"', 'alt="Autumn at Fernhill"'))
    for product in PRODUCTS:
        assert f'href="{product.url}"' in html and f"{product.title}, $" in text
    assert CODE in html and f"Your code: {CODE}" in text and "Use it by Sunday." in text
    assert "Order #1001" in html and "Total: $137.00" in text and TRACKING in text
    assert f"Finish checkout:\n{RECOVERY_URL}" in text and "Unsubscribe: https://" in text
    assert "A <script>alert(1)</script> line\nand its second line" in text
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "prefers-color-scheme: dark" in html and "<!--[if mso" in html


def test_a_marketing_design_without_a_footer_still_gets_one():
    design = {"format": 1, "blocks": [{"type": "text", "text": "Just this."}]}
    rendered = render("abandoned_checkout/email_1", every_block_context(), document.check(design))
    assert "Unsubscribe" in rendered.html and "Unsubscribe: https://" in rendered.text


def test_every_ported_email_has_a_checked_default_design():
    ported = {str(path.parent.relative_to(TEMPLATES)) for path in TEMPLATES.glob("*/*/design.json")}
    assert set(FIRST) <= ported
    for template in ported:
        assert default_design(template) is not None, template


@pytest.mark.parametrize(("design", "pointer", "reason"), [
    ({"format": 1, "blocks": [{"type": "marquee"}]}, "/blocks/0/type", "is not one of"),
    ({"format": 1, "blocks": [{"type": "image", "src": "javascript:alert(1)", "width": 100,
                               "height": 100, "alt": ""}]}, "/blocks/0/src", "only https://"),
    ({"format": 1, "blocks": [{"type": "button", "text": "Go", "url": "http://evil.example"}]},
     "/blocks/0/url", "only https://"),
    ({"format": 1, "blocks": [{"type": "button", "text": "Go", "url": "https://"}]},
     "/blocks/0/url", "only https://"),
    ({"format": 1, "blocks": [{"type": "button", "text": "Go", "url": "https://x\" onclick=\"a"}]},
     "/blocks/0/url", "only https://"),
    ({"format": 1, "blocks": [{"type": "spacer", "height": 5000}]}, "/blocks/0/height", "maximum"),
    ({"format": 1, "blocks": [{"type": "image", "src": "https://a.example/x.png", "width": 100,
                               "alt": "x"}]}, "/blocks/0", "'height' is a required property"),
    ({"format": 1, "blocks": [{"type": "text", "text": "{{ 'x'.center(10**9) }}"}]},
     "/blocks/0/text", "placeholders"),
    ({"format": 1, "blocks": [{"type": "text", "text": "{{ ''.__class__ }}"}]}, "/blocks/0/text",
     "renders to nothing"),
    ({"format": 1, "blocks": [{"type": "text", "text": "hi", "onclick": "x"}]}, "/blocks/0",
     "unknown field"),
    ({"format": 2, "blocks": []}, "/blocks", "should be non-empty"),
])
def test_a_wrong_or_hostile_design_is_refused_naming_the_pointer(design, pointer, reason):
    with pytest.raises(document.DesignError) as refused:
        document.check(design)
    assert any(found == pointer and reason in why for found, why in refused.value.problems), \
        refused.value.problems


def test_a_huge_design_is_refused_before_it_is_read():
    huge = json.dumps({"format": 1, "blocks": [{"type": "text", "text": "x" * 4000}] * 2600})
    assert len(huge) > 10_000_000
    with pytest.raises(document.DesignError, match="at most"):
        document.parse(huge)


def test_a_saved_design_is_sent_and_its_product_cards_lead_to_their_pages(shop, smtp_sink):
    """Through the real outbox: the store's design replaces the default, each card's picture,
    title and "View item" lead (click-tracked) to the product's own page, every line fits, and
    SpamAssassin passes it."""
    pages = {}
    with db.session() as session:
        for number, product in enumerate(PRODUCTS, start=1):
            url = f"https://{shop.domain}/products/item-{number}"
            session.add(Product(store_id=shop.id, platform_id=number, title=product.title,
                                price=product.price, url=url, in_stock=True,
                                image_url=f"https://cdn.shopify.com/item-{number}.jpg"))
            pages[product.title] = url
        # The email is about viewed products: no order to summarise.
        design = {**EVERY_BLOCK, "blocks": [dict(block, source="browsed") if
                                            block["type"] == "product_grid" else block
                                            for block in EVERY_BLOCK["blocks"]
                                            if block["type"] != "order_summary"]}
        designs.save(session, shop.id, "browse_abandonment", "email_1", design, "test",
                     [("browse_abandonment", "email_1")])
        message_id = outbox.queue_message(
            session, store_id=shop.id, email="ana@example.com", marketing=False,
            template="browse_abandonment/email_1", flow="browse_abandonment", step="email_1",
            context={"product_ids": [1, 2, 3], "discount_code": CODE})
    raw = deliver_all(shop.id, {"designed": message_id}, smtp_sink)["designed"]
    assert not long_lines(raw)
    found, text = product_links(raw, set(pages))
    assert {title for title, _ in found} == set(pages)
    assert all(url == pages[title] for title, url in found) and len(found) == 3 * len(pages)
    assert "/c/" in message_from_bytes(raw, policy=policy.default).get_body(("html",)).get_content()
    assert CODE in text and "Hello" in text
    if SPAMASSASSIN:
        score, report = spam_report(raw)
        print(f"every-block design: SpamAssassin {score}")
        assert score < MAX_SCORE, report


CART_EMAIL = [("abandoned_cart", "email_1")]


def test_one_store_can_neither_read_nor_change_anothers_design(shop, woo_store):
    mine = {"format": 1, "blocks": [{"type": "text", "text": "Only for the first store."}]}
    with db.session() as session:
        designs.save(session, shop.id, "abandoned_cart", "email_1", mine, "test", CART_EMAIL)
    with db.session() as session:
        assert designs.current(session, woo_store.id, *CART_EMAIL[0], "abandoned_cart/email_1") == \
            default_design("abandoned_cart/email_1")
        assert not designs.reset(session, woo_store.id, "abandoned_cart", "email_1")
        listed = designs.listing(session, woo_store.id, CART_EMAIL)
        assert [row.source for row in listed] == ["default"]
    with db.session() as session:
        assert designs.current(session, shop.id, *CART_EMAIL[0], "abandoned_cart/email_1") == mine
        assert designs.reset(session, shop.id, "abandoned_cart", "email_1")
    with db.session() as session:
        assert designs.own(session, shop.id, "abandoned_cart", "email_1") is None


def test_cli_exports_imports_lists_and_resets(shop, storeflow, tmp_path):
    exported = storeflow("emails", "export", "--store", str(shop.id), "post_purchase", "thank_you")
    design = json.loads(exported.output)
    assert design == default_design("post_purchase/thank_you")
    design["blocks"][0]["text"] = "Thanks a million"
    good = tmp_path / "good.json"
    good.write_text(json.dumps(design))
    storeflow("emails", "import", "--store", str(shop.id), "post_purchase", "thank_you", str(good))
    listed = storeflow("emails", "list", "--store", str(shop.id)).output
    assert re.search(r"^post_purchase\tthank_you\tstore", listed, re.M)
    assert re.search(r"^welcome\tconfirm\tdefault", listed, re.M)
    again = storeflow("emails", "export", "--store", str(shop.id), "post_purchase", "thank_you")
    assert json.loads(again.output)["blocks"][0]["text"] == "Thanks a million"
    design["blocks"][2]["url"] = "javascript:alert(1)"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(design))
    refused = storeflow("emails", "import", "--store", str(shop.id), "post_purchase",
                        "thank_you", str(bad), ok=False)
    assert refused.exit_code == 1 and "/blocks/2" in refused.output
    assert "back to the default" in storeflow("emails", "reset", "--store", str(shop.id),
                                              "post_purchase", "thank_you").output
    with db.session() as session:
        assert designs.own(session, shop.id, "post_purchase", "thank_you") is None


def test_cli_takes_a_design_only_for_an_email_the_store_sends(shop, storeflow, tmp_path):
    design = tmp_path / "design.json"
    design.write_text(json.dumps(default_design("built/email")))
    for command in (("import", "big_order_thanks", "thanks", str(design)),
                    ("export", "abandoned_checkout", "email_9")):
        refused = storeflow("emails", command[0], "--store", str(shop.id), *command[1:], ok=False)
        assert refused.exit_code == 1
        assert "sends no email" in refused.output and "welcome/confirm_reminder_2" in refused.output
    with db.session() as session:
        assert designs.own(session, shop.id, "big_order_thanks", "thanks") is None
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps(EXAMPLE))
    storeflow("flows", "import", "--store", str(shop.id), str(flow))
    storeflow("emails", "import", "--store", str(shop.id), "big_order_thanks", "thanks", str(design))
    listed = storeflow("emails", "list", "--store", str(shop.id)).output
    assert re.search(r"^big_order_thanks\tthanks\tstore", listed, re.M)
    assert re.search(r"^big_order_thanks\tnudge\tdefault", listed, re.M)


def test_an_email_whose_cart_was_deleted_is_not_drawn_without_it():
    """As with the Jinja templates: the UI says it can't be shown, the outbox does not send a
    cart email with no cart; an email about no cart simply has no cart block."""
    with pytest.raises(UndefinedError):
        render("abandoned_checkout/email_1", full(checkout=None))
    assert "Your cart" not in render("post_purchase/thank_you", full(order=order())).text
