"""Merchant-built flows (issue 17): the issue's example document imported with the CLI, run by
the engine through signed webhooks, a real worker and a real SMTP sink, both of its branches;
versions; and documents refused with the JSON pointer of what is wrong."""
from __future__ import annotations

import copy
import json
from datetime import date
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy import select

from app.core import clock
from app.core.db import db
from app.demo.payloads import Person, customer
from app.mail import compose, links
from app.models import Customer, FlowRun, Message, Store
from flows import document
from flows.audiences import DATE_PROPERTIES
from tests.flow_helpers import (DAY, HOUR, MINUTE, SAMPLE_TIME, enable, messages, move_to, runs,
                                timeline)
from tests.test_flow_lifecycle import BUYER, BUYER_EMAIL, place_order
from tests.ui_helpers import connect_rival, sign_in

# The issue's example, exactly as it reads (tools depend on it).
EXAMPLE = {
    "format": 1,
    "name": "big_order_thanks",
    "title": "Thanks for a big order",
    "consent": "marketing",
    "trigger": {"event": "order_placed"},
    "entry": {">": [{"var": "order.total"}, 100]},
    "steps": [
        {"id": "wait_1", "wait": {"hours": 1}},
        {"id": "thanks", "send": {"subject": "Thank you for your big order, {{ first_name }}",
                                  "body": "We are packing it now.",
                                  "button": {"text": "Shop again", "url": "{{ shop_url }}"}}},
        {"id": "wait_2", "wait": {"hours": 24}},
        {"id": "clicked", "if": {"var": "run.steps.thanks.clicked"},
         "then": [{"id": "tag_engaged", "tag": {"add": "engaged"}}],
         "else": [{"id": "nudge", "send": {"subject": "Did you see our note?",
                                           "body": "Still here."}}]},
    ],
}
FLOW = EXAMPLE["name"]


@pytest.fixture
def example(tmp_path):
    path = tmp_path / "big_order_thanks.json"
    path.write_text(json.dumps(EXAMPLE, indent=2))
    return path


@pytest.fixture
def example_on(shop, storeflow, example):
    """The example imported and switched on (it starts off) with the CLI, as a merchant would.
    Listed before `smtp_sink`: a CLI command binds the configured transport."""
    storeflow("flows", "import", "--store", shop.domain, str(example))
    enable(shop.id)  # the postal address a marketing flow needs
    storeflow("flows", "enable", "--store", shop.domain, FLOW)


def john_buys(webhooks, run_jobs, **changes) -> None:
    """John (the published order's customer, his profile from customers/create) places the
    published order: 404.95 unless `changes` say otherwise."""
    with clock.frozen_at(SAMPLE_TIME):
        webhooks.deliver("customers/create",
                         customer(Person(BUYER, "John", "Smith", BUYER_EMAIL), SAMPLE_TIME))
    place_order(webhooks, run_jobs, **changes)


def tags() -> list[str]:
    with db.session() as session:
        return session.execute(select(Customer.tags).where(Customer.email == "john@example.com")
                               ).scalar_one()


def test_the_example_imports_off_and_prints_its_name_last(shop, storeflow, example):
    output = storeflow("flows", "import", "--store", shop.domain, str(example)).output
    assert output.splitlines()[-1] == FLOW
    listed = json.loads(storeflow("flows", "list", "--store", shop.domain, "--json").output)
    built = [flow for flow in listed if flow["name"] == FLOW]
    assert [(f["enabled"], f["built"], f["version"], f["consent"]) for f in built] == [
        (False, True, 1, "marketing")]
    exported = json.loads(storeflow("flows", "export", "--store", shop.domain, FLOW).output)
    assert exported == EXAMPLE


