"""A built flow's email previewed and test-sent from the builder before the flow is saved:
rendered as the sample customer would get it, refused naming the field when it could not be
saved, sent through the outbox and the real loopback SMTP server, capped per store per hour,
and behind the signed-in session's CSRF token like every other change."""
from __future__ import annotations

import pytest

from app.jobs import broker
from app.web.ui.preview import TEST_SEND_KEY, TEST_SENDS_PER_HOUR
from tests.mail_helpers import with_postal_address
from tests.ui_helpers import sign_in

DRAFT = {"subject": "Thanks, {{ first_name }}", "body": "We are packing it now.\n\n<script>alert(1)</script>",
         "button": {"text": "Shop again", "url": "https://fernhill.example/collections/new"}}


@pytest.fixture
def token(client, storeflow, shop):
    """The client signed in to the shop (before any SMTP sink: signing in runs the CLI, which
    binds the mail transport); its CSRF token."""
    return sign_in(client, storeflow, shop.id)


def post(client, token, path: str, payload: dict):
    return client.post(path, json=payload, headers={"X-CSRF-Token": token, "Accept": "application/json"})


def test_a_drafted_email_previews_as_the_sample_customer_would_get_it(client, token):

    shown = post(client, token, "/app/flows/email/preview", {"send": DRAFT})

    assert shown.status_code == 200
    assert shown.json["subject"] == "Thanks, Ana"  # the sample customer's first name
    assert "We are packing it now." in shown.json["html"] and "We are packing it now." in shown.json["text"]
    assert "https://fernhill.example/collections/new" in shown.json["text"]
    assert "<script>" not in shown.json["html"] and "&lt;script&gt;" in shown.json["html"]


def test_a_draft_that_could_not_be_saved_is_refused_naming_its_field(client, token):
    bad = {**DRAFT, "button": {"text": "Go", "url": "javascript:alert(1)"}}

    refused = post(client, token, "/app/flows/email/preview", {"send": bad})

    assert refused.status_code == 400
    assert [pointer for pointer, _ in refused.json["problems"]] == ["/button/url"]
    assert post(client, token, "/app/flows/email/preview", {"nothing": 1}).status_code == 400


def test_without_the_csrf_token_nothing_is_previewed_or_sent(client, shop, token):
    for path in ("/app/flows/email/preview", "/app/flows/email/test"):
        answer = client.post(path, json={"send": DRAFT, "to": "owner@fernhill.example"})
        assert answer.status_code == 400
    assert broker.connection.get(TEST_SEND_KEY.format(shop.id)) is None


def test_a_test_send_reaches_the_address_typed_and_stops_at_the_hourly_cap(
        client, shop, token, run_jobs, smtp_sink):
    with_postal_address(shop.id)

    sent = post(client, token, "/app/flows/email/test", {"send": DRAFT, "to": " Owner@Fernhill.example "})
    run_jobs()

    assert sent.status_code == 200 and sent.json == {"sent_to": "owner@fernhill.example"}
    [mail] = smtp_sink.received
    assert mail["To"] == "owner@fernhill.example" and mail["Subject"] == "Thanks, Ana"
    assert post(client, token, "/app/flows/email/test", {"send": DRAFT, "to": "nobody"}).status_code == 400
    for _ in range(TEST_SENDS_PER_HOUR - 1):
        post(client, token, "/app/flows/email/test", {"send": DRAFT, "to": "owner@fernhill.example"})
    capped = post(client, token, "/app/flows/email/test", {"send": DRAFT, "to": "owner@fernhill.example"})
    assert capped.status_code == 429 and "30 test sends this hour" in capped.json["error"]
