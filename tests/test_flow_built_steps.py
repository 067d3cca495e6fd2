"""Merchant-built flows' further steps (issue 17): a random split, waits until a weekday and
time in the customer's own zone or until a condition, a signed webhook, a note to the store's
staff, and segment triggers; each run by the engine through signed webhooks and a real worker,
both of its outcomes, and each refused where the input is wrong."""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from app.core import clock
from app.core.db import db
from app import flow_webhooks
from app.audiences import segments
from app.models import Customer, FlowRun, Order, Store
from app.sync import writeback
from connectors import netguard
from flows import choices, document, library
from flows.execute import split_side
from flows.localtime import next_weekly
from tests.flow_helpers import (DAY, HOUR, MINUTE, SAMPLE_TIME, Person, at, customer, enable,
                                messages, move_to, order_sample, runs, timeline)
from tests.test_flow_built import john_buys, problems, tags
from tests.helpers import SHOP, published
from tests.https_receiver import Receiver
from tests.test_flow_lifecycle import BUYER, BUYER_EMAIL, place_order

SEND = {"subject": "Hi", "body": "Hello."}


def built(name: str, event: str, *steps, **top) -> dict:
    return {"format": 1, "name": name, "title": name.replace("_", " ").capitalize(),
            "consent": "marketing", "trigger": {"event": event}, "steps": list(steps), **top}


def switch_on(shop, flow: dict) -> None:
    """Store the checked document and switch it on as `flows import` and `flows enable` do
    (in the test's own process: the CLI would rebind the mail transport mid-test)."""
    enable(shop.id)
    with db.session() as session:
        saved = library.save(session, shop.id, document.check(flow), actor="test")
        choices.save(session, shop.id, library.compiled(session, shop.id, saved.name,
                                                        saved.version),
                     actor="test", enabled=True)


def john_pays(webhooks, run_jobs, when=SAMPLE_TIME + HOUR) -> None:
    """The published order turns paid: `order_paid` for its run."""
    with at(when):
        webhooks.deliver("orders/updated", order_sample(
            SAMPLE_TIME, financial_status="paid", updated_at=when.isoformat()))
        run_jobs()


def johns_order() -> tuple[int, int]:
    with db.session() as session:
        order = session.execute(select(Order)).scalar_one()
        return order.customer_id, order.id


# --- split ---------------------------------------------------------------------------------

AB = "ab_thanks"


def test_a_tag_the_flow_takes_away_is_taken_away_in_shopify_too(
        shop, webhooks, run_jobs, smtp_sink, shopify):
    switch_on(shop, built("first_week", "order_placed",
                          {"id": "give", "tag": {"add": "first_week"}},
                          {"id": "week", "wait": {"days": 7}},
                          {"id": "take", "tag": {"remove": "first_week"}}))
    john_buys(webhooks, run_jobs)
    assert "first_week" in tags()

    move_to(SAMPLE_TIME + 8 * DAY, run_jobs)

    assert "first_week" not in tags()
    customer_gid = f"gid://shopify/Customer/{BUYER}"
    assert shopify.tags_added[SHOP] == [(customer_gid, ["first_week"])]
    assert shopify.tags_removed[SHOP] == [(customer_gid, ["first_week"])]


def test_a_tag_job_writes_the_tag_as_the_customer_has_it_when_it_runs(
        shop, webhooks, run_jobs, smtp_sink, shopify):
    """An add and a remove queued close together (or retried out of order) end as the later:
    each job reads our customer's tags when it runs."""
    john_buys(webhooks, run_jobs)
    with db.session() as session:
        john = session.execute(select(Customer).where(Customer.platform_id == BUYER)).scalar_one()
        john.tags, john_id = [], john.id
    writeback.tag(shop.id, john_id, "vip")  # queued when vip was given; run after it was taken

    assert shopify.tags_added[SHOP] == []
    assert shopify.tags_removed[SHOP] == [(f"gid://shopify/Customer/{BUYER}", ["vip"])]