def test_a_click_on_the_thanks_tags_the_customer_engaged_and_sends_no_nudge(
        shop, example_on, webhooks, run_jobs, smtp_sink, client):
    john_buys(webhooks, run_jobs)

    move_to(SAMPLE_TIME + HOUR, run_jobs)
    thanks = smtp_sink.to(BUYER_EMAIL)
    assert [m["Subject"] for m in thanks] == ["Thank you for your big order, John"]
    text = thanks[0].get_body(("plain",)).get_content()
    assert "We are packing it now." in text and "Shop again:" in text
    [sent] = [m for m in messages(FLOW) if m.step == "thanks"]
    with clock.frozen_at(SAMPLE_TIME + 2 * HOUR):
        url = links.click_url(sent, f"https://{shop.domain}/")
        assert client.get(urlsplit(url).path).status_code == 302

    move_to(SAMPLE_TIME + 25 * HOUR + MINUTE, run_jobs)
    assert len(smtp_sink.to(BUYER_EMAIL)) == 1  # no nudge
    assert "engaged" in tags()
    assert [r.status for r in runs(FLOW)] == ["completed"]
    assert ("branched", "clicked", "condition held: then") in timeline(shop.id, BUYER_EMAIL)


def test_no_click_sends_the_nudge_a_day_after_the_thanks_and_tags_no_one(
        shop, example_on, webhooks, run_jobs, smtp_sink):
    john_buys(webhooks, run_jobs)

    move_to(SAMPLE_TIME + HOUR, run_jobs)
    move_to(SAMPLE_TIME + 24 * HOUR, run_jobs)  # 23 hours after the thanks: still waiting
    assert len(smtp_sink.to(BUYER_EMAIL)) == 1
    move_to(SAMPLE_TIME + 25 * HOUR, run_jobs)

    assert [m["Subject"] for m in smtp_sink.to(BUYER_EMAIL)] == [
        "Thank you for your big order, John", "Did you see our note?"]
    assert "Still here." in smtp_sink.to(BUYER_EMAIL)[-1].get_body(("plain",)).get_content()
    assert "engaged" not in tags()
    assert [m.step for m in messages(FLOW)] == ["thanks", "nudge"]


@pytest.fixture
def two_sends_on(shop, storeflow, tmp_path):
    """The example with a second email straight after the thanks, imported and switched on."""
    doc = copy.deepcopy(EXAMPLE)
    doc["steps"][2:] = [{"id": "again", "send": {"subject": "One more thing", "body": "Soon."}}]
    path = tmp_path / "two_sends.json"
    path.write_text(json.dumps(doc))
    storeflow("flows", "import", "--store", shop.domain, str(path))
    enable(shop.id)
    storeflow("flows", "enable", "--store", shop.domain, FLOW)


def test_two_sends_due_in_one_job_still_keep_the_frequency_cap(
        shop, two_sends_on, webhooks, run_jobs, smtp_sink):
    john_buys(webhooks, run_jobs)
    move_to(SAMPLE_TIME + HOUR, run_jobs)  # both sends fall due in the same step job

    assert [m["Subject"] for m in smtp_sink.to(BUYER_EMAIL)] == [
        "Thank you for your big order, John"]
    assert any(kind == "deferred" and detail.startswith("frequency cap")
               for kind, _, detail in timeline(shop.id, BUYER_EMAIL))


def test_an_order_of_100_or_less_does_not_enter(shop, example_on, webhooks, run_jobs, smtp_sink):
    john_buys(webhooks, run_jobs, total_price="100.00", current_total_price="100.00")
    move_to(SAMPLE_TIME + 2 * DAY, run_jobs)

    assert runs(FLOW) == [] and smtp_sink.to(BUYER_EMAIL) == []
    assert ("not_enrolled", None, "entry condition not met") in timeline(shop.id, BUYER_EMAIL)


