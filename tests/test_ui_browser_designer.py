"""The email designer in a real browser (headless chromium, issue 18): a heading added to the
first abandoned-checkout email by clicking and typing, moved to the top, seen in the desktop and
phone previews, saved and kept over a reload, carried by the email the flow sends, and gone again
after a reset; the page fits a 390 px phone. A text's opening tick chooses what the Settings
message replaces. A built flow's send step opens in it from the flow builder."""
from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from app.core.db import db
from app.mail import outbox
from app.mail.design import store as designs
from tests.flow_helpers import HOUR, SAMPLE_TIME, move_to
from tests.mail_helpers import checkout_message
from tests.test_flow_built import FLOW, john_buys
from tests.test_flow_built import example, example_on  # noqa: F401 (fixtures)
from tests.test_flow_lifecycle import BUYER_EMAIL
from tests.test_ui_browser import expect
from tests.test_ui_browser_flow_builder import PHONE, signed_in  # noqa: F401 (a fixture)

HEADING = "Still thinking it over, {{ first_name }}?"
SHOWN = "Still thinking it over, Ana?"  # as the sample customer reads it


@pytest.fixture
def designer(signed_in, app_server):
    """A tab signed in to the shop, on the designer of its first abandoned-checkout email."""
    signed_in.set_viewport_size({"width": 1400, "height": 900})
    signed_in.goto(f"{app_server}/app/preview?step=abandoned_checkout/email_1")
    signed_in.locator("a:has-text('Design this email')").click()
    return signed_in


def previews(tab):
    return [tab.frame_locator(f"iframe[title='{which} preview']").locator("body")
            for which in ("Desktop", "Phone")]


def test_add_move_save_send_and_reset_a_heading(designer, shop, webhooks, run_jobs, smtp_sink):
    tab = designer
    blocks = tab.locator("#design-blocks .design-block")
    expect(blocks.first).to_be_visible()  # the script has drawn the design: count it
    count = blocks.count()
    tab.locator("#block-kind").select_option("heading")
    tab.locator("#block-add").click()
    expect(blocks).to_have_count(count + 1)
    blocks.last.get_by_label("Text").fill(HEADING)
    for index in range(count, 0, -1):  # up, one place at a time, to the top
        blocks.nth(index).get_by_role("button", name="Move up").click()
    expect(blocks.first.get_by_label("Text")).to_have_value(HEADING)
    expect(tab.locator("#check-state")).to_have_text("Ready to save")
    for body in previews(tab):
        expect(body).to_contain_text(SHOWN)

    tab.set_viewport_size({"width": PHONE, "height": 844})
    for selector in ("#design-blocks", "#design-form button[type=submit]", ".device-phone",
                     ".device-desktop"):  # the 600 px email scrolls sideways inside its frame
        box = tab.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE, selector
    tab.set_viewport_size({"width": 1400, "height": 900})

    tab.locator("button:has-text('Save design')").click()
    expect(tab.locator(".toast")).to_contain_text("saved")
    tab.reload()
    expect(blocks.first.get_by_label("Text")).to_have_value(HEADING)
    for body in previews(tab):
        expect(body).to_contain_text(SHOWN)

    message_id = checkout_message(shop, webhooks, run_jobs)  # as the flow queues its first email
    assert outbox.deliver(message_id) == "sent"
    sent = message_from_bytes(smtp_sink.raw[-1], policy=policy.default)
    assert "Still thinking it over" in sent.get_body(("html",)).get_content()

    tab.locator("button:has-text('Reset to our design')").click()
    expect(tab.locator(".toast")).to_contain_text("back to our design")
    expect(blocks).to_have_count(count)
    expect(blocks.first.get_by_label("Text")).to_have_value("You left something behind")
    for body in previews(tab):
        expect(body).not_to_contain_text("Still thinking it over")


def test_a_built_flows_send_step_is_designed_from_the_builder_and_sent_so(
        example_on, signed_in, app_server, shop, webhooks, run_jobs, smtp_sink):
    """The flow builder's send step opens the same designer: the heading changed there is the
    heading of the email the flow then sends; the subject stays the step's own."""
    tab = signed_in
    tab.set_viewport_size({"width": 1400, "height": 900})
    tab.goto(f"{app_server}/app/flows/{FLOW}/build")
    tab.locator("[data-step=thanks] .step-open").click()
    tab.locator("#panel a:has-text('Design this email')").click()
    expect(tab).to_have_url(f"{app_server}/app/emails/{FLOW}/thanks/design")
    heading = tab.locator("#design-blocks .design-block").first.get_by_label("Text")
    expect(heading).to_have_value("{{ subject }}")
    for body in previews(tab):
        expect(body).to_contain_text("We are packing it now.")
    heading.fill("Packed with care, {{ first_name }}")
    expect(tab.locator("#check-state")).to_have_text("Ready to save")
    for body in previews(tab):
        expect(body).to_contain_text("Packed with care, Ana")
    tab.locator("button:has-text('Save design')").click()
    expect(tab.locator(".toast")).to_contain_text("saved")

    john_buys(webhooks, run_jobs)
    move_to(SAMPLE_TIME + HOUR, run_jobs)
    [sent] = smtp_sink.to(BUYER_EMAIL)
    assert sent["Subject"] == "Thank you for your big order, John"
    for part in ("html", "plain"):
        content = sent.get_body((part,)).get_content()
        assert "Packed with care, John" in content and "We are packing it now." in content


OPENING = "Opening: the message set for this email in Preview replaces it"
OWN_WORDS = "Our own words for you."


def test_the_opening_tick_chooses_the_text_the_settings_message_replaces(designer, shop,
                                                                         storeflow):
    storeflow("flows", "set", "--store", str(shop.id), "abandoned_checkout",
              f"email_1_message={OWN_WORDS}")
    tab = designer
    tab.reload()
    texts = tab.locator("#design-blocks .design-block[data-type=text]")
    greeting, opening = texts.nth(0).get_by_label(OPENING), texts.nth(1).get_by_label(OPENING)
    expect(opening).to_be_checked()
    expect(greeting).not_to_be_checked()
    for body in previews(tab):
        expect(body).to_contain_text(OWN_WORDS)
    opening.uncheck()  # no text is the opening: the message has nowhere to go
    for body in previews(tab):
        expect(body).to_contain_text("so we saved your cart")
        expect(body).not_to_contain_text(OWN_WORDS)
    greeting.check()  # the greeting is now what the message replaces
    for body in previews(tab):
        expect(body).to_contain_text(OWN_WORDS)
        expect(body).not_to_contain_text("Hi Ana,")
    tab.locator("button:has-text('Save design')").click()
    expect(tab.locator(".toast")).to_contain_text("saved")
    with db.session() as session:
        saved = designs.own(session, shop.id, "abandoned_checkout", "email_1").design
    assert [block.get("opening") for block in saved["blocks"][1:3]] == [True, None]
