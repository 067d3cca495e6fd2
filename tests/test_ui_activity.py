"""The Activity page through Flask's test client: which of the store's emails it lists and in
what order, and, for a searched address, that customer's emails, orders, timeline and the emails
coming up, never another customer's or another store's."""
from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from app.core import clock
from app.core.db import db
from app.demo.payloads import consent_update
from app.mail import links
from app.models import Customer, FlowRun, Message, Order, TimelineEntry
from app.web.ui import auth
from flows.catalog import FLOWS
from tests.mail_helpers import sent_message
from tests.ui_helpers import ANA, add_customer, connect_rival, customers_sharing, sign_in

NOW = clock.now().replace(microsecond=0)
BEN = "ben@example.com"
JOHN, JOHN_ID = "john@example.com", 115310627314723954  # the customer of Shopify's samples


@pytest.fixture
def rival(app):
    return connect_rival()


def mail(store_id: int, email: str, at, status: str = "sent", subject: str = "Hello") -> int:
    """An email of the store's outbox to `email`, created at `at`; its id."""
    with db.session() as session:
        row = Message(store_id=store_id, email=email, flow="post_purchase", step="thank_you",
                      template="post_purchase/thank_you", context={}, marketing=True,
                      status=status, subject=subject, created_at=at,
                      message_id=f"<{store_id}-{email}-{at.timestamp()}-{status}@storeflow.test>")
        session.add(row)
        session.flush()
        return row.id


def order(store_id: int, customer_id: int, name: str, at) -> None:
    with db.session() as session:
        session.add(Order(store_id=store_id, platform_id=abs(hash((store_id, name))) % 10**9,
                          customer_id=customer_id, name=name, currency="USD",
                          total_price=Decimal("20.00"), discount_codes=[], placed_at=at,
                          source_updated_at=at))


def listed(page: str) -> list[int]:
    """The ids of the emails a page lists, top to bottom."""
    return [int(i) for i in re.findall(r'href="/app/activity/messages/(\d+)"', page)]


def section(page: str, heading: str) -> str:
    """The text of the card whose heading is `heading`, one space between words."""
    start = page.index(f"<h2>{heading}")
    card = page[start:page.index("</section>", start)]
    return " ".join(re.sub(r"<[^>]+>", " ", card).split())


# --- recent emails -------------------------------------------------------------------------

def test_recent_emails_are_this_stores_newest_fifty_newest_first(client, shop, rival,
                                                                storeflow):
    """The merchant sees their own latest emails at the top, even when rows were written out
    of order (an import, a retry), and the page stays one screen of 50."""
    # Written newest first, so that ids run against time; the rival's mail is newer still.
    mine = [mail(shop.id, f"c{i}@example.com", NOW - timedelta(minutes=i)) for i in range(52)]
    mail(rival.id, ANA, NOW + timedelta(hours=1))
    sign_in(client, storeflow, shop.id)

    assert listed(client.get("/app/activity").text) == mine[:50]


def test_emails_queued_in_the_same_moment_list_the_later_queued_first(client, shop,
                                                                       storeflow):
    """Emails queued in one moment keep a stable order, the last one queued on top, however
    they were sent afterwards."""
    same = [mail(shop.id, f"c{i}@example.com", NOW, status="queued") for i in range(4)]
    with db.session() as session:
        session.get(Message, same[0]).status = "sent"
    sign_in(client, storeflow, shop.id)

    assert listed(client.get("/app/activity").text) == same[::-1]


def test_the_status_filter_lists_only_emails_with_that_status(client, shop, storeflow):
    """Filtering by status (say, failed) shows just those emails; no filter, or one the page
    does not offer, shows them all."""
    ids = {status: mail(shop.id, ANA, NOW - timedelta(minutes=n), status=status)
           for n, status in enumerate(("sent", "queued", "cancelled", "failed"))}
    sign_in(client, storeflow, shop.id)

    for status, message_id in ids.items():
        assert listed(client.get(f"/app/activity?status={status}").text) == [message_id]
    everything = list(ids.values())
    assert listed(client.get("/app/activity").text) == everything
    assert listed(client.get("/app/activity?status=bogus").text) == everything


# --- one customer --------------------------------------------------------------------------