def test_a_run_finishes_on_the_version_it_started_new_runs_take_the_new_one(
        shop, storeflow, example_on, webhooks, run_jobs, tmp_path):
    john_buys(webhooks, run_jobs)
    changed = copy.deepcopy(EXAMPLE)
    changed["steps"][1]["send"]["subject"] = "Your big order is in good hands"
    second = tmp_path / "v2.yaml"  # YAML is accepted on import
    second.write_text(yaml.safe_dump(changed))
    assert storeflow("flows", "import", "--store", shop.domain, str(second)).output.startswith(
        "version 2")

    move_to(SAMPLE_TIME + HOUR, run_jobs)
    assert [(r.version, r.status) for r in runs(FLOW)] == [(1, "active")]
    assert [m.step for m in messages(FLOW)] == ["thanks"]
    with db.session() as session:
        [message] = session.execute(select(Message).where(Message.flow == FLOW)).scalars()
        assert compose.build(session, session.get(Store, shop.id), message)["Subject"] == (
            "Thank you for your big order, John")
    # A new order starts on version 2.
    place_order(webhooks, run_jobs, placed=SAMPLE_TIME + 2 * HOUR, id=820982911946154509,
                name="#1002", order_number=1002)
    assert [r.version for r in runs(FLOW)] == [1, 2]
    assert json.loads(storeflow("flows", "export", "--store", shop.domain, FLOW).output) == changed
    assert json.loads(storeflow("flows", "export", "--store", shop.domain, FLOW,
                                "--version", "1").output) == EXAMPLE
    # Importing the same document again makes no third version.
    storeflow("flows", "import", "--store", shop.domain, str(second))
    listed = json.loads(storeflow("flows", "list", "--store", shop.domain, "--json").output)
    assert [f["version"] for f in listed if f["name"] == FLOW] == [2]


def test_moved_runs_go_on_from_the_same_step_on_the_newest_version(
        shop, storeflow, example_on, webhooks, run_jobs, tmp_path):
    """The merchant moves runs under way onto version 2: John's, waiting before the thanks,
    sends version 2's subject; the move is on his timeline. A run whose next step version 3 no
    longer has stays on its version."""
    john_buys(webhooks, run_jobs)
    changed = copy.deepcopy(EXAMPLE)
    changed["steps"][1]["send"]["subject"] = "Your big order is in good hands"
    second = tmp_path / "v2.json"
    second.write_text(json.dumps(changed))
    storeflow("flows", "import", "--store", shop.domain, str(second))

    moved = storeflow("flows", "move-runs", "--store", shop.domain, FLOW).output
    assert moved.strip() == (f"{FLOW}: 1 run(s) moved to version 2; 0 stay on theirs (their "
                             "next step is not in version 2)")
    move_to(SAMPLE_TIME + HOUR, run_jobs)
    assert [(r.version, r.status) for r in runs(FLOW)] == [(2, "active")]
    with db.session() as session:
        [message] = session.execute(select(Message).where(Message.flow == FLOW)).scalars()
        assert compose.build(session, session.get(Store, shop.id), message)["Subject"] == (
            "Your big order is in good hands")
    assert ("moved", "from version 1 to version 2") in [
        (kind, detail) for kind, _, detail in timeline(shop.id, BUYER_EMAIL)]

    renamed = copy.deepcopy(changed)
    renamed["steps"][2]["id"] = "wait_a_day"  # John's run waits there now
    third = tmp_path / "v3.json"
    third.write_text(json.dumps(renamed))
    storeflow("flows", "import", "--store", shop.domain, str(third))
    stayed = storeflow("flows", "move-runs", "--store", shop.domain, FLOW).output
    assert "0 run(s) moved to version 3; 1 stay on theirs" in stayed
    assert [r.version for r in runs(FLOW)] == [2]


def problems(changed: dict) -> list[tuple[str, str]]:
    with pytest.raises(document.FlowDocumentError) as refused:
        document.check(changed)
    return refused.value.problems


def with_steps(*steps, **top) -> dict:
    return {**copy.deepcopy(EXAMPLE), "steps": list(steps), **top}


SEND = {"subject": "Hi", "body": "Hello."}


