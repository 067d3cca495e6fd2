"""Campaigns through the `storeflow campaigns` commands, real Shopify customer webhooks, a real
RQ worker and an SMTP server on loopback: exactly the consenting, unsuppressed members of a
segment (minus the excluded one) get it, once, whatever is retried, paused or sent again."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from redis.exceptions import ConnectionError as RedisDown
from rq.registry import ScheduledJobRegistry

from app.campaigns import sending
from app.core.db import db
from app import jobs
from app.jobs import broker, failures as job_failures
from app.mail import outbox
from app.mail.rate import send_rate
from app.models import Campaign
from tests.campaign_helpers import (CREATE, NOW, PEOPLE, REACHED, campaign_messages, listed, recipients,
                                    report, subscribers)
from app.demo.payloads import Person, consent_update, customer
from tests.flow_helpers import (CHECKOUT_CUSTOMER, HOUR, MINUTE, at, enable, messages, move_to,
                                shopper_abandons)
from tests.helpers import published, work
from tests.test_audience_metrics import shopify_order
from tests.ui_helpers import connect_rival

JOHN = Person(CHECKOUT_CUSTOMER, "John", "Smith", "john@example.com")  # the checkout's customer


def addressees(smtp_sink) -> list[str]:
    return sorted(mail["To"] for mail in smtp_sink.received)


@pytest.fixture
def tea_shop(shop, webhooks, run_jobs, storeflow, smtp_sink, monkeypatch):
    # The command's start-up configures the transport from the environment: the same sink.
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")
    subscribers(shop, webhooks, run_jobs, storeflow, NOW)
    with at(NOW):
        storeflow("campaigns", "create", "--store", shop.domain, "Spring teas", *CREATE)
        yield shop


def send_first_chunk(storeflow, shop) -> None:
    """Send "Spring teas" and run its first chunk: its messages queued, their mail job waiting."""
    storeflow("campaigns", "send", "--store", shop.domain, "Spring teas")
    work("campaigns", max_jobs=1)


def test_a_campaign_reaches_its_consenting_members_once_and_a_second_send_is_refused(
        tea_shop, storeflow, run_jobs, smtp_sink):
    sent = storeflow("campaigns", "send", "--store", tea_shop.domain, "Spring teas")
    assert sent.output.strip() == "sending campaign 'Spring teas' to 3 recipient(s)"
    run_jobs()

    assert addressees(smtp_sink) == REACHED
    mail = next(m for m in smtp_sink.received if m["To"] == REACHED[0])
    assert mail["Subject"] == "New spring teas, Ann0"
    assert "Our first flush is in." in mail.get_body(("plain",)).get_content()
    assert mail["List-Unsubscribe"] and mail["List-Unsubscribe-Post"]
    again = storeflow("campaigns", "send", "--store", tea_shop.domain, "Spring teas", ok=False)
    assert again.exit_code == 1 and "is sent; a campaign is sent once" in again.output
    run_jobs()
    assert addressees(smtp_sink) == REACHED
    figures = report(storeflow, tea_shop, "Spring teas")
    assert (figures["status"], figures["recipients"], figures["sent"]) == ("sent", 3, 3)
    assert listed(storeflow, tea_shop) == ["sent", "Spring", "teas"]


def test_a_crash_before_or_after_a_chunk_commits_sends_nobody_twice(
        tea_shop, storeflow, run_jobs, smtp_sink, monkeypatch):
    storeflow("campaigns", "send", "--store", tea_shop.domain, "Spring teas")
    resolved = recipients()
    first, last, campaign_id = resolved[0].id, resolved[-1].id, resolved[0].campaign_id
    queue = outbox.queue_messages

    def dies_halfway(*args, **kwargs):  # the chunk's messages are written, its recipients not
        queue(*args, **kwargs)
        raise SystemExit("killed")

    monkeypatch.setattr(outbox, "queue_messages", dies_halfway)
    with pytest.raises(SystemExit):
        sending.send_chunk(campaign_id, first, last)
    assert campaign_messages() == [] and {r.status for r in recipients()} == {"pending"}
    monkeypatch.setattr(outbox, "queue_messages", queue)

    # Committed, then Redis went away before the deliveries were queued.
    enqueue_many = sending.jobs.enqueue_many
    monkeypatch.setattr(sending.jobs, "enqueue_many", lambda *a: (_ for _ in ()).throw(RedisDown()))
    with pytest.raises(RedisDown):
        sending.send_chunk(campaign_id, first, last)
    monkeypatch.setattr(sending.jobs, "enqueue_many", enqueue_many)
    assert sending.send_chunk(campaign_id, first, last) == 0  # the retry finds nobody pending
    run_jobs()  # the chunk job queued by `send`: nobody pending either
    assert smtp_sink.received == []
    with at(NOW.replace(minute=5)):
        assert outbox.sweep_outbox() == 3  # the database says what is owed
        run_jobs()
    assert addressees(smtp_sink) == REACHED
    for message in campaign_messages():  # a delivery run twice finds its row sent
        assert outbox.deliver(message.id) == "sent"
    assert len(smtp_sink.received) == 3 and len(campaign_messages()) == 3


def test_nothing_leaves_while_paused_and_resume_completes_without_duplicates(
        tea_shop, storeflow, run_jobs, smtp_sink):
    send_first_chunk(storeflow, tea_shop)  # three messages queued, their deliveries waiting
    assert len(campaign_messages()) == 3
    paused = storeflow("campaigns", "pause", "--store", tea_shop.domain, "Spring teas")
    assert paused.output.strip() == "paused campaign 'Spring teas': no further email of it is sent"
    run_jobs()
    assert smtp_sink.received == []
    assert {(m.status, m.reason) for m in campaign_messages()} == {("cancelled", sending.PAUSED)}
    assert storeflow("campaigns", "pause", "--store", tea_shop.domain, "Spring teas",
                     ok=False).exit_code == 1

    storeflow("campaigns", "resume", "--store", tea_shop.domain, "Spring teas")
    run_jobs()
    assert addressees(smtp_sink) == REACHED
    assert report(storeflow, tea_shop, "Spring teas")["status"] == "sent"


def test_a_pause_before_the_first_chunk_holds_everything_until_resumed(
        tea_shop, storeflow, run_jobs, smtp_sink):
    storeflow("campaigns", "send", "--store", tea_shop.domain, "Spring teas")
    storeflow("campaigns", "pause", "--store", tea_shop.domain, "Spring teas")
    run_jobs()
    assert smtp_sink.received == [] and campaign_messages() == []
    storeflow("campaigns", "resume", "--store", tea_shop.domain, "Spring teas")
    run_jobs()
    assert addressees(smtp_sink) == REACHED


def test_cancel_stops_for_good(tea_shop, storeflow, run_jobs, smtp_sink):
    send_first_chunk(storeflow, tea_shop)
    storeflow("campaigns", "cancel", "--store", tea_shop.domain, "Spring teas")
    run_jobs()
    assert smtp_sink.received == []
    for command in ("resume", "send", "cancel"):
        refused = storeflow("campaigns", command, "--store", tea_shop.domain, "Spring teas",
                            ok=False)
        assert refused.exit_code == 1 and "is cancelled" in refused.output
    run_jobs()
    assert smtp_sink.received == []
    assert report(storeflow, tea_shop, "Spring teas")["sent"] == 0


def test_the_frequency_cap_holds_a_second_campaign_unless_it_bypasses_it(
        tea_shop, storeflow, run_jobs, smtp_sink):
    storeflow("campaigns", "send", "--store", tea_shop.domain, "Spring teas")
    run_jobs()
    storeflow("campaigns", "create", "--store", tea_shop.domain, "Teas again", *CREATE)
    storeflow("campaigns", "create", "--store", tea_shop.domain, "Recall notice", *CREATE,
              "--bypass-frequency-cap")
    storeflow("campaigns", "send", "--store", tea_shop.domain, "Teas again")
    storeflow("campaigns", "send", "--store", tea_shop.domain, "Recall notice")
    run_jobs()

    held = report(storeflow, tea_shop, "Teas again")
    assert (held["recipients"], held["skipped_frequency_cap"], held["sent"]) == (3, 3, 0)
    assert report(storeflow, tea_shop, "Recall notice")["sent"] == 3
    assert addressees(smtp_sink) == sorted(REACHED * 2)


def test_another_stores_campaigns_and_segments_are_out_of_reach(tea_shop, storeflow, run_jobs,
                                                                 smtp_sink):
    rival = connect_rival()
    storeflow("segments", "create", "--store", rival.domain, "Rival list", "--rule", "true")
    storeflow("campaigns", "create", "--store", rival.domain, "Rival sale", "--segment",
              "Rival list", "--subject", "Sale", "--body", "Everything must go.")
    borrowed = storeflow("campaigns", "create", "--store", tea_shop.domain, "Borrowed",
                         "--segment", "Rival list", "--subject", "Hi", "--body", "Hello", ok=False)
    assert borrowed.output.strip() == "Error: no segment named 'Rival list'"
    for command in ("send", "pause", "resume", "cancel", "report"):
        refused = storeflow("campaigns", command, "--store", tea_shop.domain, "Rival sale",
                            ok=False)
        assert refused.output.strip() == "Error: no campaign named 'Rival sale'"
    storeflow("settings", "set", "--store", rival.domain, "postal_address=1 Rival Road")
    storeflow("campaigns", "send", "--store", rival.domain, "Rival sale")
    run_jobs()
    assert smtp_sink.received == []  # the rival has no customers: none of ours got it
    assert listed(storeflow, rival) == ["sent", "Rival", "sale"]


@pytest.mark.parametrize("arguments, error", [
    (("", "--subject", "Hi", "--body", "Hello"), "a campaign name is 1 to 60 characters"),
    (("Sale", "--subject", "x" * 151, "--body", "Hello"), "subject: at most 150 characters"),
    (("Sale", "--subject", "   ", "--body", "Hello"), "subject: required"),
    (("Sale", "--subject", "Hi {{ oops", "--body", "Hello"), "subject: "),
    (("Sale", "--subject", "Hi", "--body", " "), "--body: required"),
    (("Sale", "--subject", "Hi", "--body", "Hello", "--button-text", "Go", "--button-url",
      "http://example.com"), "--button-url: an https:// address with a host"),
    (("Sale", "--subject", "Hi", "--body", "Hello", "--button-url", "https://example.com"),
     "--button-url needs --button-text"),
    (("Sale", "--subject", "Hi", "--body", "Hello", "--exclude", "Tea lovers"),
     "segment 'Tea lovers' is both included and excluded"),
    (("Spring teas", "--subject", "Hi", "--body", "Hello"),
     "there is already a campaign named 'Spring teas'"),
])
def test_every_typed_value_is_checked_with_one_clear_line(tea_shop, storeflow, arguments, error):
    name, *rest = arguments
    refused = storeflow("campaigns", "create", "--store", tea_shop.domain, name,
                        "--segment", "Tea lovers", *rest, ok=False)
    assert refused.exit_code == 1 and refused.output.startswith(f"Error: {error}")
    missing = storeflow("campaigns", "create", "--store", tea_shop.domain, "Other",
                        "--segment", "Nobody", "--subject", "Hi", "--body", "Hello", ok=False)
    assert missing.output.strip() == "Error: no segment named 'Nobody'"
    with db.session() as session:
        assert session.query(Campaign).count() == 1


def test_the_report_counts_what_was_sent_opened_clicked_unsubscribed_and_earned(
        tea_shop, storeflow, webhooks, run_jobs, smtp_sink, client):
    storeflow("campaigns", "send", "--store", tea_shop.domain, "Spring teas")
    run_jobs()
    mails = {mail["To"]: mail for mail in smtp_sink.received}
    html = mails[REACHED[0]].get_body(("html",)).get_content()
    pixel = next(part for part in html.split('"') if "/o/" in part)
    click = next(part for part in html.split('"') if "/c/" in part)
    assert client.get(urlsplit(pixel).path).status_code == 200
    assert client.get(urlsplit(click).path).status_code == 302
    unsubscribe = mails[REACHED[1]]["List-Unsubscribe"].split(",")[0].strip("<> ")
    answer = client.post(urlsplit(unsubscribe).path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and "You are unsubscribed" in answer.text

    with at(NOW + HOUR):  # the clicker buys within the attribution window
        buyer = published("shopify/orders_create.json")["customer"] | {
            "id": PEOPLE[0].id, "email": PEOPLE[0].email}
        webhooks.deliver("orders/create", shopify_order(5001, NOW + HOUR, "42.50",
                                                        customer=buyer, email=PEOPLE[0].email))
        run_jobs()

    figures = report(storeflow, tea_shop, "Spring teas")
    assert {k: figures[k] for k in ("recipients", "sent", "opened", "clicked", "unsubscribed",
                                    "bounced", "orders", "revenue")} == {
        "recipients": 3, "sent": 3, "opened": 1, "clicked": 1, "unsubscribed": 1,
        "bounced": 0, "orders": 1, "revenue": "42.5"}
    # The unsubscribed address is left out of the next campaign.
    storeflow("campaigns", "create", "--store", tea_shop.domain, "Summer teas", *CREATE,
              "--bypass-frequency-cap")
    resolved = storeflow("campaigns", "send", "--store", tea_shop.domain, "Summer teas")
    assert "to 2 recipient(s)" in resolved.output


def test_a_campaign_does_not_hold_back_a_checkout_reminder(shop, webhooks, run_jobs, storeflow,
                                                          smtp_sink, monkeypatch):
    """John gets the campaign, then abandons a checkout: the reminder goes, inside the
    frequency cap; a campaign ranks below every flow."""
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")
    enable(shop.id, "abandoned_checkout", email_1_delay_hours=1)
    with at(NOW - HOUR):
        webhooks.deliver("customers/create", customer(JOHN, NOW - HOUR))
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, JOHN.email))
        run_jobs()
    with at(NOW):
        storeflow("segments", "create", "--store", shop.domain, "Everyone", "--rule", "true")
        storeflow("campaigns", "create", "--store", shop.domain, "Spring teas", "--segment",
                  "Everyone", "--subject", "Spring", "--body", "Teas.")
        storeflow("campaigns", "send", "--store", shop.domain, "Spring teas")
        run_jobs()
    shopper_abandons(webhooks, run_jobs, JOHN, NOW + MINUTE)
    move_to(NOW + 2 * HOUR, run_jobs)

    sent = [m.flow.split(":")[0] for m in messages() if m.status == "sent"]
    assert sent == ["campaign", "abandoned_checkout"] and len(smtp_sink.received) == 2


def test_a_store_without_a_postal_address_is_told_before_anything_is_resolved(
        tea_shop, storeflow, run_jobs, smtp_sink):
    storeflow("settings", "set", "--store", tea_shop.domain, "postal_address=")
    refused = storeflow("campaigns", "send", "--store", tea_shop.domain, "Spring teas", ok=False)
    assert refused.exit_code == 1 and "cannot be sent: no postal address" in refused.output
    assert recipients() == [] and listed(storeflow, tea_shop) == ["draft", "Spring", "teas"]


def test_a_send_whose_jobs_redis_lost_is_resumed_from_the_database(tea_shop, storeflow,
                                                                    smtp_sink):
    storeflow("campaigns", "send", "--store", tea_shop.domain, "Spring teas")
    broker.connection.flushdb()  # the chunk job is gone
    assert sending.sweep_campaigns() == 1
    work("campaigns", max_jobs=1)  # the chunk: its deliveries queued ...
    broker.connection.flushdb()  # ... and lost
    with at(NOW.replace(minute=5)):
        assert sending.sweep_campaigns() == 0 and outbox.sweep_outbox() == 3
        # Swept onto the campaigns queue, as the campaign's mail: the last one marks it sent.
        assert broker.queue("campaigns").count == 3 and broker.queue("mail").count == 0
        work()
    assert addressees(smtp_sink) == REACHED
    assert listed(storeflow, tea_shop) == ["sent", "Spring", "teas"]


def test_a_recipient_who_withdraws_consent_after_the_send_started_is_not_mailed(
        tea_shop, storeflow, webhooks, run_jobs, smtp_sink):
    storeflow("campaigns", "send", "--store", tea_shop.domain, "Spring teas")
    leaver = PEOPLE[0]
    webhooks.deliver("customers_email_marketing_consent/update",
                     consent_update(leaver.id, leaver.email, state="unsubscribed"))
    work("ingest")
    run_jobs()
    assert addressees(smtp_sink) == REACHED[1:]
    figures = report(storeflow, tea_shop, "Spring teas")
    assert (figures["recipients"], figures["skipped_no_consent"], figures["sent"]) == (3, 1, 2)


def test_campaign_mail_over_the_transport_rate_waits_on_the_campaigns_queue(
        tea_shop, storeflow, smtp_sink, config):
    send_first_chunk(storeflow, tea_shop)  # one job for its three deliveries
    send_rate.configure("2/minute", config.redis_url)
    try:
        work("campaigns", max_jobs=1)  # one job carrying the three, one over the rate
    finally:
        send_rate.configure(None, config.redis_url)

    assert len(smtp_sink.received) == 2
    [later] = ScheduledJobRegistry(queue=broker.queue("campaigns")).get_job_ids()
    assert ScheduledJobRegistry(queue=broker.queue("mail")).get_job_ids() == []
    deferred = broker.queue("campaigns").fetch_job(later)
    assert deferred.func_name == "app.campaigns.sending.deliver"
    deferred.perform()  # the window has passed: it leaves, as the campaign's last
    assert addressees(smtp_sink) == REACHED
    assert listed(storeflow, tea_shop) == ["sent", "Spring", "teas"]


def test_a_chunk_queues_one_mail_job_for_several_and_the_sweep_counts_them_all_waiting(
        tea_shop, storeflow, run_jobs, smtp_sink):
    send_first_chunk(storeflow, tea_shop)
    ids = [message.id for message in campaign_messages()]
    assert broker.queue("campaigns").job_ids == [f"mail-{ids[0]}"]
    assert outbox.sweep_outbox(older_than_seconds=-1) == 0  # none is owed a job
    run_jobs()
    assert addressees(smtp_sink) == REACHED


def test_the_messages_of_a_lost_several_message_job_are_queued_again_once_each(
        tea_shop, storeflow, run_jobs, smtp_sink):
    send_first_chunk(storeflow, tea_shop)
    broker.queue("campaigns").empty()  # Redis lost the mail job
    assert outbox.sweep_outbox(older_than_seconds=-1) == 3
    assert outbox.sweep_outbox(older_than_seconds=-1) == 0  # their new jobs are waiting
    run_jobs()
    assert addressees(smtp_sink) == REACHED


def test_a_batchs_failure_stays_while_another_batch_of_its_campaign_succeeds(
        tea_shop, storeflow, run_jobs, smtp_sink):
    send_first_chunk(storeflow, tea_shop)  # one job for its three deliveries
    waiting = broker.queue("campaigns")
    campaign_id, ids, at_ = waiting.fetch_job(waiting.job_ids[0]).args
    waiting.empty()  # sent instead as two batches of the one campaign
    jobs.enqueue_many(sending.deliver_several, [(campaign_id, ids[:1], at_),
                                                (campaign_id, ids[1:], at_)])
    [first] = [m.email for m in campaign_messages() if m.id == ids[0]]
    smtp_sink.defer.add(first)

    run_jobs()  # the first batch fails (retried later), the second succeeds

    assert len(smtp_sink.received) == 2
    with db.session() as session:
        assert [(row.job_key, row.store_id) for row in job_failures.open_failures(session)] == [
            (f"app.campaigns.sending.deliver_several:{ids[0]}", tea_shop.id)]
