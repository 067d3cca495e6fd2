"""The Preview page through Flask's test client: which email it opens on, which of the store's
customers it shows the email as (or why the sample instead), what the text editor holds and why
it refuses a draft, and test sends, capped per store per hour."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from app.core.db import db
from app.jobs import broker
from app.models import Message
from app.web.ui.preview import TEST_SEND_KEY
from tests.flow_helpers import enable
from tests.ui_helpers import add_customer, connect_rival, customers_sharing, sign_in

ZOE = "zoe@example.com"
SAMPLE = "ana@example.com"  # the sample customer's address
NOT_AN_ADDRESS = "That is not an email address; showing the sample."
NO_CUSTOMER = "No customer with that email in this store; showing the sample."


@pytest.fixture
def rival(app):
    return connect_rival()


def selected(page: str) -> str:
    """The email the page shows (the step chosen in its menu)."""
    return re.search(r'<option value="([^"]+)" selected>', page).group(1)


def shown_as(page: str) -> tuple[str, str | None]:
    """Whom the preview is addressed to, and the warning above it (None: no warning)."""
    to = re.search(r'<span class="muted">To</span><span>(.*?)</span>', page).group(1)
    warning = re.search(r'<div class="alert alert-warn small">(.*?)</div>', page)
    return to, warning.group(1) if warning else None


def editor(page: str) -> tuple[str, str]:
    """The subject line and opening message in the editor's fields."""
    subject = re.search(r'<input class="input" name="subject" value="(.*?)"', page).group(1)
    message = re.search(r'<textarea class="input" name="message"[^>]*>(.*?)</textarea>', page,
                        re.S).group(1)
    return html.unescape(subject), html.unescape(message)


def test_preview_opens_on_the_first_email_of_the_flow_asked_for(client, shop, storeflow):
    """"Preview emails" on a flow's card opens on that flow's first email; with no flow (or
    one that does not exist), on the first email of all; an email named outright wins."""
    sign_in(client, storeflow, shop.id)

    assert selected(client.get("/app/preview?flow=welcome").text) == "welcome/confirm"
    assert selected(client.get("/app/preview?flow=order_updates").text) == (
        "order_updates/confirmation")
    assert selected(client.get("/app/preview").text) == "abandoned_checkout/email_1"
    assert selected(client.get("/app/preview?flow=nope").text) == "abandoned_checkout/email_1"
    assert selected(client.get("/app/preview?flow=welcome&step=post_purchase/thank_you").text) == (
        "post_purchase/thank_you")


def test_an_email_that_does_not_exist_is_a_404_saying_so(client, shop, storeflow):
    """A link to an email no flow has (a step since renamed) says so, rather than showing
    some other email."""
    sign_in(client, storeflow, shop.id)

    response = client.get("/app/preview?step=welcome/nope")

    assert response.status_code == 404 and "<p>There is no such email.</p>" in response.text


def test_preview_as_an_address_shows_that_customer_of_this_store(client, shop, rival,
                                                                storeflow):
    """Typing a customer's address (in any case) previews the email as them; with no address
    the sample shows, without a warning."""
    add_customer(shop.id, "ben@example.com", 1, "Ben")
    zoe = add_customer(shop.id, ZOE, 2, "Zoe")
    add_customer(rival.id, ZOE, 2, "Zoe")
    sign_in(client, storeflow, shop.id)

    page = client.get("/app/preview?step=welcome/welcome&email=+Zoe@Example.com+").text

    assert shown_as(page) == (ZOE, None)
    assert f'<input type="hidden" name="customer_id" value="{zoe}">' in page
    assert shown_as(client.get("/app/preview?step=welcome/welcome").text) == (SAMPLE, None)


def test_preview_as_an_address_that_is_no_customer_here_says_it_shows_the_sample(
        client, shop, rival, storeflow):
    """Text that is no address, or the address of no customer of this store (another store's
    customer included), shows the sample and says why."""
    add_customer(rival.id, ZOE, 2, "Zoe")
    sign_in(client, storeflow, shop.id)

    for typed, warning in (("not-an-address", NOT_AN_ADDRESS), (ZOE, NO_CUSTOMER),
                           ("nobody@example.com", NO_CUSTOMER)):
        page = client.get(f"/app/preview?step=welcome/welcome&email={typed}").text
        assert shown_as(page) == (SAMPLE, warning), typed


