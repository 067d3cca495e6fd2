"""What a recipient can do with a message: one-click unsubscribe, opens and clicks, and the
headers and footer that make it possible."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from app.core import clock
from app.core.db import db
from app.mail import links, outbox, tracking
from app.models import ConsentChange, Customer, Message, MessageEvent, Store, Suppression
from tests.helpers import SHOP
from tests.mail_helpers import checkout_message, sent_message, status

CUSTOMER_EMAIL = "john@example.com"  # the published checkout sample's customer


def token_of(url: str) -> str:
    return urlsplit(url).path.split("/")[-1].removesuffix(".gif")


def message(message_id: int) -> Message:
    return status(message_id)


def suppressions() -> list[Suppression]:
    with db.session() as session:
        return session.execute(select(Suppression)).scalars().all()


def events(kind: str) -> list[MessageEvent]:
    with db.session() as session:
        return session.execute(select(MessageEvent).where(MessageEvent.kind == kind)).scalars().all()


@pytest.fixture
def postal_address(shop):
    with db.session() as session:
        session.get(Store, shop.id).settings = {"postal_address": "1 Main St, Springfield"}


def test_marketing_mail_carries_each_list_unsubscribe_header_once_unencoded(
        shop, webhooks, run_jobs, smtp_sink, postal_address):
    message_id = sent_message(shop, webhooks, run_jobs)

    [mail], [raw] = smtp_sink.received, smtp_sink.raw
    for header in set(mail.keys()):
        assert len(mail.get_all(header)) == 1, header
    unsubscribe = mail["List-Unsubscribe"]
    assert re.fullmatch(r"<http://storeflow\.test/u/[\w.\-]+>", unsubscribe)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # On the wire, as a mailbox provider reads it: one plain line, no RFC 2047 encoded-words.
    assert f"List-Unsubscribe: {unsubscribe}\r\n".encode() in raw
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    unsubscribe_url = unsubscribe.strip("<>")
    assert f'href="{unsubscribe_url}"' in html and f"Unsubscribe: {unsubscribe_url}" in text
    assert "1 Main St, Springfield" in html and "1 Main St, Springfield" in text
    assert links.read_token(token_of(unsubscribe_url), links.UNSUBSCRIBE).message_id == message_id


def test_the_header_and_the_footer_carry_the_same_unsubscribe_link_across_a_second(
        shop, webhooks, run_jobs, smtp_sink, monkeypatch):
    """Tokens are timestamped to the second: a render that crosses a second boundary once
    made the header's link differ from the footer's (about 1 send in 9)."""
    from itsdangerous import TimestampSigner

    seconds = iter(range(1_800_000_000, 1_800_001_000))
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: next(seconds))
    sent_message(shop, webhooks, run_jobs)

    [mail] = smtp_sink.received
    header_url = mail["List-Unsubscribe"].strip("<>").split(">")[0]
    assert f'href="{header_url}"' in mail.get_body(("html",)).get_content()
    assert f"Unsubscribe: {header_url}" in mail.get_body(("plain",)).get_content()


def test_transactional_mail_has_no_unsubscribe_header_or_link(shop, webhooks, run_jobs, smtp_sink):
    sent_message(shop, webhooks, run_jobs, marketing=False)

    [mail] = smtp_sink.received
    assert mail["List-Unsubscribe"] is None and mail["List-Unsubscribe-Post"] is None
    assert "/u/" not in mail.get_body(("html",)).get_content()
    assert "Unsubscribe" not in mail.get_body(("plain",)).get_content()


def test_the_html_gets_a_pixel_and_tracked_store_links_at_send_time(shop, webhooks, run_jobs,
                                                                     smtp_sink):
    message_id = sent_message(shop, webhooks, run_jobs)

    [mail] = smtp_sink.received
    html = mail.get_body(("html",)).get_content()
    hrefs = re.findall(r'href="([^"]+)"', html)
    clicks = [links.read_token(token_of(h), links.CLICK) for h in hrefs if "/c/" in h]
    # Links to the shop are tracked; the recovery link to a foreign host is not.
    assert clicks and {(c.message_id, c.url) for c in clicks} == {(message_id, f"https://{SHOP}")}
    assert any("checkout.local/548380009/checkouts/123123123/recover" in h for h in hrefs)
    [pixel] = re.findall(r'<img src="(http://storeflow\.test/o/[^"]+\.gif)"', html)
    assert links.read_token(token_of(pixel), links.OPEN).message_id == message_id
    # The text part keeps plain URLs: nobody should read a tracking token.
    assert "/c/" not in mail.get_body(("plain",)).get_content()


def test_mail_shown_in_the_ui_loses_its_pixel_and_keeps_its_links(shop, webhooks, run_jobs,
                                                                 smtp_sink):
    sent_message(shop, webhooks, run_jobs)

    [mail] = smtp_sink.received
    html = mail.get_body(("html",)).get_content()
    [pixel] = re.findall(r'<img src="[^"]+/o/[^"]+"[^>]*>', html)
    assert tracking.without_pixel(html) == html.replace(pixel, "")


def test_post_unsubscribes_without_cookies_and_again_idempotently(shop, webhooks, run_jobs,
                                                                   client, smtp_sink):
    # Sent to the checkout customer's own address: their consent is the address's.
    message_id = sent_message(shop, webhooks, run_jobs, email=CUSTOMER_EMAIL)
    path = urlsplit(links.unsubscribe_url(message(message_id))).path

    # What Gmail sends (RFC 8058): form-urlencoded, then multipart, and no cookie ever.
    first = client.post(path, data={"List-Unsubscribe": "One-Click"})
    again = client.post(path, data={"List-Unsubscribe": "One-Click"}, content_type="multipart/form-data")

    assert (first.status_code, again.status_code) == (200, 200)
    assert "Set-Cookie" not in first.headers and "You are unsubscribed" in first.text
    [suppression] = suppressions()
    assert (suppression.store_id, suppression.email, suppression.reason) == (
        shop.id, CUSTOMER_EMAIL, "unsubscribed")
    run_jobs()  # the ingest of the stored unsubscribe: the customer's consent follows
    with db.session() as session:
        customer = session.get(Customer, message(message_id).customer_id)
        sources = session.execute(select(ConsentChange.source).where(
            ConsentChange.customer_id == customer.id)).scalars().all()
    assert customer.email_consent == "unsubscribed" and sources[-1] == "storeflow:unsubscribe"


def test_get_shows_a_confirm_form_and_unsubscribes_no_one(shop, webhooks, run_jobs, client,
                                                          smtp_sink):
    message_id = sent_message(shop, webhooks, run_jobs)
    path = urlsplit(links.unsubscribe_url(message(message_id))).path

    page = client.get(path)

    assert page.status_code == 200 and page.mimetype == "text/html"
    assert f'<form method="post" action="{path}">' in page.text
    assert suppressions() == []


def forged_tokens(message_id: int, store_id: int) -> list[str]:
    real = links.make_token(links.UNSUBSCRIBE, store_id, message_id)
    other_key = URLSafeTimedSerializer("another-secret", salt=links.LINK_SALT)
    return [
        real[:-2] + ("AA" if not real.endswith("AA") else "BB"),  # tampered signature
        other_key.dumps([links.UNSUBSCRIBE, store_id, message_id]),  # signed with another key
        links.make_token("x", store_id, message_id),  # a kind of link we never make
        links.make_token(links.UNSUBSCRIBE, store_id + 1, message_id),  # another store's id
        links.make_token(links.UNSUBSCRIBE, store_id, message_id + 100),  # unknown message
        "not-a-token",
    ]


def test_forged_and_unknown_tokens_get_the_same_404_and_change_nothing(shop, webhooks, run_jobs,
                                                                        client, smtp_sink):
    message_id = sent_message(shop, webhooks, run_jobs)
    answers = set()
    for token in forged_tokens(message_id, shop.id):
        for response in (client.post(f"/u/{token}"), client.get(f"/u/{token}"),
                         client.get(f"/o/{token}.gif"), client.get(f"/c/{token}")):
            assert response.status_code == 404, token
            answers.add(response.text)
    # A genuine pixel token is not an unsubscribe or a click token.
    pixel = links.make_token(links.OPEN, shop.id, message_id)
    for response in (client.post(f"/u/{pixel}"), client.get(f"/c/{pixel}")):
        assert response.status_code == 404
        answers.add(response.text)

    assert len(answers) == 1
    assert suppressions() == [] and events("open") == [] and events("click") == []


def test_a_queued_message_is_not_sent_to_someone_who_unsubscribed_a_second_before(
        shop, webhooks, run_jobs, client, smtp_sink):
    noon = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    earlier = sent_message(shop, webhooks, run_jobs)
    queued = checkout_message(shop, webhooks, run_jobs, run_id=2)

    with clock.frozen_at(noon):
        assert client.post(urlsplit(links.unsubscribe_url(message(earlier))).path).status_code == 200
    with clock.frozen_at(noon + timedelta(seconds=1)):
        assert outbox.deliver(queued) == "cancelled"

    assert len(smtp_sink.received) == 1  # only the earlier one
    assert message(queued).reason == "suppressed: unsubscribed"


@pytest.mark.parametrize("target", [
    "https://evil.example/phish",
    f"https://{SHOP}@evil.example/",
    f"https://{SHOP}.evil.example/",
    f"https://{SHOP}:8443/",
    f"javascript://{SHOP}/%0aalert(1)",
    "//evil.example/",
])
def test_a_click_to_a_foreign_url_is_refused_even_with_a_valid_signature(
        shop, webhooks, run_jobs, client, smtp_sink, target):
    message_id = sent_message(shop, webhooks, run_jobs)

    response = client.get(urlsplit(links.click_url(message(message_id), target)).path)

    assert response.status_code == 400 and "Location" not in response.headers
    assert events("click") == []


def test_a_store_link_redirects_with_utm_and_records_the_click(shop, webhooks, run_jobs, client,
                                                               smtp_sink):
    message_id = sent_message(shop, webhooks, run_jobs)
    target = f"https://www.{SHOP}/products/ipod-nano?variant=808950810&utm_source=newsletter"
    path = urlsplit(links.click_url(message(message_id), target)).path

    with clock.frozen_at(datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)) as at:
        response = client.get(path)
    client.get(path)

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.netloc, location.path) == (f"www.{SHOP}", "/products/ipod-nano")
    assert parse_qs(location.query) == {
        "variant": ["808950810"], "utm_source": ["newsletter"],  # the link's own value wins
        "utm_medium": ["email"], "utm_campaign": ["abandoned_checkout"], "utm_content": ["email_1"]}
    assert [(e.message_id, e.url) for e in events("click")] == [(message_id, target)] * 2
    assert message(message_id).first_clicked_at == at


def test_the_open_pixel_records_the_first_open_and_counts_each(shop, webhooks, run_jobs, client,
                                                              smtp_sink):
    message_id = sent_message(shop, webhooks, run_jobs)
    path = urlsplit(links.open_url(message(message_id))).path

    with clock.frozen_at(datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)) as first:
        response = client.get(path)
    with clock.frozen_at(first + timedelta(hours=2)):
        client.get(path)

    assert response.status_code == 200 and response.mimetype == "image/gif"
    assert response.data.startswith(b"GIF89a") and "no-store" in response.headers["Cache-Control"]
    assert len(events("open")) == 2
    assert message(message_id).first_opened_at == first


def test_a_link_scanner_is_followed_but_not_counted(shop, webhooks, run_jobs, client, smtp_sink):
    message_id = sent_message(shop, webhooks, run_jobs)
    scanner = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0.0.0 Safari/537.36"}

    opened = client.get(urlsplit(links.open_url(message(message_id))).path, headers=scanner)
    clicked = client.get(urlsplit(links.click_url(message(message_id), f"https://{SHOP}/")).path,
                         headers=scanner)

    assert (opened.status_code, clicked.status_code) == (200, 302)
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(MessageEvent)).scalar_one() == 0


def test_the_unsubscribe_and_confirm_pages_name_the_store_they_are_about(
        shop, webhooks, run_jobs, client, smtp_sink):
    """The recipient is asked and answered about one store: by its name, or its domain while it
    has none."""
    message_id = sent_message(shop, webhooks, run_jobs, email=CUSTOMER_EMAIL)
    unsubscribe = urlsplit(links.unsubscribe_url(message(message_id))).path
    confirm = urlsplit(links.confirm_url(message(message_id))).path

    assert f"Unsubscribe from {SHOP}?" in client.get(unsubscribe).text
    assert f"{SHOP} will not send you marketing emails" in client.post(unsubscribe).text
    with db.session() as session:
        session.get(Store, shop.id).name = "Fernhill Goods"
    page = client.get(confirm)

    assert page.status_code == 200 and f'<form method="post" action="{confirm}">' in page.text
    assert "Confirm your subscription to Fernhill Goods" in page.text
    assert "Fernhill Goods will be in touch soon" in client.post(confirm).text
    assert "Unsubscribe from Fernhill Goods?" in client.get(unsubscribe).text


def test_a_confirmation_link_in_mail_to_another_address_confirms_no_one(
        shop, webhooks, run_jobs, client, smtp_sink):
    """Only the customer at the address the mail went to can confirm their subscription."""
    message_id = sent_message(shop, webhooks, run_jobs, email="someone.else@example.com")

    response = client.post(urlsplit(links.confirm_url(message(message_id))).path)

    assert response.status_code == 404 and "This link is not valid" in response.text
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(ConsentChange).where(
            ConsentChange.source == "storeflow:double_opt_in")).scalar_one() == 0


def test_an_unsubscribe_link_in_mail_sent_by_an_earlier_release_still_works(
        shop, webhooks, run_jobs, client, smtp_sink):
    """Links in sent mail live for years: their tokens are signed as every release has signed
    them (SECRET_KEY, the links' own salt), so an upgrade never breaks an unsubscribe link."""
    message_id = sent_message(shop, webhooks, run_jobs, email=CUSTOMER_EMAIL)
    earlier = URLSafeTimedSerializer(links.signer.secret_key, salt="storeflow.mail-link")
    token = earlier.dumps([links.UNSUBSCRIBE, shop.id, message_id])
    starting = links.LinkSigner()  # as a process starting now makes it
    starting.bind(links.signer.secret_key, "http://storeflow.test")

    assert starting.serializer().loads(token) == [links.UNSUBSCRIBE, shop.id, message_id]
    response = client.post(f"/u/{token}")

    assert response.status_code == 200 and "You are unsubscribed" in response.text
    assert [s.email for s in suppressions()] == [CUSTOMER_EMAIL]


def test_a_click_link_of_an_earlier_release_still_reads_and_ours_read_there_too(app):
    """An earlier release compressed a payload that came out shorter so (a click's URL); this
    one never does. Each reads the other's tokens, so neither an upgrade nor a rollback breaks
    a link in mail already sent."""
    target = "https://" + SHOP + "/products/ipod-nano?utm_source=storeflow&utm_medium=email"
    earlier = URLSafeTimedSerializer(links.signer.secret_key, salt="storeflow.mail-link")
    theirs = earlier.dumps([links.CLICK, 3, 4, target])
    ours = links.make_token(links.CLICK, 3, 4, target)

    assert theirs.startswith(".") and not ours.startswith(".")  # compressed, and not
    assert links.read_token(theirs, links.CLICK) == links.Link(3, 4, target)
    assert earlier.loads(ours) == [links.CLICK, 3, 4, target]


def signed(data) -> str:
    return links.signer.serializer().dumps(data)


@pytest.mark.parametrize("data, kind", [
    ({"k": "u", "s": 1, "m": 2}, links.UNSUBSCRIBE),  # not a list
    (["u", 1], links.UNSUBSCRIBE),  # too short
    (["c", 1, 2, "https://shop.example/", "more"], links.CLICK),  # too long
    (["u", 1, 2], links.OPEN),  # another kind
    (["u", True, 2], links.UNSUBSCRIBE),  # a boolean is not an id
    (["u", 1, "2"], links.UNSUBSCRIBE),  # nor is a string
    (["c", 1, 2], links.CLICK),  # a click without its target
    (["u", 1, 2, "https://shop.example/"], links.UNSUBSCRIBE),  # a target on another kind
], ids=["dict", "short", "long", "kind", "bool", "string", "click-no-url", "url-on-unsubscribe"])
def test_a_token_signed_with_our_key_but_not_of_our_making_reads_as_nothing(app, data, kind):
    assert links.read_token(signed(data), kind) is None


def test_a_token_names_its_store_message_and_target_and_nothing_more(app):
    """Links in sent mail outlive releases: the payload stays [kind, store, message(, url)]."""
    click = links.make_token(links.CLICK, 3, 4, "https://shop.example/p")
    unsubscribe = links.make_token(links.UNSUBSCRIBE, 3, 4)
    assert links.read_token(click, links.CLICK) == links.Link(3, 4, "https://shop.example/p")
    assert links.read_token(unsubscribe, links.UNSUBSCRIBE) == links.Link(3, 4, None)
    assert links.signer.serializer().loads(unsubscribe) == [links.UNSUBSCRIBE, 3, 4]


def test_a_link_older_than_its_lifetime_reads_as_nothing(app, monkeypatch):
    from itsdangerous.timed import TimestampSigner

    made_at = int(datetime.now(timezone.utc).timestamp() - links.LINK_MAX_AGE.total_seconds())
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: made_at - 60)
    old = links.make_token(links.UNSUBSCRIBE, 3, 4)
    monkeypatch.undo()
    assert links.read_token(old, links.UNSUBSCRIBE) is None


def test_links_are_made_under_base_url_whatever_its_trailing_slash():
    signer = links.LinkSigner()
    signer.bind("secret", "https://mail.example/STOREFLOWX/")
    assert signer.base_url == "https://mail.example/STOREFLOWX"
