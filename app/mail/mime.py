"""Assembling the MIME message of every mail we send, once, as the bytes that leave: every line
within RFC 2045's 76 characters (quoted-printable bodies and folded headers), but for the few
headers that must stay whole.

The bytes are written here rather than by `email.message`: it parses each header again every
time it is read, and smtplib and the generator read them all (22 parses a message), which cost
a send more than rendering its text part. Only a header that is not short plain ASCII goes
through the email package's header registry (encoded-words, folding).
"""
from __future__ import annotations

import binascii
import re
import secrets
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import getaddresses, parseaddr

# Folding would turn these long URLs and ids into RFC 2047 encoded-words, which mailbox
# providers (List-Unsubscribe) and Postmark (its metadata) do not decode there.
UNFOLDED = ("list-unsubscribe", "x-pm-metadata-")
# RFC 5322's hard limit, for the headers above.
MAX_HEADER_LINE = 998
MAX_LINE = 76
# C0 controls but tab, and DEL; the registry refuses the other line breaks str.splitlines knows.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
CRLF = "\r\n"


class MailPolicy(EmailPolicy):
    """The standard policy with lines of at most 76 characters, which is also the length
    quoted-printable bodies are encoded to, except for the UNFOLDED headers."""

    def _for(self, name: str) -> EmailPolicy:
        return self.clone(max_line_length=MAX_HEADER_LINE) if name.lower().startswith(UNFOLDED) \
            else self

    def fold(self, name, value):
        return super(MailPolicy, self._for(name)).fold(name, value)


POLICY = MailPolicy(max_line_length=MAX_LINE, linesep=CRLF)
# For a message to or from an address that is not ASCII (sent with SMTPUTF8, as smtplib did).
UTF8_POLICY = POLICY.clone(utf8=True)


@dataclass(frozen=True)
class Mail:
    """A finished message: its headers as given (looked up by name, as on an EmailMessage) and
    the bytes that leave, with CRLF line ends."""
    headers: tuple[tuple[str, str], ...]
    data: bytes

    def __getitem__(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    @property
    def sender(self) -> str:
        """The envelope sender: the From address."""
        return parseaddr(self["From"])[1]

    @property
    def recipients(self) -> list[str]:
        """The envelope recipients: the To and Cc addresses."""
        return [address for _, address in getaddresses(
            [value for key, value in self.headers if key.lower() in ("to", "cc")])]

    @property
    def international(self) -> bool:
        """Whether an envelope address is not ASCII (the server must offer SMTPUTF8)."""
        return not all(address.isascii() for address in (self.sender, *self.recipients))

    def signed(self, signature: bytes) -> Mail:
        """The message with a header (a DKIM-Signature, as dkimpy writes it) before the rest."""
        name, _, value = signature.decode("ascii").partition(":")
        return Mail(((name, " ".join(value.split())), *self.headers), signature + self.data)

    @classmethod
    def of(cls, message: EmailMessage) -> Mail:
        """A message built with the email package (a test's), as it would be written out."""
        return cls(tuple((name, str(value)) for name, value in message.items()),
                   message.as_bytes(policy=message.policy.clone(linesep=CRLF)))


def assemble(headers: list[tuple[str, str]], text: str, html: str | None = None) -> Mail:
    """A text (and HTML) message with these headers, in this order."""
    given = tuple(headers)
    utf8 = Mail(given, b"").international
    head = "".join(header(name, value, utf8) for name, value in given) + "MIME-Version: 1.0" + CRLF
    if html is None:
        return Mail(given, head.encode("utf-8") + _part("plain", text))
    boundary = f"=={secrets.token_hex(16)}=="  # "==" never occurs in quoted-printable
    head += f'Content-Type: multipart/alternative;{CRLF} boundary="{boundary}"{CRLF}{CRLF}'
    delimiter = f"--{boundary}{CRLF}".encode()
    return Mail(given, head.encode("utf-8") + delimiter + _part("plain", text) + CRLF.encode()
                + delimiter + _part("html", html) + f"{CRLF}--{boundary}--{CRLF}".encode())


def header(name: str, value: str, utf8: bool = False) -> str:
    """One header's line(s). A printable ASCII value that fits on one line (998 characters for
    the UNFOLDED headers, 76 for the rest) is written as it is; any other goes through the
    header registry, which encodes and folds it. A line break or another control character
    (but tab) is refused (header injection; RFC 5322 allows none)."""
    line = MAX_HEADER_LINE if name.lower().startswith(UNFOLDED) else MAX_LINE
    if value.isascii() and value.isprintable() and len(name) + 2 + len(value) <= line:
        return f"{name}: {value}{CRLF}"
    if CONTROL.search(value):
        raise ValueError(f"the {name} header may not hold a line break or control character")
    policy = UTF8_POLICY if utf8 else POLICY
    return policy.fold(*policy.header_store_parse(name, value))


def _part(subtype: str, body: str) -> bytes:
    """A UTF-8 text part, quoted-printable (lines of at most 76), as its headers, a blank line
    and its lines."""
    lines = body.encode("utf-8").splitlines()
    return (f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
            f"Content-Transfer-Encoding: quoted-printable{CRLF}{CRLF}".encode()
            + binascii.b2a_qp(b"\r\n".join(lines) + b"\r\n", istext=True))