def test_a_tag_the_store_gives_a_known_customer_starts_the_flows_on_that_tag(
        shop, webhooks, run_jobs, smtp_sink):
    """Bob (the published customers/update) is tagged in Shopify: the flow on that tag starts
    once, the flow on another tag does not, and the tags of his first record start nothing."""
    note = {"id": "note", "send": SEND}
    switch_on(shop, built("vip_hello", "tag_added", note, consent="transactional",
                          trigger={"event": "tag_added", "tag": "vip"}))
    switch_on(shop, built("wholesale_hello", "tag_added", note, consent="transactional",
                          trigger={"event": "tag_added", "tag": "wholesale"}))
    bob = published("shopify/customers_update.json")
    for day, tags in ((5, "early"), (6, "early, vip"), (7, "vip, early")):
        webhooks.deliver("customers/update", bob | {"tags": tags,
                                                    "updated_at": f"2022-01-0{day}T10:00:00Z"})
        run_jobs()

    assert [m.flow for m in messages()] == ["vip_hello"]
    assert runs("wholesale_hello") == []
    bob_first = bob | {"id": bob["id"] + 1, "email": "rob@biller.com", "tags": "vip"}
    webhooks.deliver("customers/update", bob_first)
    run_jobs()
    assert len(runs("vip_hello")) == 1


def test_a_tag_trigger_names_its_tag_and_only_it_does():
    no_tag = built("t", "tag_added", {"id": "n", "send": SEND})
    assert problems(no_tag) == [("/trigger/tag", "tag_added names its tag (\"tag\": the tag); "
                                                 "other triggers do not")]
    stray = built("t", "order_placed", {"id": "n", "send": SEND},
                  trigger={"event": "order_placed", "tag": "vip"})
    assert [pointer for pointer, _ in problems(stray)] == ["/trigger/tag"]


def ab_flow(name: str, split_id: str) -> dict:
    return built(name, "order_paid", {"id": split_id, "split": [
        {"percent": 50, "steps": [
            {"id": "thanks_a", "send": {"subject": "A: thank you", "body": "Side A."}},
            {"id": "wait_a", "wait": {"hours": 24}},
            {"id": "clicked_a", "if": {"var": "run.steps.thanks_a.sent"},
             "then": [{"id": "tag_a", "tag": {"add": "saw_a"}}]}]},
        {"percent": 50, "steps": [
            {"id": "thanks_b", "send": {"subject": "B: thanks a lot", "body": "Side B."}}]},
    ]})


def split_id_landing(flow: str, customer_id: int, order_id: int, side: int) -> str:
    """A split id on which John's paid order lands on `side` of a 50/50 split (the side is a
    hash of the run, so the test names the split to know it in advance)."""
    for n in range(200):
        run = FlowRun(flow=flow, customer_id=customer_id, subject="order", subject_id=order_id)
        if split_side(run, f"ab{n}", (50, 50)) == side:
            return f"ab{n}"
    raise AssertionError("no split id lands there")


@pytest.mark.parametrize("side, subject, step, tagged", [
    (0, "A: thank you", "thanks_a", True),
    (1, "B: thanks a lot", "thanks_b", False),
])
def test_a_split_sends_only_the_side_the_run_drew_and_says_so(
        shop, webhooks, run_jobs, smtp_sink, side, subject, step, tagged):
    flow = f"{AB}_{side}"  # compiled flows are kept by (store, name, version)
    john_buys(webhooks, run_jobs)
    split_id = split_id_landing(flow, *johns_order(), side)
    switch_on(shop, ab_flow(flow, split_id))
    john_pays(webhooks, run_jobs)
    move_to(SAMPLE_TIME + 26 * HOUR, run_jobs)

    assert [m["Subject"] for m in smtp_sink.to(BUYER_EMAIL)] == [subject]
    assert [m.step for m in messages(flow)] == [step]  # each side's mail counts under its ids
    assert ("saw_a" in tags()) is tagged
    assert ("branched", split_id, f"split: side {side + 1} of 2 (50%)") in timeline(
        shop.id, BUYER_EMAIL)
    [run] = runs(flow)
    assert run.status == "completed" and run.data["branches"][split_id] == side