def test_preview_as_a_shared_address_shows_the_oldest_platform_customer(client, shop,
                                                                        storeflow):
    """An address typed at the shop front and held by two Shopify customers (one changed its
    address to it) previews as the oldest Shopify customer, as Activity shows them."""
    older = customers_sharing(shop.id, ZOE)
    sign_in(client, storeflow, shop.id)

    page = client.get(f"/app/preview?step=welcome/welcome&email={ZOE}").text

    assert f'<input type="hidden" name="customer_id" value="{older}">' in page
    assert "Hi Older," in page


# --- test sends ----------------------------------------------------------------------------

def send_test(client, token: str, to: str = "owner@fernhill.example", follow: bool = False,
              **form):
    """Press "Send test email" on the preview of the thank-you email."""
    return client.post("/app/preview/send", follow_redirects=follow, data={
        "csrf_token": token, "to": to, "step": "post_purchase/thank_you", **form})


def sends_queued(store_id: int) -> list[tuple]:
    """The store's test sends: (address, template, customer id, status)."""
    with db.session() as session:
        return [tuple(row) for row in session.execute(
            select(Message.email, Message.template, Message.customer_id, Message.status)
            .where(Message.store_id == store_id, Message.run_id.is_(None))
            .order_by(Message.id))]


def test_a_test_send_queues_the_previewed_email_to_the_address_typed(client, shop, storeflow):
    """"Send test email" queues the email as previewed (for the customer chosen) to the
    address typed, and comes back to the preview saying so."""
    zoe = add_customer(shop.id, ZOE, 2, "Zoe")
    token = sign_in(client, storeflow, shop.id)

    response = send_test(client, token, to=" Owner@Fernhill.example ", customer_id=str(zoe))

    assert response.status_code == 302
    assert response.location == f"/app/preview?step=post_purchase/thank_you&customer_id={zoe}"
    assert sends_queued(shop.id) == [("owner@fernhill.example", "post_purchase/thank_you", zoe,
                                   "queued")]
    assert ("Test of “Thank you” is on its way to owner@fernhill.example."
            in client.get(response.location).text)


def test_test_sends_stop_at_thirty_an_hour_for_each_store(client, shop, rival, storeflow):
    """The UI is no spam cannon: 30 test sends an hour, counted from the first, then a
    refusal saying so; another store's merchant keeps their own 30."""
    token = sign_in(client, storeflow, shop.id)

    send_test(client, token)
    assert 3000 < broker.connection.ttl(TEST_SEND_KEY.format(shop.id)) <= 3600  # an hour
    for _ in range(29):
        send_test(client, token)
    refused = send_test(client, token, follow=True)

    assert "That&#39;s 30 test sends this hour; try again later." in refused.text
    assert len(sends_queued(shop.id)) == 30
    token = sign_in(client, storeflow, rival.id)
    send_test(client, token)
    assert len(sends_queued(rival.id)) == 1


def test_the_live_preview_says_why_a_draft_is_not_used(client, shop, storeflow):
    """A draft the editor cannot use (here a placeholder left open) is named with the whole
    reason, and the preview shows the template's own text meanwhile."""
    sign_in(client, storeflow, shop.id)
    draft = {"step": "abandoned_checkout/email_2", "message": "Hi {{ first_name"}

    live = client.get("/app/preview", query_string=draft, headers={"Accept": "application/json"})
    page = client.get("/app/preview", query_string=draft)

    reason = "cannot render: unexpected end of template, expected 'end of print statement'."
    assert live.status_code == 400 and live.get_json()["error"] == reason
    assert "first_name" not in live.get_json()["html"]
    assert page.status_code == 400 and f"Not used: {reason}" in page.text.replace("&#39;", "'")


