"""One SMTP connection reused across sends: no NOOP before each, and a connection the server
closed in between is replaced before anything of the message went out."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from app.mail.transport import SMTPTransport, TransientFailure
from tests.smtp import SmtpSink, free_port


def email(n: int) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "shop@example.com", "a@example.com", str(n)
    message.set_content("hello")
    return message


@pytest.fixture
def sink():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def test_sends_on_one_connection_ask_no_noop(sink, monkeypatch):
    def noop(self):
        raise AssertionError("a NOOP before a send")
    monkeypatch.setattr(smtplib.SMTP, "noop", noop)
    transport = SMTPTransport(f"smtp://127.0.0.1:{sink.port}")

    for n in range(3):
        transport.send(email(n))

    assert [m["Subject"] for m in sink.received] == ["0", "1", "2"]
    transport.close()


def test_a_connection_the_server_closed_since_the_last_send_is_replaced_and_the_mail_goes():
    sink = SmtpSink()
    sink.start()
    transport = SMTPTransport(f"smtp://127.0.0.1:{sink.port}")
    transport.send(email(1))
    sink.stop()  # closes every connection, as a server's idle timeout would
    again = SmtpSink(sink.port)
    again.start()
    try:
        transport.send(email(2))
    finally:
        transport.close()
        again.stop()

    assert [m["Subject"] for m in sink.received + again.received] == ["1", "2"]


def test_a_new_connection_that_fails_before_the_data_is_a_transient_failure():
    # Nothing was handed over: the message may be retried.
    transport = SMTPTransport(f"smtp://127.0.0.1:{free_port()}")

    with pytest.raises(TransientFailure):
        transport.send(email(1))