def test_a_split_draws_by_the_run_always_the_same_and_in_its_proportions():
    def side(customer_id: int, subject_id: int) -> int:
        run = FlowRun(flow=AB, customer_id=customer_id, subject="order", subject_id=subject_id)
        return split_side(run, "ab", (30, 70))
    drawn = [side(customer, customer * 7) for customer in range(4000)]
    assert drawn == [side(customer, customer * 7) for customer in range(4000)]
    assert 1080 <= drawn.count(0) <= 1320  # 30 % of 4000, give or take a few points


@pytest.mark.parametrize("split, pointer, says", [
    ([{"percent": 50, "steps": [{"id": "a", "send": SEND}]},
      {"percent": 40, "steps": [{"id": "b", "send": SEND}]}], "/steps/0/split", "add up to 100"),
    ([{"percent": 100, "steps": [{"id": "a", "send": SEND}]}], "/steps/0/split", "too short"),
    ([{"percent": 50, "steps": [{"id": "a", "send": SEND}]},
      {"percent": 50, "steps": [{"id": "b", "if": {"var": "run.steps.a.opened"},
                                 "then": [{"id": "c", "send": SEND}]}]}],
     "/steps/0/split/1/steps/0/if", "not an email earlier on this path"),
    ([{"percent": 50, "steps": [{"id": "a", "send": SEND}]},
      {"percent": 50, "steps": [{"id": "a", "send": SEND}]}], "/steps/0/split/1/steps/0/id",
     "used twice"),
])
def test_a_bad_split_is_refused_naming_the_part(split, pointer, says):
    found = problems(built("bad", "order_placed", {"id": "ab", "split": split}))
    assert any(p == pointer and says in reason for p, reason in found), found


def test_an_email_before_the_split_may_be_read_on_every_side():
    document.check(built("fine", "order_placed", {"id": "first", "send": SEND}, {
        "id": "ab", "split": [
            {"percent": 50, "steps": [{"id": "a", "if": {"var": "run.steps.first.opened"},
                                       "then": [{"id": "t", "tag": {"add": "x"}}]}]},
            {"percent": 50, "steps": [{"id": "b", "send": SEND}]}]}))


# --- waits ---------------------------------------------------------------------------------

def john_buys_living_in(webhooks, run_jobs, country: str, **changes) -> None:
    """John, his address in `country`, places the published order at SAMPLE_TIME (a Saturday,
    midnight UTC)."""
    with at(SAMPLE_TIME):
        webhooks.deliver("customers/create", customer(
            Person(BUYER, "John", "Smith", BUYER_EMAIL, country=country), SAMPLE_TIME))
    place_order(webhooks, run_jobs, **changes)


TUESDAY = built("tuesday_hello", "order_placed",
                {"id": "tuesday", "wait": {"until": {"weekday": "tuesday", "time": "10:00"}}},
                {"id": "hello", "send": {"subject": "Tuesday hello", "body": "Hi."}})


@pytest.mark.parametrize("country, due", [
    ("JP", datetime(2022, 1, 4, 1, 0, tzinfo=timezone.utc)),  # 10:00 in Tokyo
    ("US", datetime(2022, 1, 4, 10, 0, tzinfo=timezone.utc)),  # no state: the store's zone, UTC
])
def test_a_wait_until_tuesday_at_ten_sends_at_ten_on_the_customers_clock(
        shop, webhooks, run_jobs, smtp_sink, country, due):
    switch_on(shop, {**TUESDAY, "name": f"tuesday_{country.lower()}"})
    john_buys_living_in(webhooks, run_jobs, country)

    move_to(due - MINUTE, run_jobs)
    assert smtp_sink.to(BUYER_EMAIL) == []
    move_to(due, run_jobs)
    assert [m["Subject"] for m in smtp_sink.to(BUYER_EMAIL)] == ["Tuesday hello"]


def test_the_next_weekday_and_time_is_strictly_after_and_keeps_the_wall_clock_over_dst():
    tokyo, new_york = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York")
    tuesday_ten = datetime(2022, 1, 4, 1, 0, tzinfo=timezone.utc)
    assert next_weekly(tuesday_ten - MINUTE, tokyo, 1, time(10)) == tuesday_ten
    assert next_weekly(tuesday_ten, tokyo, 1, time(10)) == tuesday_ten + 7 * DAY
    # New York moves its clocks on Sunday 13 March 2022: Tuesday 10:00 is 14:00 UTC after it.
    assert next_weekly(datetime(2022, 3, 12, tzinfo=timezone.utc), new_york, 1, time(10)) == (
        datetime(2022, 3, 15, 14, 0, tzinfo=timezone.utc))


