"""The email designer's routes (issue 18): a design saved, shown and reset; the live preview of
a draft as the sample or a customer; a built flow's send step in the same designer; and the
attacker's tries: a forged form, another store's
design or customer, a javascript:/data:/http: address, a <script> in a text, a huge draft, and
the design's words in the logs."""
from __future__ import annotations

import copy
import json
import logging
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select

from app.core.db import db
from app.mail import outbox
from app.mail.design import store as designs
from app.mail.render import default_design
from app.models import Checkout, Message
from flows import document, library
from tests.helpers import published
from tests.mail_helpers import with_postal_address
from tests.test_flow_built import EXAMPLE, FLOW
from tests.ui_helpers import add_customer, connect_rival, sign_in, sign_in_viewer

EMAIL = "abandoned_checkout/email_1"
PAGE = f"/app/emails/{EMAIL}/design"
SECRET = "Zebra-striped lamp sale"  # a design's words, looked for in the logs


@pytest.fixture
def owner(client, storeflow, shop):
    """A client signed in to the shop as its owner; its CSRF token."""
    return sign_in(client, storeflow, shop.id)


def edited(text: str = SECRET) -> dict:
    """The default design with a heading of `text` on top."""
    design = copy.deepcopy(default_design(EMAIL))
    design["blocks"].insert(0, {"type": "heading", "text": text})
    return design


def save(client, csrf: str | None, design, path: str = PAGE):
    data = {"design": design if isinstance(design, str) else json.dumps(design)}
    return client.post(path, data={**data, "csrf_token": csrf} if csrf else data)


def draw(client, csrf: str | None, design, query: str = ""):
    body = design if isinstance(design, str) else json.dumps(design)
    headers = {"Content-Type": "application/json", **({"X-CSRF-Token": csrf} if csrf else {})}
    return client.post(f"{PAGE}/preview{query}", data=body, headers=headers)


def stored(store_id: int) -> dict | None:
    with db.session() as session:
        row = designs.own(session, store_id, "abandoned_checkout", "email_1")
        return row.design if row else None


def test_the_page_holds_the_default_design_and_both_previews(client, owner):
    page = client.get(PAGE)
    assert page.status_code == 200
    shown = page.get_data(as_text=True)
    assert shown.count('sandbox="allow-same-origin"') == 2 and "allow-scripts" not in shown
    assert "You left something behind" in shown and "Desktop · 600 px" in shown
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    # Reached from the preview and the Flows page; an email not drawn from blocks has none.
    assert f'href="{PAGE}"' in client.get(f"/app/preview?step={EMAIL}").get_data(as_text=True)
    assert f'href="{PAGE}"' in client.get("/app/flows").get_data(as_text=True)
    assert client.get("/app/emails/welcome/no_such_step/design").status_code == 404
    assert client.get("/app/emails/nope/email_1/design").status_code == 404


def test_save_shows_it_then_reset_brings_the_default_back(client, owner, shop):
    answer = save(client, owner, edited())
    assert answer.status_code == 302 and answer.location.endswith(PAGE)
    assert stored(shop.id) == edited()
    page = client.get(PAGE).get_data(as_text=True)
    assert "saved: emails sent from now on use this design" in page and SECRET in page

    answer = client.post(f"{PAGE}/reset", data={"csrf_token": owner})
    assert answer.status_code == 302 and stored(shop.id) is None
    page = client.get(PAGE).get_data(as_text=True)
    assert "back to our design" in page and SECRET not in page


def test_an_invalid_design_is_shown_again_with_each_pointer_and_not_stored(client, owner, shop):
    design = edited()
    design["blocks"][0]["text"] = ""
    design["blocks"].append({"type": "spacer", "height": 999})
    answer = save(client, owner, design)
    assert answer.status_code == 400 and stored(shop.id) is None
    shown = answer.get_data(as_text=True)
    last = len(design["blocks"]) - 1
    assert "<code>/blocks/0/text</code>" in shown and f"<code>/blocks/{last}/height</code>" in shown
    assert answer.status_code == 400 and save(client, owner, "not json").status_code == 400