def test_a_searched_address_shows_that_customers_emails_and_orders_only(client, shop, rival,
                                                                        storeflow):
    """Searching Ben (typed in any case) shows Ben's emails and orders, newest first, and
    nothing of Ana or of the other store's Ben."""
    ana, ben = add_customer(shop.id, ANA, 1, "Ana"), add_customer(shop.id, BEN, 2, "Ben")
    their_ben = add_customer(rival.id, BEN, 2, "Ben")
    # Written oldest first for one, newest first for the other: the page orders by time.
    bens = [mail(shop.id, BEN, NOW - timedelta(days=d)) for d in (3, 1, 2)]
    mail(shop.id, ANA, NOW)
    mail(rival.id, BEN, NOW + timedelta(hours=1))
    for name, days in (("#1001", 9), ("#1003", 2), ("#1002", 5)):
        order(shop.id, ben, name, NOW - timedelta(days=days))
    order(shop.id, ana, "#1004", NOW)
    order(rival.id, their_ben, "#1005", NOW)
    order(rival.id, ben, "#1006", NOW)  # naming this store's Ben, as a faulty import could
    sign_in(client, storeflow, shop.id)

    page = client.get("/app/activity?email=+Ben@Example.COM+").text

    assert "<h2>Ben</h2>" in page and "Ana" not in page
    assert listed(page) == [bens[1], bens[2], bens[0]]
    assert section(page, "Orders") == "Orders #1003 {} #1002 {} #1001 {}".format(
        *(f"{(NOW - timedelta(days=d)):%b %-d, %Y} $20.00" for d in (2, 5, 9)))


def test_a_customers_page_lists_their_fifty_newest_emails_and_ten_newest_orders(
        client, shop, storeflow):
    """A long-standing customer's page stays short: 50 emails, 10 orders and a "10+"."""
    ana = add_customer(shop.id, ANA, 1, "Ana")
    emails = [mail(shop.id, ANA, NOW - timedelta(hours=h)) for h in range(51)]
    for n in range(11):
        order(shop.id, ana, f"#{1000 + n}", NOW - timedelta(days=n))
    sign_in(client, storeflow, shop.id)

    page = client.get(f"/app/activity?email={ANA}").text

    assert listed(page) == emails[:50]
    assert "<dt>Orders</dt><dd>10+</dd>" in page and "<dt>Emails</dt><dd>50</dd>" in page
    assert "#1009" in page and "#1010" not in page


def test_an_address_shared_by_customers_shows_the_oldest_platform_customer(client, shop,
                                                                            storeflow):
    """A shopper known first by the address typed at the shop front, and as two Shopify
    customers (one changed its address to hers): the page shows the oldest Shopify one."""
    customers_sharing(shop.id, ANA)
    sign_in(client, storeflow, shop.id)

    page = client.get(f"/app/activity?email={ANA}").text

    assert "<h2>Older</h2>" in page and "Typed" not in page and "Newer" not in page


def test_a_customers_timeline_shows_their_decisions_newest_first(client, shop, rival,
                                                                  storeflow):
    """Why Ana got (or did not get) each email, latest decision on top; Ben's and the other
    store's decisions stay out of it."""
    ana, ben = add_customer(shop.id, ANA, 1, "Ana"), add_customer(shop.id, BEN, 2, "Ben")
    their_ana = add_customer(rival.id, ANA, 1, "Ana")
    with db.session() as session:
        for customer_id, store_id, detail, hours in (
                (ana, shop.id, "checkout 700", 3), (ana, shop.id, "quiet hours", 2),
                (ana, shop.id, "message queued", 1), (ben, shop.id, "Ben's decision", 0),
                (their_ana, rival.id, "the rival's decision", 0)):
            session.add(TimelineEntry(store_id=store_id, customer_id=customer_id, run_id=None,
                                      flow="abandoned_checkout", step=None, kind="enrolled",
                                      detail=detail, at=NOW - timedelta(hours=hours)))
    sign_in(client, storeflow, shop.id)

    page = client.get(f"/app/activity?email={ANA}").text

    details = re.findall(r'<div class="tl-detail">(.*?)</div>', page)
    assert details == ["message queued", "quiet hours", "checkout 700"]


def test_a_customers_page_shows_the_emails_coming_up_for_them(client, shop, storeflow):
    """A run under way for Ana shows its next email and when it is due."""
    ana = add_customer(shop.id, ANA, 1, "Ana")
    flow = FLOWS["post_purchase"]
    due = NOW + timedelta(hours=1)
    with db.session() as session:
        session.add(FlowRun(store_id=shop.id, flow=flow.name, version=flow.version,
                            customer_id=ana, subject="order", subject_id=1, status="active",
                            step=0, triggered_at=NOW, anchor_at=NOW, due_at=due, settings={},
                            data={}))
    sign_in(client, storeflow, shop.id)

    page = client.get(f"/app/activity?email={ANA}").text

    assert section(page, "Coming up").startswith("Coming up flows under way for Ana Post-purchase"
                                                 " Thank you")
    assert f'<time datetime="{due.isoformat()}">' in page