@pytest.mark.parametrize("changed, pointer, says", [
    ({**EXAMPLE, "trigger": {"event": "order_shipped"}}, "/trigger/event", "is not one of"),
    (with_steps({"id": "a", "send": SEND}, {"id": "a", "wait": {"hours": 1}}), "/steps/1/id",
     "used twice"),
    (with_steps({"id": "a", "send": {"body": "Hello."}}), "/steps/0/send", "'subject' is a required"),
    (with_steps({"id": "a", "wait": {"days": 400}}), "/steps/0/wait/days", "366"),
    (with_steps({"id": "a", "wait": {"hours": 1}, "send": SEND}), "/steps/0",
     "exactly one of"),
    (with_steps({"id": "a", "explode": {}}), "/steps/0", "exactly one of"),
    (with_steps({"id": "c", "if": {"var": "run.steps.later.opened"},
                 "then": [{"id": "later", "send": SEND}]}), "/steps/0/if",
     "not an email earlier on this path"),
    (with_steps({"id": "c", "if": {"var": "customer.vip_level"}, "then": [{"id": "s", "send": SEND}]}),
     "/steps/0/if", "unknown variable"),
    (with_steps({"id": "d", "discount": {"percent": 10, "valid_days": 7}}, consent="transactional"),
     "/steps/0/discount", "transactional"),
    (with_steps({"id": "s", "send": {**SEND, "button": {"text": "Go", "url": "http://x.test/"}}}),
     "/steps/0/send/button/url", "https://"),
    (with_steps({"id": "s", "send": {**SEND, "subject": "{% for x in y %}x{% endfor %}"}}),
     "/steps/0/send/subject", "placeholders"),
    ({**EXAMPLE, "format": 2}, "/format", "1 was expected"),
    ({**EXAMPLE, "entry": {">": [{"var": "order.total"}]}}, "/entry/>", "takes 2 argument"),
])
def test_a_bad_document_is_refused_naming_the_part(changed, pointer, says):
    found = problems(changed)
    assert any(p == pointer and says in reason for p, reason in found), found


def test_branches_nest_five_deep_at_most():
    step = {"id": "s", "send": SEND}
    for depth in range(6):
        step = {"id": f"b{depth}", "if": True, "then": [step]}
    found = problems(with_steps(step))
    assert [p for p, reason in found if "nest" in reason] == ["/steps/0/then/0/then/0/then/0/then/0/then/0"]


def test_the_cli_refuses_an_invalid_file_naming_the_problem_and_stores_nothing(
        shop, storeflow, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(with_steps({"id": "a", "wait": {"hours": 99999}})))
    result = storeflow("flows", "import", "--store", shop.domain, str(bad), ok=False)
    assert result.exit_code != 0 and "/steps/0/wait/hours" in result.output
    validated = storeflow("flows", "validate", str(bad), ok=False)
    assert validated.exit_code != 0 and "/steps/0/wait/hours" in validated.output
    assert storeflow("flows", "export", "--store", shop.domain, FLOW, ok=False).exit_code != 0


def test_yaml_cannot_build_objects_and_a_prebuilt_name_cannot_be_taken(shop, storeflow, tmp_path):
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text('format: 1\nname: !!python/object/apply:os.system ["touch /tmp/pwned"]\n')
    assert "neither JSON nor YAML" in storeflow("flows", "validate", str(hostile), ok=False).output
    taken = tmp_path / "taken.json"
    taken.write_text(json.dumps({**EXAMPLE, "name": "abandoned_checkout"}))
    refused = storeflow("flows", "import", "--store", shop.domain, str(taken), ok=False)
    assert refused.exit_code != 0 and "prebuilt flow" in refused.output


def test_another_store_cannot_see_switch_or_run_this_stores_flow(
        shop, storeflow, example_on, webhooks, run_jobs):
    john_buys(webhooks, run_jobs)
    rival = connect_rival()
    assert storeflow("flows", "export", "--store", str(rival.id), FLOW, ok=False).exit_code != 0
    assert storeflow("flows", "enable", "--store", str(rival.id), FLOW, ok=False).exit_code != 0
    with db.session() as session:
        assert session.execute(select(FlowRun).where(FlowRun.store_id == rival.id)).all() == []
        assert session.execute(select(Message).where(Message.store_id == rival.id)).all() == []