def test_the_live_preview_draws_the_draft_as_the_sample_or_a_customer(client, owner, shop):
    answer = draw(client, owner, edited("Just for {{ first_name }}"))
    assert answer.status_code == 200 and answer.json["problems"] == []
    assert "Just for Ana" in answer.json["html"] and "Just for Ana" in answer.json["text"]
    zoe = add_customer(shop.id, "zoe@example.com", 7, "Zoe")
    assert "Just for Zoe" in draw(client, owner, edited("Just for {{ first_name }}"),
                                  f"?customer_id={zoe}").json["html"]
    assert stored(shop.id) is None  # a preview stores nothing


def test_a_block_the_customers_email_cannot_show_is_named(client, owner, webhooks, run_jobs):
    """An order summary in the cart email of a customer with a cart and no order."""
    webhooks.deliver("checkouts/create", published("shopify/checkouts_create.json"))
    run_jobs()
    with db.session() as session:
        customer_id = session.execute(select(Checkout.customer_id)).scalar_one()
    design = {"format": 1, "blocks": [{"type": "order_summary", "of": "order"}]}
    answer = draw(client, owner, design, f"?customer_id={customer_id}")
    assert answer.status_code == 400 and answer.json["problems"] == [
        ["", "this email has no order to show: take out the block that shows it"]]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<b>x</b>",
                                 "http://shop.example/x", "https://"])
def test_an_address_that_is_not_https_is_refused_with_its_pointer(client, owner, shop, url):
    design = edited()
    design["blocks"].insert(1, {"type": "button", "text": "Go", "url": url})
    design["blocks"].insert(2, {"type": "image", "src": url, "width": 100, "height": 100,
                                "alt": ""})
    answer = draw(client, owner, design)
    assert answer.status_code == 400
    assert {"/blocks/1/url", "/blocks/2/src"} <= {pointer for pointer, _ in answer.json["problems"]}
    assert save(client, owner, design).status_code == 400 and stored(shop.id) is None


def test_a_script_in_a_text_is_shown_as_text_in_the_preview_and_the_page(client, owner):
    attack = "<script>alert(1)</script>"
    answer = draw(client, owner, edited(attack))
    assert attack not in answer.json["html"] and "&lt;script&gt;" in answer.json["html"]
    assert save(client, owner, edited(attack)).status_code == 302
    page = client.get(PAGE).get_data(as_text=True)
    assert attack not in page and "<script>alert" not in page


def test_a_huge_draft_is_a_clear_400(client, owner, shop):
    huge = edited("x" * 250)
    huge["blocks"] += [{"type": "text", "text": "y" * 4000}] * 17
    answer = draw(client, owner, huge)
    assert answer.status_code == 400 and answer.json["problems"] == [
        ["", "a design is at most 64,000 bytes"]]
    assert save(client, owner, huge).status_code == 400 and stored(shop.id) is None


def test_a_forged_form_gets_nowhere(client, owner, shop):
    """No CSRF token, or another session's: 400, and nothing is saved or reset."""
    assert save(client, None, edited()).status_code == 400
    assert draw(client, None, edited()).status_code == 400
    assert draw(client, "forged", edited()).status_code == 400
    assert save(client, owner, edited()).status_code == 302
    assert client.post(f"{PAGE}/reset").status_code == 400 and stored(shop.id) == edited()


def test_a_viewer_can_neither_see_nor_change_a_design(app, shop):
    viewer, csrf = sign_in_viewer(app, shop.id)
    assert viewer.get(PAGE).status_code == 403
    assert viewer.post(PAGE, data={"design": json.dumps(edited()), "csrf_token": csrf}
                       ).status_code == 403 and stored(shop.id) is None


def test_another_stores_design_and_customers_are_out_of_reach(app, client, owner, shop,
                                                               storeflow):
    """The store comes from the session alone: a rival's saved design is never shown, its save
    or reset never touches the shop's, and a rival's customer is a 404."""
    rival = connect_rival()
    with db.session() as session:
        designs.save(session, rival.id, "abandoned_checkout", "email_1",
                     edited("Rival store sale"), "rival", [("abandoned_checkout", "email_1")])
    assert "Rival store sale" not in client.get(PAGE).get_data(as_text=True)
    assert save(client, owner, edited(), f"{PAGE}?store_id={rival.id}").status_code == 302
    with db.session() as session:
        assert designs.own(session, rival.id, "abandoned_checkout", "email_1").design == \
            edited("Rival store sale")
    assert stored(shop.id) == edited()

    theirs = add_customer(rival.id, "zoe@example.com", 9, "Zoe")
    assert client.get(f"{PAGE}?customer_id={theirs}").status_code == 404
    assert draw(client, owner, edited(), f"?customer_id={theirs}").status_code == 404

    other = app.test_client()
    other_csrf = sign_in(other, storeflow, rival.id)
    assert other.post(f"{PAGE}/reset", data={"csrf_token": other_csrf}).status_code == 302
    assert stored(shop.id) == edited()