FIRST_ORDER = built("first_order", "customer_created", {
    "id": "ordered", "wait_until": {"condition": {">": [{"var": "customer.orders_count"}, 0]},
                                    "timeout": {"days": 2}}},
    {"id": "welcome", "send": {"subject": "Welcome, buyer", "body": "Glad you came."}},
    consent="transactional")


def test_wait_until_goes_on_the_moment_an_event_makes_its_condition_true(
        shop, webhooks, run_jobs, smtp_sink):
    switch_on(shop, FIRST_ORDER)
    john_buys(webhooks, run_jobs, financial_status="paid")  # the order's event wakes the run

    assert [m["Subject"] for m in smtp_sink.to(BUYER_EMAIL)] == ["Welcome, buyer"]
    assert [r.status for r in runs("first_order")] == ["completed"]


@pytest.mark.parametrize("on_timeout, sent, outcome", [
    ("continue", ["Welcome, buyer"], ("completed", None)),
    ("exit", [], ("exited", "gave up waiting: ordered")),
])
def test_wait_until_at_its_timeout_goes_on_or_ends_the_run_as_it_says(
        shop, webhooks, run_jobs, smtp_sink, on_timeout, sent, outcome):
    flow = copy.deepcopy(FIRST_ORDER)
    flow["name"] = f"first_order_{on_timeout}"
    flow["steps"][0]["wait_until"]["on_timeout"] = on_timeout
    switch_on(shop, flow)
    with at(SAMPLE_TIME):
        webhooks.deliver("customers/create",
                         customer(Person(BUYER, "John", "Smith", BUYER_EMAIL), SAMPLE_TIME))
        run_jobs()

    move_to(SAMPLE_TIME + 2 * DAY - MINUTE, run_jobs)
    assert [r.status for r in runs(flow["name"])] == ["active"]
    move_to(SAMPLE_TIME + 2 * DAY, run_jobs)
    assert [m["Subject"] for m in smtp_sink.to(BUYER_EMAIL)] == sent
    assert [(r.status, r.outcome) for r in runs(flow["name"])] == [outcome]


@pytest.mark.parametrize("step, pointer, says", [
    ({"id": "w", "wait": {"until": {"weekday": "someday", "time": "10:00"}}},
     "/steps/0/wait/until/weekday", "is not one of"),
    ({"id": "w", "wait": {"until": {"weekday": "monday", "time": "25:00"}}},
     "/steps/0/wait/until/time", "does not match"),
    ({"id": "w", "wait_until": {"condition": True}}, "/steps/0/wait_until", "'timeout' is a required"),
    ({"id": "w", "wait_until": {"condition": True, "timeout": {"days": 400}}},
     "/steps/0/wait_until/timeout/days", "366"),
    ({"id": "w", "wait_until": {"condition": True, "timeout": {"days": 1}, "on_timeout": "retry"}},
     "/steps/0/wait_until/on_timeout", "is not one of"),
    ({"id": "w", "wait_until": {"condition": {"var": "customer.vip_level"}, "timeout": {"days": 1}}},
     "/steps/0/wait_until/condition", "unknown variable"),
    ({"id": "w", "wait_until": {"condition": {"var": "run.steps.later.opened"},
                                "timeout": {"days": 1}}},
     "/steps/0/wait_until/condition", "not an email earlier on this path"),
])
def test_a_bad_wait_is_refused_naming_the_part(step, pointer, says):
    found = problems(built("bad", "order_placed", step, {"id": "later", "send": SEND}))
    assert any(p == pointer and says in reason for p, reason in found), found


# --- webhook -------------------------------------------------------------------------------

