"""The bytes app.mail.mime writes by hand read back as the email package reads mail: non-ASCII
names and subjects as RFC 2047 encoded-words, long headers folded (but List-Unsubscribe), QP
bodies, no line over 78, no header injection, and SMTPUTF8 only for a non-ASCII address."""
from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from app.mail import mime
from app.mail.transport import SMTPTransport
from tests.smtp import SmtpSink

SUBJECT = "Zoë, ton panier t'attend chez Café Crème — encore 3 articles réservés pour toi"
UNSUBSCRIBE = "<https://storeflow.example/u/" + "t" * 150 + ">"
HEADERS = [("From", "Café Crème <shop@example.com>"), ("To", "zoe@example.com"),
           ("Subject", SUBJECT), ("Date", "Mon, 07 Dec 2026 09:00:00 +0000"),
           ("Message-ID", "<abc@storeflow.example>"), ("List-Unsubscribe", UNSUBSCRIBE),
           ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]
TEXT = "Bonjour Zoë,\n\n" + "ton panier = 3 articles " * 8 + "\n"
HTML = "<p>Bonjour Zoë</p>\n<p>" + "a=b " * 60 + "</p>"


def test_non_ascii_names_and_subjects_are_encoded_words_that_read_back():
    mail = mime.assemble(HEADERS, TEXT, HTML)

    assert mail.data.isascii() and not mail.international
    assert b"From: =?utf-8?" in mail.data and b"Subject: =?utf-8?" in mail.data
    parsed = message_from_bytes(mail.data, policy=policy.default)
    assert parsed["Subject"] == SUBJECT == mail["Subject"]
    assert parsed["From"].addresses[0].display_name == "Café Crème"
    assert parsed["List-Unsubscribe"] == UNSUBSCRIBE
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == TEXT
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == HTML + "\n"
    lines = mail.data.split(b"\r\n")
    assert all(len(line) <= 78 for line in lines if not line.startswith(b"List-Unsubscribe:"))
    assert f"List-Unsubscribe: {UNSUBSCRIBE}".encode() in lines  # kept whole, not folded
    assert (mail.sender, mail.recipients) == ("shop@example.com", ["zoe@example.com"])


@pytest.mark.parametrize("subject", [
    "hi\r\nBcc: all@example.com", "hi\nBcc: all@example.com",
    "hi\x0bBcc: all@example.com",  # a line break to str.splitlines, so to a reader too
    "hi\x00there", "hi\x7fthere", "Zoë\x00" + "x" * 80])
def test_a_line_break_or_control_character_in_a_header_is_refused(subject):
    with pytest.raises(ValueError):
        mime.assemble([("From", "shop@example.com"), ("Subject", subject)], "text")


@pytest.mark.parametrize("name", ["List-Unsubscribe", "X-PM-Metadata-storeflow-message-id"])
def test_a_line_break_in_a_header_kept_whole_is_refused_too(name):
    """These are written as they are up to 998 characters; not with a line break in them."""
    with pytest.raises(ValueError):
        mime.assemble([("From", "shop@example.com"),
                       (name, UNSUBSCRIBE + "\r\nBcc: all@example.com")], "text")


def test_a_non_ascii_address_goes_as_utf8_with_smtputf8():
    sink = SmtpSink()
    sink.start()
    transport = SMTPTransport(f"smtp://127.0.0.1:{sink.port}")
    try:
        mail = mime.assemble([("From", "shop@example.com"), ("To", "zoë@example.com"),
                              ("Subject", SUBJECT)], TEXT)
        assert mail.international and "zoë@example.com".encode() in mail.data
        transport.send(mail)
    finally:
        transport.close()
        sink.stop()

    [received] = sink.received
    assert received["To"] == "zoë@example.com" and received["Subject"] == SUBJECT
    assert received.get_content().replace("\r\n", "\n") == TEXT