def test_the_editor_shows_the_saved_texts_or_the_draft_it_refused(client, shop, storeflow):
    """An email opens with the texts saved for it in the editor (another email's fields stay
    empty); a draft the editor refused stays in its field to be fixed, not swapped for the
    saved text."""
    token = sign_in(client, storeflow, shop.id)
    step = "abandoned_checkout/email_2"
    client.post("/app/preview/texts", data={"csrf_token": token, "step": step,
                                            "action": "save", "subject": "Saved subject",
                                            "message": "Saved message"})

    assert editor(client.get(f"/app/preview?step={step}").text) == ("Saved subject",
                                                                     "Saved message")
    assert editor(client.get("/app/preview?step=abandoned_checkout/email_1").text) == ("", "")
    refused = client.get("/app/preview", query_string={"step": step, "message": "Hi {{ x"})
    assert editor(refused.text) == ("Saved subject", "Hi {{ x")


# --- the discount code and the placeholders an email really has ----------------------------

def placeholders(page: str) -> list[str]:
    """The placeholders the editor says this email's texts may use."""
    return re.findall(r"<code data-placeholder>\{\{ (\w+) \}\}</code>", page)


def carried(page: str) -> list[str]:
    """The stand-in discount codes the previewed email shows (HTML and text parts)."""
    return re.findall(r"PREVIEW-[\w.]+", html.unescape(page))


def test_an_email_before_the_code_is_made_shows_no_code_even_if_its_text_asks_for_one(
        client, shop, storeflow):
    """Abandoned checkout makes its code just before email 3: email 1 shows none, though the
    merchant's message names {{ discount_code }}, and does not offer it as a placeholder."""
    sign_in(client, storeflow, shop.id)

    page = client.get("/app/preview", query_string={
        "step": "abandoned_checkout/email_1", "message": "Here: {{ discount_code }}."}).text

    assert carried(page) == [] and "Here: ." in page
    assert placeholders(page) == ["first_name", "store_name", "shop_url"]
    assert "may use <code data-placeholder>{{ first_name }}</code>, <code" in page


def test_the_email_with_the_code_shows_it_at_the_configured_percent_while_discounts_are_on(
        client, shop, storeflow):
    """Email 3 carries a code at the store's 25 %, and lists {{ discount_code }}; with the
    discount switched off it carries none and lists it no more."""
    enable(shop.id, "abandoned_checkout", discount_percent=25)
    sign_in(client, storeflow, shop.id)

    page = client.get("/app/preview?step=abandoned_checkout/email_3").text
    assert set(carried(page)) == {"PREVIEW-25OFF"}
    assert placeholders(page) == ["first_name", "store_name", "shop_url", "discount_code"]
    answer = client.get("/app/preview?step=abandoned_checkout/email_3",
                        headers={"Accept": "application/json"}).json
    assert "PREVIEW-25OFF" in answer["html"] and "PREVIEW-25OFF" in answer["text"]

    enable(shop.id, "abandoned_checkout", discount=False)
    page = client.get("/app/preview?step=abandoned_checkout/email_3").text
    assert carried(page) == [] and "discount_code" not in placeholders(page)


def test_a_welcome_confirmation_before_the_code_shows_none_when_the_welcome_has_one(
        client, shop, storeflow):
    enable(shop.id, "welcome", discount=True, discount_percent=20)
    sign_in(client, storeflow, shop.id)

    assert carried(client.get("/app/preview?step=welcome/confirm").text) == []
    assert set(carried(client.get("/app/preview?step=welcome/welcome").text)) == {"PREVIEW-20OFF"}


@pytest.mark.parametrize("step, code", [
    ("welcome/welcome", None), ("first_repeat_purchase/second_order_offer", "PREVIEW-15OFF"),
    ("post_purchase/thank_you", None), ("post_purchase/review_request", "PREVIEW-10OFF"),
    ("win_back/reminder", None), ("birthday/greeting", "PREVIEW-15OFF")])
def test_each_flows_emails_carry_a_code_only_after_the_flows_discount_step(
        client, shop, storeflow, step, code):
    """With each flow's default settings: the welcome's discount is off; the second-order offer
    (its code under the same "first order" condition) carries 15 %; post-purchase's code comes
    with the review request, not the thank-you; win-back makes no code at all."""
    sign_in(client, storeflow, shop.id)

    page = client.get(f"/app/preview?step={step}").text

    assert set(carried(page)) == ({code} if code else set())
    assert ("discount_code" in placeholders(page)) == (code is not None)