def test_nothing_of_a_design_is_logged(client, owner, caplog):
    caplog.set_level(logging.DEBUG)
    draw(client, owner, edited())
    save(client, owner, edited())
    bad = edited()
    bad["blocks"][0]["text"] = SECRET + " {{ nope( }}"
    save(client, owner, bad)
    client.post(f"{PAGE}/reset", data={"csrf_token": owner})
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "email design saved" in logged and SECRET not in logged


def test_a_test_send_from_the_designer_sends_the_saved_design_and_comes_back(client, owner,
                                                                            shop, smtp_sink):
    """The preview's test send (30 an hour), of the saved design, back to the designer."""
    with_postal_address(shop.id)  # a marketing email goes out only with it
    save(client, owner, edited())
    answer = client.post("/app/preview/send", data={
        "csrf_token": owner, "step": EMAIL, "from": "designer", "to": "owner@example.com"})
    assert answer.status_code == 302 and answer.location == PAGE
    assert "is on its way to owner@example.com" in client.get(PAGE).get_data(as_text=True)
    with db.session() as session:
        message_id = session.execute(select(Message.id).where(
            Message.store_id == shop.id, Message.email == "owner@example.com")).scalar_one()
    assert outbox.deliver(message_id) == "sent"
    sent = message_from_bytes(smtp_sink.raw[-1], policy=policy.default)
    assert SECRET in sent.get_body(("html",)).get_content()


def test_a_built_flows_send_step_is_designed_previewed_test_sent_and_reset(client, owner, shop,
                                                                         smtp_sink):
    """The same designer for a merchant's own flow: its step's words in the default design,
    its draft drawn, saved, test-sent as it will be sent, and reset."""
    with_postal_address(shop.id)
    with db.session() as session:
        library.save(session, shop.id, document.check(EXAMPLE), "the owner")
    page = f"/app/emails/{FLOW}/thanks/design"
    shown = client.get(page).get_data(as_text=True)
    assert "We are packing it now." in shown and "Shop again" in shown
    design = copy.deepcopy(default_design("built/email"))
    design["blocks"][0]["text"] = SECRET
    drawn = client.post(f"{page}/preview", data=json.dumps(design), headers={
        "Content-Type": "application/json", "X-CSRF-Token": owner}).get_json()
    assert SECRET in drawn["html"] and drawn["subject"] == "Thank you for your big order, Ana"
    assert save(client, owner, design, page).status_code == 302
    answer = client.post("/app/preview/send", data={
        "csrf_token": owner, "flow": FLOW, "send_step": "thanks", "from": "designer",
        "to": "owner@example.com"})
    assert answer.status_code == 302 and answer.location == page
    with db.session() as session:
        message = session.execute(select(Message).where(
            Message.store_id == shop.id, Message.email == "owner@example.com")).scalar_one()
        assert message.flow is None  # a test send counts in no report
    assert outbox.deliver(message.id) == "sent"
    sent = message_from_bytes(smtp_sink.raw[-1], policy=policy.default)
    assert SECRET in sent.get_body(("html",)).get_content()
    assert client.post(f"{page}/reset", data={"csrf_token": owner}).status_code == 302
    with db.session() as session:
        assert designs.own(session, shop.id, FLOW, "thanks") is None


def test_a_design_for_an_email_the_store_does_not_send_is_refused_naming_its_emails(
        client, owner, shop):
    answer = save(client, owner, edited(), f"/app/emails/{FLOW}/thanks/design")
    assert answer.status_code == 404
    assert "abandoned_checkout/email_1" in answer.get_data(as_text=True)
    with db.session() as session:
        assert designs.own(session, shop.id, FLOW, "thanks") is None