@pytest.fixture
def receiver(tmp_path, monkeypatch):
    """The merchant's receiver on loopback, reachable as ALLOW_PRIVATE_ADDRESSES=1 would allow,
    its certificate trusted as a public CA's would be."""
    found = Receiver(tmp_path).start()
    monkeypatch.setattr(netguard.policy, "allow_private", True)
    monkeypatch.setattr(flow_webhooks, "TRUSTED_CAS", str(found.ca))
    yield found
    found.stop()


def hook_flow(name: str, url: str) -> dict:
    return built(name, "order_placed", {"id": "tell_crm", "webhook": {"url": url}},
                 consent="transactional")


def test_a_webhook_posts_the_run_signed_with_the_stores_secret(
        shop, storeflow, webhooks, run_jobs, receiver):
    switch_on(shop, hook_flow("crm_hook", receiver.url))
    john_buys(webhooks, run_jobs)

    [(headers, body)] = receiver.received
    secret = storeflow("flows", "webhook-secret", "--store", shop.domain).output.strip()
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Storeflow-Signature"] == expected
    assert headers["Content-Type"] == "application/json"
    customer_id, order_id = johns_order()
    [run] = runs("crm_hook")
    sent = json.loads(body)
    assert {k: v for k, v in sent.items() if k != "at"} == {
        "flow": "crm_hook", "version": 1, "step": "tell_crm", "run_id": run.id,
        "customer": {"id": customer_id, "email": BUYER_EMAIL}, "store": shop.domain,
        "subject": {"kind": "order", "id": order_id}}
    assert run.status == "completed"
    assert ("called", "tell_crm", "webhook to 127.0.0.1") in timeline(shop.id, BUYER_EMAIL)
    # The secret is encrypted at rest: the column holds no trace of it.
    with db.session() as session:
        stored = session.execute(text("SELECT outbound_secret FROM stores WHERE id = :id"),
                                 {"id": shop.id}).scalar_one()
    assert secret not in stored


def test_a_webhook_to_an_internal_address_is_refused_when_it_is_sent(
        shop, webhooks, run_jobs, receiver, monkeypatch, caplog):
    switch_on(shop, hook_flow("crm_hook", receiver.url))  # imported where loopback was allowed
    monkeypatch.setattr(netguard.policy, "allow_private", False)  # production
    john_buys(webhooks, run_jobs)

    assert receiver.received == []
    assert "flow webhook refused: 127.0.0.1 resolves to a non-public address" in caplog.text
    assert [r.status for r in runs("crm_hook")] == ["completed"]


def test_a_receiver_that_is_down_is_tried_again_and_a_refusal_is_not(shop, receiver):
    receiver.statuses.extend([503, 404])
    with pytest.raises(flow_webhooks.WebhookFailed, match="HTTP 503"):  # the job's retry
        flow_webhooks.post(shop.id, receiver.url, "{}")
    assert flow_webhooks.post(shop.id, receiver.url, "{}") == "404"  # final


@pytest.mark.parametrize("url, says", [
    ("http://hooks.example.com/x", "does not match"),
    ("https://127.0.0.1/x", "not on the public internet"),
    ("https://169.254.169.254/latest/meta-data", "not on the public internet"),
    ("https://[::ffff:7f00:1]/x", "not on the public internet"),
    ("https://localhost:6379/", "not on the public internet"),
    ("https://admin:hunter2@hooks.example.com/x", "no user or password"),
    ("https://hooks.example.com:notaport/x", "not a URL"),
])
def test_a_webhook_to_anywhere_but_a_public_https_address_is_refused_at_import(url, says):
    found = problems(hook_flow("bad", url))
    assert any(p == "/steps/0/webhook/url" and says in reason for p, reason in found), found


# --- notify --------------------------------------------------------------------------------

STAFF = "orders@fernhill.example"
NOTE = built("big_order_note", "order_placed", {"id": "tell_staff", "notify": {
    "subject": "Big order from {{ first_name }}",
    "body": "{{ first_name }} ({{ customer_email }}) just ordered at {{ store_name }}."}},
    consent="transactional")


def store_settings(shop, **changes) -> None:
    with db.session() as session:
        store = session.get(Store, shop.id)
        store.settings = {**store.settings, **changes}


