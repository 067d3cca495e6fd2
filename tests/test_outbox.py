"""The outbox sends each message once, checks suppression at send time, and sorts failures."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from app.core import clock, stores
from app.core.db import db
from app.mail import guards, outbox
from app.mail.transport import SMTPTransport, TransientFailure, transports
from app.models import Checkout, Message, Suppression
from tests.helpers import published, wait_for, waiting_for_a_lock
from tests.mail_helpers import checkout_message, status


def test_a_message_is_valid_mime_with_html_text_and_headers(shop, webhooks, run_jobs, smtp_sink):
    # To the checkout customer's own address: their name goes to no other.
    message_id = checkout_message(shop, webhooks, run_jobs, email="john@example.com")

    assert outbox.deliver(message_id) == "sent"

    [mail] = smtp_sink.received
    for header in ("From", "To", "Subject", "Date", "Message-ID"):
        assert len(mail.get_all(header)) == 1, header
    assert mail["To"] == "john@example.com"
    assert mail["Message-ID"] == status(message_id).message_id
    assert mail["Subject"] == "John, your cart is saved"
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    assert "IPod Nano - 8GB" in html and "IPod Nano - 8GB" in text
    assert 'style="' in html  # CSS inlined for clients that drop <style>
    assert "checkouts/123123123/recover" in text
    assert status(message_id).status == "sent"


def test_the_same_step_queued_twice_is_one_message_and_delivering_twice_sends_once(
        shop, webhooks, run_jobs, smtp_sink):
    message_id = checkout_message(shop, webhooks, run_jobs)
    with db.session() as session:
        again = outbox.queue_message(session, store_id=shop.id, email="example@email.com",
                                     template="abandoned_checkout/email_1", marketing=True,
                                     run_id=1, step="email_1")
    assert again is None

    outbox.deliver(message_id)
    assert outbox.deliver(message_id) == "sent"

    assert len(smtp_sink.received) == 1


def test_an_unsubscribe_before_the_send_cancels_a_marketing_message(shop, webhooks, run_jobs,
                                                                     smtp_sink):
    message_id = checkout_message(shop, webhooks, run_jobs)
    outbox.suppress(shop.id, "example@email.com", "unsubscribed")

    assert outbox.deliver(message_id) == "cancelled"

    assert smtp_sink.received == []
    assert status(message_id).reason == "suppressed: unsubscribed"


def test_an_unsubscribe_does_not_stop_transactional_mail(shop, webhooks, run_jobs, smtp_sink):
    message_id = checkout_message(shop, webhooks, run_jobs, marketing=False)
    outbox.suppress(shop.id, "example@email.com", "unsubscribed")

    assert outbox.deliver(message_id) == "sent"


def test_a_permanent_refusal_fails_and_suppresses_the_address(shop, webhooks, run_jobs, smtp_sink):
    smtp_sink.refuse.add("example@email.com")
    message_id = checkout_message(shop, webhooks, run_jobs)

    assert outbox.deliver(message_id) == "failed"

    with db.session() as session:
        suppression = session.execute(select(Suppression)).scalar_one()
    assert (suppression.email, suppression.reason) == ("example@email.com", "hard_bounce")


def test_a_registered_guard_cancels_at_send_time(shop, webhooks, run_jobs, smtp_sink, monkeypatch):
    monkeypatch.setattr(guards, "_guards", [lambda session, message, read: "customer ordered"])
    message_id = checkout_message(shop, webhooks, run_jobs)

    assert outbox.deliver(message_id) == "cancelled"
    assert status(message_id).reason == "customer ordered"
    assert smtp_sink.received == []


def test_over_the_transport_rate_a_message_waits_and_is_never_dropped(
        shop, webhooks, run_jobs, smtp_sink, config):
    from rq.registry import ScheduledJobRegistry

    from app.jobs import broker
    from app.mail.rate import send_rate

    send_rate.configure("2/minute", config.redis_url)
    try:
        ids = [checkout_message(shop, webhooks, run_jobs, run_id=None, step=None)
               for _ in range(3)]
        results = [outbox.deliver(message_id) for message_id in ids]
    finally:
        send_rate.configure(None, config.redis_url)

    assert results == ["sent", "sent", "deferred"]
    assert len(smtp_sink.received) == 2
    assert status(ids[2]).status == "queued"
    later = ScheduledJobRegistry(queue=broker.queue("mail")).get_job_ids()
    assert later == [f"mail-{ids[2]}-later"]
    # Once the window has passed, the scheduled job sends it.
    assert outbox.deliver(ids[2]) == "sent" and len(smtp_sink.received) == 3


def test_a_connection_lost_after_the_data_leaves_the_message_unknown_and_never_resent(
        shop, webhooks, run_jobs, smtp_sink):
    # The server may have the message (this one does): sending again could mean two emails.
    smtp_sink.hang_up.add("example@email.com")
    message_id = checkout_message(shop, webhooks, run_jobs)

    assert outbox.deliver(message_id) == "unknown"
    assert status(message_id).status == "unknown"

    outbox.sweep_outbox(older_than_seconds=0)
    run_jobs()
    assert len(smtp_sink.received) == 1


def test_a_message_left_unknown_by_a_dead_worker_is_not_sent_by_a_later_job(
        shop, webhooks, run_jobs, smtp_sink):
    message_id = checkout_message(shop, webhooks, run_jobs)
    # A worker died after marking the row `sending`; the reaper calls it unknown.
    with db.session() as session:
        session.execute(update(Message).where(Message.id == message_id).values(status="sending"))
    with clock.frozen_at(clock.now() + outbox.STALE_SENDING + timedelta(seconds=1)):
        assert outbox.reap_stale_sending() == 1

    assert outbox.deliver(message_id) == "unknown"  # the dead worker's job, run again
    assert smtp_sink.received == []


def test_a_message_reaching_delivery_after_the_store_was_uninstalled_does_not_go_out(
        shop, webhooks, run_jobs, smtp_sink):
    webhooks.deliver("checkouts/create", published("shopify/checkouts_create.json"))
    webhooks.deliver("app/uninstalled", published("shopify/app_uninstalled.json"))
    run_jobs()
    # A flow step that queued its message while the uninstall was being stored: the uninstall's
    # cancelling of queued mail could not see it.
    message_id = checkout_message(shop, webhooks, run_jobs)

    assert outbox.deliver(message_id) == "cancelled"
    assert status(message_id).reason == "store uninstalled"
    assert smtp_sink.received == []


class ConnectionPerJob:
    """Each send on its own SMTP connection, as each worker process has its own."""

    def __init__(self, port: int):
        self.url = f"smtp://127.0.0.1:{port}"

    def send(self, message) -> None:
        transport = SMTPTransport(self.url)
        try:
            transport.send(message)
        finally:
            transport.close()

    def close(self) -> None:
        pass


def test_two_jobs_delivering_one_message_at_once_send_it_once(shop, webhooks, run_jobs, smtp_sink,
                                                              monkeypatch):
    # A sweep can queue a message again while its first job is still running.
    message_id = checkout_message(shop, webhooks, run_jobs)
    monkeypatch.setattr(transports, "current", ConnectionPerJob(smtp_sink.port))
    checked = []

    def hold(session, message, read):
        # Each job, past the status check, waits for the other to get there too, or to be
        # waiting for the row's lock.
        checked.append(message.id)
        wait_for(lambda: len(checked) == 2 or waiting_for_a_lock() > 0)
    monkeypatch.setattr(guards, "_guards", [hold])

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(outbox.deliver, [message_id, message_id]))

    assert len(smtp_sink.received) == 1
    assert status(message_id).status == "sent"


def _messages(shop, webhooks, run_jobs, count: int) -> list[int]:
    return [checkout_message(shop, webhooks, run_jobs, run_id=None, step=None) for _ in range(count)]


def _set(message_id: int, status_: str, updated_at) -> None:
    with db.session() as session:
        session.execute(update(Message).where(Message.id == message_id)
                        .values(status=status_, updated_at=updated_at))


def test_the_reaper_calls_unknown_only_mail_left_sending_longer_than_a_send_can_take(
        shop, webhooks, run_jobs):
    stuck, in_flight, at_limit, waiting, sent = _messages(shop, webhooks, run_jobs, 5)
    now = clock.now()
    _set(stuck, "sending", now - outbox.STALE_SENDING - timedelta(seconds=1))
    _set(in_flight, "sending", now - outbox.STALE_SENDING + timedelta(seconds=30))  # a live send
    _set(at_limit, "sending", now - outbox.STALE_SENDING)  # not yet longer than the limit
    _set(waiting, "queued", now - outbox.STALE_SENDING - timedelta(hours=1))
    _set(sent, "sent", now - outbox.STALE_SENDING - timedelta(hours=1))

    with clock.frozen_at(now):
        assert outbox.reap_stale_sending() == 1

    assert status(stuck).status == "unknown" and status(stuck).reason == "worker stopped during send"
    assert [status(m).status for m in (in_flight, at_limit, waiting, sent)] == [
        "sending", "sending", "queued", "sent"]


def test_the_sweep_queues_again_only_owed_mail_whose_job_was_lost(shop, webhooks, run_jobs):
    from app.jobs import broker

    lost, still_queued, just_queued, unknown = _messages(shop, webhooks, run_jobs, 4)
    mail = broker.queue("mail")
    now = clock.now()
    outbox.enqueue_delivery(still_queued)  # its job is waiting; the others' jobs are gone
    for message_id in (lost, still_queued):
        _set(message_id, "queued", now - timedelta(seconds=11))
    _set(just_queued, "queued", now)  # its after-commit enqueue may not have happened yet
    _set(unknown, "unknown", now - timedelta(hours=1))  # never resent automatically

    with clock.frozen_at(now):
        assert outbox.sweep_outbox(older_than_seconds=10) == 1

    assert f"mail-{lost}" in mail.job_ids and f"mail-{unknown}" not in mail.job_ids
    assert f"mail-{just_queued}" not in mail.job_ids
    assert mail.job_ids.count(f"mail-{still_queued}") == 1  # its own job was still there


def _started_job(message_id: int, heartbeat_age: timedelta) -> None:
    """The mail job of a worker killed mid-job: taken off its queue, marked started, and beating
    no more since `heartbeat_age` ago."""
    from rq.job import JobStatus

    from app.jobs import broker

    job = broker.queue("mail").fetch_job(f"mail-{message_id}")
    broker.queue("mail").remove(job)
    job.set_status(JobStatus.STARTED)
    job.heartbeat(datetime.now(timezone.utc) - heartbeat_age, ttl=600)


def test_the_sweep_takes_over_mail_whose_worker_stopped_beating_after_the_grace_it_is_given(
        shop, webhooks, run_jobs):
    """A started job is the worker's until its heartbeat is older than the grace: the scheduler
    waits five minutes, a recovery after kill -9 may choose to wait none."""
    from app.jobs import broker

    stopped, beating = _messages(shop, webhooks, run_jobs, 2)
    for message_id in (stopped, beating):
        outbox.enqueue_delivery(message_id)
        _set(message_id, "queued", clock.now() - timedelta(minutes=1))
    _started_job(stopped, heartbeat_age=timedelta(minutes=2))
    _started_job(beating, heartbeat_age=timedelta(seconds=5))

    assert outbox.sweep_outbox() == 0  # two minutes is within the default five
    assert outbox.sweep_outbox(started_grace=timedelta(minutes=1)) == 1
    assert broker.queue("mail").job_ids == [f"mail-{stopped}"]


def test_a_registered_send_guard_cancels_mail_at_send_time_with_its_reason(
        shop, webhooks, run_jobs, smtp_sink, monkeypatch):
    """The flows register their exit rules this way; a reason means the mail never leaves."""
    monkeypatch.setattr(guards, "_guards", list(guards._guards))
    held, sent = (checkout_message(shop, webhooks, run_jobs, run_id=run_id) for run_id in (1, 2))
    guards.register_send_guard(lambda session, message, read: "customer ordered"
                               if message.id == held else None)

    assert (outbox.deliver(held), outbox.deliver(sent)) == ("cancelled", "sent")
    assert status(held).reason == "customer ordered" and len(smtp_sink.received) == 1


def test_a_message_is_queued_with_everything_its_send_and_the_activity_log_need(
        shop, webhooks, run_jobs):
    message_id = checkout_message(shop, webhooks, run_jobs, run_id=7, step="email_2",
                                  customer_id=None, context={"code": "SAVE10"})
    stored = status(message_id)
    assert (stored.store_id, stored.email, stored.template, stored.marketing, stored.flow,
            stored.run_id, stored.step, stored.status, stored.context["code"]) == (
        shop.id, "example@email.com", "abandoned_checkout/email_1", True, "abandoned_checkout",
        7, "email_2", "queued", "SAVE10")
    with db.session() as session:
        customer_id = session.execute(select(Checkout.customer_id)).scalar_one()
    assert customer_id is not None and stored.customer_id == customer_id


def test_a_sent_message_records_its_subject_and_when_it_left_and_no_other_message_changes(
        shop, webhooks, run_jobs, smtp_sink):
    sent, waiting = (checkout_message(shop, webhooks, run_jobs, run_id=run_id)
                     for run_id in (1, 2))
    at = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)

    assert outbox.deliver(sent, at.isoformat()) == "sent"

    [mail] = smtp_sink.received
    assert (status(sent).status, status(sent).reason, status(sent).subject,
            status(sent).sent_at) == ("sent", None, mail["Subject"], at)
    assert (status(waiting).status, status(waiting).sent_at) == ("queued", None)


def test_delivering_a_message_that_no_longer_exists_sends_nothing(shop, smtp_sink):
    """Its store was erased (a shop redaction) after the job was queued."""
    assert outbox.deliver(999999) == "missing"
    assert smtp_sink.received == []


def test_a_bounced_address_gets_no_transactional_mail_either(shop, webhooks, run_jobs, smtp_sink):
    message_id = checkout_message(shop, webhooks, run_jobs, marketing=False)
    outbox.suppress(shop.id, "example@email.com", "hard_bounce")

    assert outbox.deliver(message_id) == "cancelled"
    assert (status(message_id).status, status(message_id).reason) == (
        "cancelled", "suppressed: hard_bounce")
    assert smtp_sink.received == []


def test_a_suppression_stops_only_its_own_address_in_its_own_store(
        shop, webhooks, run_jobs, smtp_sink):
    with db.session() as session:
        other, _ = stores.connect(session, "shopify", "other-shop.myshopify.com",
                                  access_token="shpat_other", webhook_secret=None)
        other_id = other.id
    outbox.suppress(other_id, "example@email.com", "hard_bounce")
    outbox.suppress(shop.id, "someone.else@example.com", "hard_bounce")
    message_id = checkout_message(shop, webhooks, run_jobs)

    assert outbox.deliver(message_id) == "sent"


def test_a_refused_address_fails_with_the_servers_answer(shop, webhooks, run_jobs, smtp_sink):
    smtp_sink.refuse.add("example@email.com")
    message_id = checkout_message(shop, webhooks, run_jobs)

    assert outbox.deliver(message_id) == "failed"
    assert status(message_id).status == "failed"
    assert "550" in status(message_id).reason


def test_a_connection_lost_during_the_send_says_so(shop, webhooks, run_jobs, smtp_sink):
    smtp_sink.hang_up.add("example@email.com")
    message_id = checkout_message(shop, webhooks, run_jobs)

    assert outbox.deliver(message_id) == "unknown"
    assert status(message_id).reason.startswith("connection lost during send: ")


def test_a_server_deferring_leaves_the_message_queued_and_fails_the_job_for_a_retry(
        shop, webhooks, run_jobs, smtp_sink):
    smtp_sink.defer.add("example@email.com")
    message_id = checkout_message(shop, webhooks, run_jobs)

    with pytest.raises(TransientFailure):
        outbox.deliver(message_id)
    assert status(message_id).status == "queued"
    assert status(message_id).reason.startswith("transient: ") and "451" in status(message_id).reason


def test_the_mail_job_carries_the_set_clock_and_the_retry_policy(shop, webhooks, run_jobs):
    """`storeflow tick --at` sends as of its instant; a failing send is tried four more times."""
    from app.jobs import broker

    message_id = checkout_message(shop, webhooks, run_jobs)
    at = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
    with clock.frozen_at(at):
        outbox.enqueue_delivery(message_id)
    outbox.enqueue_delivery(message_id)  # the clock running free: no instant

    job = broker.queue("mail").fetch_job(f"mail-{message_id}")
    assert job.args == (message_id, None)
    assert (job.retries_left, job.retry_intervals) == (4, [30, 120, 600, 1800])
    with clock.frozen_at(at):
        outbox.enqueue_delivery(message_id)
    job = broker.queue("mail").fetch_job(f"mail-{message_id}")
    assert job.args == (message_id, at.isoformat())


def test_a_message_over_the_rate_waits_under_the_set_clock_with_the_retry_policy(
        shop, webhooks, run_jobs, smtp_sink, config):
    from rq.job import Job

    from app.jobs import broker
    from app.mail.rate import send_rate

    at = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
    send_rate.configure("1/minute", config.redis_url)
    try:
        first, second = _messages(shop, webhooks, run_jobs, 2)
        assert [outbox.deliver(m, at.isoformat()) for m in (first, second)] == ["sent", "deferred"]
    finally:
        send_rate.configure(None, config.redis_url)

    later = Job.fetch(f"mail-{second}-later", connection=broker.connection)
    assert later.args == (second, at.isoformat())
    assert (later.retries_left, later.retry_intervals) == (4, [30, 120, 600, 1800])


def test_delivery_logs_name_the_message_and_its_store(shop, webhooks, run_jobs, smtp_sink, caplog):
    message_id = checkout_message(shop, webhooks, run_jobs)
    with caplog.at_level(logging.INFO, logger="app.mail.outbox"):
        outbox.deliver(message_id)

    [sent] = [r for r in caplog.records if r.getMessage() == "message sent"]
    assert (sent.message_id, sent.store_id) == (message_id, shop.id)


def test_the_sweep_leaves_mail_queued_less_than_ten_seconds_ago_to_its_own_job(
        shop, webhooks, run_jobs):
    """Its after-commit enqueue may still be on the way; older than that, it is owed."""
    from app.jobs import broker

    lost, at_limit = _messages(shop, webhooks, run_jobs, 2)
    now = clock.now()
    _set(lost, "queued", now - timedelta(seconds=10, milliseconds=500))
    _set(at_limit, "queued", now - timedelta(seconds=10))

    with clock.frozen_at(now):
        assert outbox.sweep_outbox() == 1
    assert broker.queue("mail").job_ids == [f"mail-{lost}"]


def test_a_sweep_queues_at_most_five_thousand_messages_oldest_first(shop, webhooks, run_jobs):
    """After a long outage the owed mail goes in batches, in the order it was written."""
    from sqlalchemy import text

    from app.jobs import broker

    with db.session() as session:
        # Written newest id first, so the table's physical order is not the ids' order.
        session.execute(text(
            "INSERT INTO messages (id, store_id, email, template, context, marketing, status,"
            " message_id, created_at, updated_at)"
            " SELECT 10001 - g, :store, 'a@example.com', 'abandoned_checkout/email_1', '{}',"
            " true, 'queued', '<' || g || '@storeflow.test>', now(), now() - interval '1 hour'"
            " FROM generate_series(1, 5001) AS g"), {"store": shop.id})

    assert outbox.sweep_outbox() == 5000
    assert "mail-5000" in broker.queue("mail").job_ids  # the oldest (lowest id) went
    assert f"mail-{10000}" not in broker.queue("mail").job_ids  # the newest waits


class WorkerKilled(BaseException):
    """The worker process dies while the message is on the wire: nothing after the send runs."""


class DyingTransport:
    def send(self, message) -> None:
        raise WorkerKilled

    def close(self) -> None:
        pass


def test_a_message_whose_worker_dies_mid_send_is_reaped_as_unknown_and_never_resent(
        shop, webhooks, run_jobs, smtp_sink, monkeypatch):
    """The row says `sending` before anything leaves, so the reaper can find it: the server may
    have the message, so it is called unknown, not sent again."""
    message_id = checkout_message(shop, webhooks, run_jobs)
    monkeypatch.setattr(transports, "current", DyingTransport())
    with pytest.raises(WorkerKilled):
        outbox.deliver(message_id)
    monkeypatch.undo()

    with clock.frozen_at(clock.now() + outbox.STALE_SENDING + timedelta(seconds=1)):
        assert outbox.reap_stale_sending() == 1
    assert (status(message_id).status, status(message_id).reason) == (
        "unknown", "worker stopped during send")
    assert outbox.deliver(message_id) == "unknown" and smtp_sink.received == []