def test_the_published_schema_is_what_the_server_checks():
    schema = json.loads(document.SCHEMA.read_text())
    assert schema["properties"]["format"] == {"const": document.FORMAT}
    document.check(EXAMPLE)  # the example passes both checks


def test_the_flows_page_lists_a_built_flow_switches_it_and_another_store_gets_404(
        client, shop, storeflow, example):
    storeflow("flows", "import", "--store", shop.domain, str(example))
    enable(shop.id)  # the postal address a marketing flow needs
    token = sign_in(client, storeflow, shop.id)
    page = client.get("/app/flows").get_data(as_text=True)
    assert "Thanks for a big order" in page and "Your own flow, version 1" in page
    assert client.post(f"/app/flows/{FLOW}/toggle",
                       data={"enabled": "true", "csrf_token": token}).status_code == 302
    listed = json.loads(storeflow("flows", "list", "--store", shop.domain, "--json").output)
    assert [f["enabled"] for f in listed if f["name"] == FLOW] == [True]

    rival = connect_rival()
    rival_token = sign_in(client, storeflow, rival.id)
    assert client.post(f"/app/flows/{FLOW}/toggle",
                       data={"enabled": "true", "csrf_token": rival_token}).status_code == 404
    assert "Thanks for a big order" not in client.get("/app/flows").get_data(as_text=True)


def test_a_dry_run_replays_the_built_flow_over_the_stores_last_30_days(
        shop, storeflow, example, webhooks, run_jobs):
    storeflow("flows", "import", "--store", shop.domain, str(example))
    john_buys(webhooks, run_jobs)  # with the flow off: nothing runs
    john_buys(webhooks, run_jobs, id=820982911946154509, name="#1002", order_number=1002,
              total_price="20.00", current_total_price="20.00")
    assert runs(FLOW) == []
    report = storeflow("flows", "dry-run", "--store", shop.domain, FLOW,
                       "--at", (SAMPLE_TIME + 3 * DAY).isoformat()).output
    assert "would have emailed 1 customer(s) (2 emails)" in report
    assert "entry condition not met: 1" in report


def test_a_dry_run_of_a_trigger_without_history_says_so_instead_of_failing(
        client, shop, storeflow, tmp_path):
    paid = tmp_path / "paid.json"
    paid.write_text(json.dumps({**EXAMPLE, "trigger": {"event": "order_paid"}}))
    storeflow("flows", "import", "--store", shop.domain, str(paid))
    refused = storeflow("flows", "dry-run", "--store", shop.domain, FLOW, ok=False)
    assert refused.exit_code == 1 and "cannot replay order_paid" in refused.output
    sign_in(client, storeflow, shop.id)
    page = client.get(f"/app/flows/{FLOW}/dry-run", follow_redirects=True).get_data(as_text=True)
    assert "cannot replay order_paid" in page


def test_a_dry_run_replays_new_customers_for_a_customer_created_flow(
        shop, storeflow, webhooks, run_jobs, tmp_path):
    welcome = tmp_path / "welcome.json"
    welcome.write_text(json.dumps({
        "format": 1, "name": "hello", "title": "Hello", "consent": "transactional",
        "trigger": {"event": "customer_created"},
        "steps": [{"id": "hi", "send": {"subject": "Hi", "body": "Welcome aboard."}}]}))
    storeflow("flows", "import", "--store", shop.domain, str(welcome))
    with clock.frozen_at(SAMPLE_TIME):
        webhooks.deliver("customers/create",
                         customer(Person(BUYER, "John", "Smith", BUYER_EMAIL), SAMPLE_TIME))
        run_jobs()
    report = storeflow("flows", "dry-run", "--store", shop.domain, "hello",
                       "--at", (SAMPLE_TIME + DAY).isoformat()).output
    assert "would have emailed 1 customer(s) (1 emails)" in report