@pytest.mark.parametrize("settings", [{"reply_to": STAFF},
                                      {"from_email": STAFF},
                                      {"reply_to": STAFF, "from_email": "shop@fernhill.example"}])
def test_notify_emails_the_stores_staff_about_the_customer(
        shop, webhooks, run_jobs, smtp_sink, settings):
    switch_on(shop, NOTE)
    store_settings(shop, **settings)
    john_buys(webhooks, run_jobs)

    [note] = smtp_sink.to(STAFF)
    assert note["Subject"] == "Big order from John"
    text_part = note.get_body(("plain",)).get_content()
    assert "John (john@example.com) just ordered at" in text_part
    assert "Customer: John Smith <john@example.com>" in text_part
    assert smtp_sink.to(BUYER_EMAIL) == []  # the customer gets nothing
    assert ("sent", "tell_staff", "note to the store's staff queued") in timeline(
        shop.id, BUYER_EMAIL)


def test_notify_without_a_staff_address_skips_saying_why(shop, webhooks, run_jobs, smtp_sink):
    switch_on(shop, NOTE)
    john_buys(webhooks, run_jobs)

    assert messages("big_order_note") == [] and smtp_sink.received == []
    assert ("skipped", "tell_staff", "no staff address: set the store's reply_to or from_email"
            ) in timeline(shop.id, BUYER_EMAIL)
    assert [r.status for r in runs("big_order_note")] == ["completed"]


@pytest.mark.parametrize("notify, pointer, says", [
    ({"subject": "Hi"}, "/steps/0/notify", "'body' is a required"),
    ({"subject": "{{ first_name.__class__ }}", "body": "x"}, "/steps/0/notify/subject",
     "renders to nothing"),  # the sandbox reaches nothing of Python
    ({"subject": "Hi", "body": "{% for x in y %}x{% endfor %}"}, "/steps/0/notify/body",
     "placeholders"),
])
def test_a_bad_note_is_refused_naming_the_part(notify, pointer, says):
    found = problems(built("bad", "order_placed", {"id": "n", "notify": notify}))
    assert any(p == pointer and says in reason for p, reason in found), found


# --- segment triggers ----------------------------------------------------------------------

def club(event: str, segment: str, subject: str) -> dict:
    return built(f"club_{event}_{segment.lower()}", event, {"id": "hello", "send": {
        "subject": subject, "body": "Hi."}}, trigger={"event": event, "segment": segment},
        consent="transactional")


def test_entering_and_leaving_a_segment_start_the_flows_of_that_segment_only(
        shop, webhooks, run_jobs, smtp_sink):
    with db.session() as session:
        segments.create(session, shop.id, "Big", '{">": [{"var": "customer.total_spent"}, 100]}',
                        actor="test")
        segments.create(session, shop.id, "Huge",
                        '{">": [{"var": "customer.total_spent"}, 100000]}', actor="test")
    for flow in (club("segment_entered", "Big", "Welcome to the club"),
                 club("segment_left", "Big", "We will miss you"),
                 club("segment_entered", "Huge", "Welcome, patron")):
        switch_on(shop, flow)

    john_buys(webhooks, run_jobs, financial_status="paid")  # 404.95: in Big, not in Huge
    assert [m["Subject"] for m in smtp_sink.to(BUYER_EMAIL)] == ["Welcome to the club"]

    later = (SAMPLE_TIME + DAY).isoformat()
    with at(SAMPLE_TIME + DAY):
        webhooks.deliver("orders/updated", order_sample(
            SAMPLE_TIME, financial_status="refunded", updated_at=later))
        run_jobs()
    assert [m["Subject"] for m in smtp_sink.to(BUYER_EMAIL)] == [
        "Welcome to the club", "We will miss you"]


@pytest.mark.parametrize("trigger, says", [
    ({"event": "segment_entered"}, "name a segment"),
    ({"event": "order_placed", "segment": "Big"}, "other triggers do not"),
])
def test_a_segment_trigger_names_its_segment_and_no_other_trigger_does(trigger, says):
    found = problems(built("bad", "order_placed", {"id": "s", "send": SEND}, trigger=trigger))
    assert any(p == "/trigger/segment" and says in reason for p, reason in found), found
