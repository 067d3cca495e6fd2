"""What one send costs the database: each row it needs read once, one write after the send that
marks the message sent, and its customers' counts rebuilt once for the whole mail job."""
from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.audiences import metrics
from app.core import clock
from app.core.db import db
from app.mail import outbox
from app.models import CustomerMetrics
from flows import engine
from tests.flow_helpers import SAMPLE_TIME, enable, messages
from tests.mail_helpers import statements, status, with_postal_address
from tests.seed import due_checkout_runs


@pytest.fixture
def flow_email(shop, run_jobs, smtp_sink):
    """The abandoned-checkout email 1 of one due run, queued by its step; (message id, due)."""
    enable(shop.id, "abandoned_checkout")
    with_postal_address(shop.id)
    due = SAMPLE_TIME + timedelta(hours=1)
    due_checkout_runs(shop.id, shop.domain, 1, due)
    assert engine.tick(due) == 1
    with clock.frozen_at(due):
        run_jobs("flows")
    [message] = messages()
    return message.id, due


def sent_counting(flow_email) -> tuple[int, list[str]]:
    """Send the flow's email at its due time: its id, and the statements the send ran."""
    message_id, due = flow_email
    with statements() as seen, clock.frozen_at(due):
        assert outbox.deliver(message_id) == "sent"
    return message_id, seen


def test_a_flow_email_reads_its_customer_and_checkout_once(flow_email, smtp_sink):
    # The exit rules re-checked at send time read them; the email's own context reuses them.
    message_id, seen = sent_counting(flow_email)

    # A whole row is read where its columns are selected (alone or joined to the run's).
    whole_rows = Counter(table for text in seen if text.startswith("SELECT")
                         for table, column in (("customers", "birthday"),
                                               ("checkouts", "recovery_url"))
                         if re.search(rf"\b{table}\.{column}\b", text.partition(" FROM ")[0]))
    assert whole_rows == {"customers": 1, "checkouts": 1}
    assert len(smtp_sink.received) == 1


def test_a_sent_message_s_counts_are_rebuilt_after_its_sent_mark_commits(flow_email, smtp_sink):
    message_id, seen = sent_counting(flow_email)

    sent = next(n for n, text in enumerate(seen) if "UPDATE messages SET" in text
                and "sent_at" in text)
    [lock] = [n for n, text in enumerate(seen) if "FOR UPDATE OF customers" in text]
    [upkeep] = [n for n, text in enumerate(seen) if "recent_sends" in text]
    # The mark commits on its own: a failing upkeep cannot take it back.
    assert sent < lock < upkeep and "COMMIT" in seen[sent:lock]
    assert "COMMIT" not in seen[lock:upkeep]  # the customers stay locked for their rebuild
    assert not any("UPDATE messages" in text for text in seen[sent + 1:])
    message = status(message_id)
    assert message.status == "sent"
    with db.session() as session:
        row = session.execute(select(CustomerMetrics).where(
            CustomerMetrics.customer_id == message.customer_id)).scalar_one()
        assert row.recent_sends == [message.sent_at]


def test_a_message_whose_counts_upkeep_fails_after_the_send_is_still_marked_sent(
        flow_email, smtp_sink, monkeypatch):
    message_id, due = flow_email

    def upkeep_fails(session, store_id, customer_ids, emails) -> None:
        raise RuntimeError("the counts' statement failed")
    monkeypatch.setattr(metrics, "mail_recorded", upkeep_fails)

    with clock.frozen_at(due), pytest.raises(RuntimeError):
        outbox.deliver(message_id)  # the job fails, and RQ would run it again

    assert status(message_id).status == "sent" and status(message_id).sent_at is not None
    with clock.frozen_at(due):
        assert outbox.deliver(message_id) == "sent"  # the retry finds it sent
    assert len(smtp_sink.received) == 1


def test_a_flow_email_asks_for_its_suppression_with_its_row_and_for_orders_with_its_run(
        flow_email, smtp_sink):
    # The exit rules' question (did the customer order since the trigger, or through this
    # checkout?) is a column of the run's context read; the outbox reads the address's
    # suppression with the locked row.
    message_id, seen = sent_counting(flow_email)

    [claim] = [text for text in seen if text.endswith("FOR UPDATE OF messages")]
    assert "LEFT OUTER JOIN suppressions" in claim
    assert not any(text.startswith("SELECT suppressions.") for text in seen)
    assert not any(text.startswith("SELECT orders.id FROM orders") for text in seen)
    [run_read] = [text for text in seen if text.startswith("SELECT flow_runs.")]
    assert "AS ordered_since_trigger" in run_read


def test_the_counts_upkeep_keeps_its_generic_plan_without_round_trips_of_its_own(
        flow_email, smtp_sink):
    # The owners' lock turns the generic plan on and the recompute turns it off as it runs.
    message_id, seen = sent_counting(flow_email)

    assert not any(text.startswith("SET") for text in seen)
    with db.session() as session:
        assert session.execute(text("SHOW plan_cache_mode")).scalar_one() == "auto"


def test_an_email_whose_design_shows_no_recommendations_reads_no_products(flow_email, smtp_sink):
    # The abandoned-checkout email 1 shows the cart's lines, never suggestions: nothing to read.
    message_id, seen = sent_counting(flow_email)

    assert not any(" FROM products" in text for text in seen)
    assert len(smtp_sink.received) == 1


def test_the_send_guards_read_consent_pause_and_the_run_in_one_statement_after_the_lock(
        flow_email, smtp_sink):
    # Each guard names what it reads; the outbox reads them together under the row's lock, with
    # the run's context the exit rules are checked on.
    message_id, seen = sent_counting(flow_email)

    claim = next(n for n, text in enumerate(seen) if text.endswith("FOR UPDATE OF messages"))
    [read] = [n for n, text in enumerate(seen) if "FROM mail_pauses" in text]
    assert "FROM send_consents" in seen[read] and claim < read
    assert seen[read].startswith("SELECT flow_runs.")
    assert len([text for text in seen if text.startswith("SELECT flow_runs.")]) == 1
    assert not any(text.startswith(("SELECT send_consents.", "SELECT mail_pauses."))
                   for text in seen)


def test_a_flow_email_reads_its_store_once(flow_email, smtp_sink):
    # The claim reads the store with the row; the run's context takes it from the session.
    message_id, seen = sent_counting(flow_email)

    reads = [text for text in seen if text.startswith("SELECT")
             and re.search(r"\bstores\.installed_at\b", text.partition(" FROM ")[0])]
    assert len(reads) == 1 and reads[0].endswith("FOR UPDATE OF messages")