def dated(name: str, event: str) -> dict:
    return {"format": 1, "name": name, "title": name.replace("_", " ").capitalize(),
            "consent": "marketing", "trigger": {"event": event},
            "steps": [{"id": "note", "send": {"subject": f"Happy {event}, {{{{ first_name }}}}",
                                              "body": "From all of us."}}]}


def test_date_triggers_enroll_on_the_birthday_and_the_first_orders_anniversary(
        shop, storeflow, webhooks, run_jobs, tmp_path):
    """A built flow on a date: the customer's birthday, and a year to the day after their first
    order, each on the customer's own calendar, once; the day before, no one."""
    enable(shop.id)  # the postal address a marketing flow needs
    for name, event in (("birthday_note", "birthday"),
                        ("anniversary_note", "first_order_anniversary")):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(dated(name, event)))
        storeflow("flows", "import", "--store", shop.domain, str(path))
        storeflow("flows", "enable", "--store", shop.domain, name)
    first_order = SAMPLE_TIME + 12 * HOUR  # 1 January on any clock within 12 hours of UTC
    place_order(webhooks, run_jobs, placed=first_order, financial_status="paid")
    buyer = Person(BUYER, "John", "Smith", BUYER_EMAIL, country="CA", birthday=date(1990, 1, 20))
    with clock.frozen_at(first_order + 2 * MINUTE):
        webhooks.deliver("customers/update", customer(buyer, first_order + MINUTE))
        run_jobs()

    move_to(SAMPLE_TIME + 18 * DAY, run_jobs)
    assert runs("birthday_note") == []
    move_to(SAMPLE_TIME + 19 * DAY + 12 * HOUR, run_jobs)
    move_to(SAMPLE_TIME + 19 * DAY + 14 * HOUR, run_jobs)  # the same day again: no second run
    assert [m.step for m in messages("birthday_note")] == ["note"]

    year_on = first_order.replace(year=first_order.year + 1)
    move_to(year_on - DAY, run_jobs)
    assert runs("anniversary_note") == []
    move_to(year_on, run_jobs)
    assert [m.step for m in messages("anniversary_note")] == ["note"]


def test_days_after_a_date_starts_the_flow_on_that_day_once_for_each_date(
        shop, storeflow, webhooks, run_jobs, tmp_path):
    """Thirty days after the customer's last order, on their own calendar: not the day before,
    once on the day; a newer order moves the date and starts it again thirty days on."""
    enable(shop.id)
    flow = {**dated("month_after", "days_after"),
            "trigger": {"event": "days_after", "date": "customer.last_order_at", "days": 30}}
    path = tmp_path / "month_after.json"
    path.write_text(json.dumps(flow))
    storeflow("flows", "import", "--store", shop.domain, str(path))
    storeflow("flows", "enable", "--store", shop.domain, "month_after")
    ordered = SAMPLE_TIME + 12 * HOUR  # 1 January on any clock within 12 hours of UTC
    place_order(webhooks, run_jobs, placed=ordered, financial_status="paid")

    move_to(ordered + 29 * DAY, run_jobs)
    assert runs("month_after") == []
    move_to(ordered + 30 * DAY, run_jobs)
    move_to(ordered + 30 * DAY + 2 * HOUR, run_jobs)  # the same day again: no second run
    assert [m.step for m in messages("month_after")] == ["note"]

    place_order(webhooks, run_jobs, placed=ordered + 40 * DAY, financial_status="paid",
                id=820982911946154600, name="#2001")
    move_to(ordered + 69 * DAY, run_jobs)
    assert len(runs("month_after")) == 1
    move_to(ordered + 70 * DAY, run_jobs)
    assert [m.step for m in messages("month_after")] == ["note", "note"]


def test_a_days_after_trigger_counts_from_a_date_the_audiences_keep():
    """The schema offers exactly the dates the daily pass can read."""
    schema = json.loads(document.SCHEMA.read_text())
    assert set(schema["properties"]["trigger"]["properties"]["date"]["enum"]) == set(DATE_PROPERTIES)