# --- pages beyond the newest 50 ------------------------------------------------------------

def pager(page: str) -> dict[str, str]:
    """The page's Newer / Older links, by their words."""
    return {words.strip("←→ "): href.replace("&amp;", "&") for href, words in re.findall(
        r'<a class="btn btn-ghost" rel="(?:prev|next)" href="([^"]+)">([^<]+)</a>', page)}


def test_older_and_newer_links_walk_every_email_of_the_store_a_page_at_a_time(
        client, shop, rival, storeflow):
    """120 emails are three pages of the store's own mail, newest first; Older and Newer walk
    them without skipping or repeating one, emails queued in one moment included."""
    mine = [mail(shop.id, f"c{i}@example.com", NOW - timedelta(minutes=i // 3)) for i in range(120)]
    # Three to a moment: the later queued of each three on top.
    newest_first = [mine[moment * 3 + k] for moment in range(40) for k in (2, 1, 0)]
    mail(rival.id, ANA, NOW + timedelta(hours=1))
    mail(rival.id, ANA, NOW - timedelta(days=1))
    sign_in(client, storeflow, shop.id)

    first = client.get("/app/activity").text
    assert listed(first) == newest_first[:50] and set(pager(first)) == {"Older"}
    second = client.get(pager(first)["Older"]).text
    assert listed(second) == newest_first[50:100] and set(pager(second)) == {"Newer", "Older"}
    third = client.get(pager(second)["Older"]).text
    assert listed(third) == newest_first[100:] and set(pager(third)) == {"Newer"}
    back = client.get(pager(third)["Newer"]).text
    assert listed(back) == newest_first[50:100]
    assert listed(client.get(pager(back)["Newer"]).text) == newest_first[:50]


def test_paging_keeps_the_status_filter_and_ignores_another_stores_email_as_a_cursor(
        client, shop, rival, storeflow):
    """Older pages of failed emails list failed emails only; a cursor naming the other store's
    email shows this store's newest page, nothing of the other store's."""
    failed = [mail(shop.id, ANA, NOW - timedelta(minutes=2 * i), status="failed") for i in range(55)]
    for i in range(10):
        mail(shop.id, ANA, NOW - timedelta(minutes=2 * i + 1))
    theirs = mail(rival.id, ANA, NOW - timedelta(days=2))
    sign_in(client, storeflow, shop.id)

    first = client.get("/app/activity?status=failed").text
    assert "status=failed" in pager(first)["Older"]
    assert listed(client.get(pager(first)["Older"]).text) == failed[50:]
    for cursor in (f"older_than={theirs}", f"newer_than={theirs}", "older_than=99999999999999999999",
                   "older_than=x"):
        page = client.get(f"/app/activity?status=failed&{cursor}").text
        assert listed(page) == failed[:50], cursor


# --- finding a customer --------------------------------------------------------------------

def matches(page: str) -> list[str]:
    """The addresses of the customers a search lists."""
    listing = page.split('class="plain-list card-pad matches"')[1].split("</ul>")[0]
    return re.findall(r'<a href="/app/activity\?email=([^"]+)">', listing)


def test_a_customer_is_found_by_part_of_their_address_or_name_in_any_case(client, shop, rival,
                                                                          storeflow):
    """"BEN", "okaf", "ben oka" and "@example.org" find the store's customers whose address or
    name holds them; the other store's customers never show."""
    for n, (email, first, last) in enumerate((
            ("ben@example.com", "Ben", "Okafor"), ("bened@example.org", "Benedict", None),
            (ANA, "Ana", "Ruiz"), ("x@example.net", None, None))):
        with db.session() as session:
            session.add(Customer(store_id=shop.id, email=email, platform_id=n + 1,
                                 first_name=first, last_name=last, tags=[]))
    add_customer(rival.id, "ben.rival@example.com", 1, "Ben")
    sign_in(client, storeflow, shop.id)

    def search(text: str) -> list[str]:
        page = client.get("/app/activity", query_string={"email": text}).text
        return matches(page) if "matches" in page else []

    assert search("BEN") == ["ben@example.com", "bened@example.org"]
    assert search("okaf") == search("ben oka") == ["ben@example.com"]
    assert search("@example.org") == ["bened@example.org"]
    assert "Customers matching" in client.get("/app/activity?email=ben").text
    # An exact address opens the customer, as a link from an email does.
    assert "<h2>Ben Okafor</h2>" in client.get("/app/activity?email=BEN@example.com").text


def test_percent_and_underscore_typed_in_a_search_are_plain_characters(client, shop, storeflow):
    """`_` finds only a name with an underscore, `%` nobody: they are not LIKE's wildcards."""
    add_customer(shop.id, "jo@example.com", 1, "Jo_Ann")
    add_customer(shop.id, ANA, 2, "Ana")
    sign_in(client, storeflow, shop.id)

    assert matches(client.get("/app/activity?email=_").text) == ["jo@example.com"]
    page = client.get("/app/activity?email=%25").text
    assert "No customer with an address or name like <strong>%</strong>" in page


# --- the timeline in the merchant's words ---------------------------------------------------

def told(page: str) -> list[tuple[str, str]]:
    """The customer's timeline, newest first: (kind, what it says)."""
    return [(kind, html.unescape(" ".join(re.sub(r"<[^>]+>", " ", detail).split())))
            for kind, detail in
            re.findall(r'<li class="tl tl-(\w+)">.*?<div class="tl-detail">(.*?)</div>', page, re.S)]


def test_stored_reasons_read_as_sentences_on_the_timeline(client, shop, storeflow):
    """The short reasons the engine stores (and tests and reports count by) are shown in the
    merchant's words; one no table knows is shown as it is."""
    ana = add_customer(shop.id, ANA, 1, "Ana")
    with db.session() as session:
        for hours, (flow, kind, detail) in enumerate((
                ("abandoned_cart", "not_enrolled", "not at cart"),
                ("abandoned_cart", "not_enrolled", "in the abandoned-checkout flow"),
                ("abandoned_checkout", "exited", "stale: quiet hours held email_2 past its relevance"),
                ("abandoned_checkout", "exited", "suppressed: hard_bounce"),
                ("order_updates", "exited", "gave up waiting: delivered"),
                ("welcome", "exited", "a reason no table knows"))):
            session.add(TimelineEntry(store_id=shop.id, customer_id=ana, run_id=None, flow=flow,
                                      step=None, kind=kind, detail=detail,
                                      at=NOW - timedelta(hours=10 - hours)))
    sign_in(client, storeflow, shop.id)

    assert told(client.get(f"/app/activity?email={ANA}").text)[::-1] == [
        ("not_enrolled", "reached checkout (the checkout flow's turn)"),
        ("not_enrolled", "already in the abandoned-checkout flow"),
        ("exited", "quiet hours held email 2 past its relevance"),
        ("exited", "the address bounced: no more email to it"),
        ("exited", "the order was not delivered in time"),
        ("exited", "a reason no table knows")]


def test_consent_changes_and_an_unsubscribe_are_on_the_customers_timeline(
        client, shop, storeflow, webhooks, run_jobs, smtp_sink):
    """John subscribed at Shopify, got an email and unsubscribed with its link: his page says
    each, in words."""
    webhooks.deliver("customers_email_marketing_consent/update", consent_update(JOHN_ID, JOHN))
    message_id = sent_message(shop, webhooks, run_jobs, email=JOHN)
    with db.session() as session:
        unsubscribe = urlsplit(links.unsubscribe_url(session.get(Message, message_id))).path
    with clock.frozen_at(clock.now()):  # the stop and the consent change in the same moment
        assert client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    run_jobs()  # the consent change follows in the ingest of the stored unsubscribe
    # Signed in without `storeflow login-link`, which would move this process's mail to the
    # dev inbox under the test's SMTP server.
    client.get(f"/app/login/{auth.login_token(shop.id)}")

    lines = told(client.get(f"/app/activity?email={JOHN}").text)

    assert lines[:3] == [
        ("stopped", "unsubscribed: no more marketing email to this address"),
        ("consent", "unsubscribed from marketing email, with the unsubscribe link in an email"),
        ("consent", "subscribed to marketing email, as Shopify reported")]


def test_why_an_email_was_cancelled_reads_in_words_in_the_list_and_on_its_page(client, shop,
                                                                               storeflow):
    cancelled = mail(shop.id, ANA, NOW, status="cancelled")
    with db.session() as session:
        session.get(Message, cancelled).reason = "flow exited: ordered"
    sign_in(client, storeflow, shop.id)

    said = "the flow stopped: bought before the email was due"
    assert f'<div class="hint truncate">{said}</div>' in client.get("/app/activity").text
    assert f"<dt>Why</dt><dd>{said}</dd>" in client.get(f"/app/activity/messages/{cancelled}").text
