"""Transports: SMTP (one reused connection per worker) and the dev inbox (files, for `dev`).

Failures are sorted by what they mean for a retry: Permanent (a 5xx: do not retry, suppress on
a refused recipient), Transient (nothing was handed over: safe to retry) and Uncertain (the
server may have accepted it: never retried automatically, a duplicate costs more than a loss).
"""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from app.core.config import DkimKey
from app.mail import dkim_signing
from app.mail.mime import Mail


class PermanentFailure(Exception):
    def __init__(self, code: int, recipient_refused: bool):
        super().__init__(f"smtp {code}")
        self.code = code
        self.recipient_refused = recipient_refused


class TransientFailure(Exception):
    pass


class UncertainDelivery(Exception):
    pass


class _DataStage:
    """An SMTP connection that remembers whether a message's data went out: one lost before
    then left nothing with the server, so the message may go again."""
    data_sent = False

    def data(self, msg):
        self.data_sent = True
        return super().data(msg)


class _SMTP(_DataStage, smtplib.SMTP):
    pass


class _SMTPSSL(_DataStage, smtplib.SMTP_SSL):
    pass


class _Unsent(Exception):
    """The connection failed before the message's data went out."""


class Transport(Protocol):
    def send(self, message: Mail) -> None: ...
    def describe(self) -> str: ...


class SMTPTransport:
    """smtp://user:pass@host:587 (STARTTLS when offered, or `?starttls=required`), smtps://...:465."""

    def __init__(self, url: str, timeout: float = 30):
        parts = urlsplit(url)
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.tls else 587)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.require_starttls = parse_qs(parts.query).get("starttls") == ["required"]
        self.timeout = timeout
        self._connection: smtplib.SMTP | None = None

    def describe(self) -> str:
        """Where mail goes, for the merchant's eyes: never the credentials."""
        security = ("TLS" if self.tls else
                    "STARTTLS required" if self.require_starttls else "STARTTLS when offered")
        return f"SMTP server {self.host}:{self.port} ({security})"

    def _connect(self) -> smtplib.SMTP:
        if self.tls:
            connection = _SMTPSSL(self.host, self.port, timeout=self.timeout,
                                          context=ssl.create_default_context())
        else:
            connection = _SMTP(self.host, self.port, timeout=self.timeout)
            connection.ehlo()
            if connection.has_extn("starttls"):
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            elif self.require_starttls:
                raise TransientFailure("the server does not offer STARTTLS")
        if self.username:
            connection.login(self.username, self.password or "")
        return connection

    def _ready(self) -> smtplib.SMTP:
        if self._connection is not None:
            return self._connection
        try:
            self._connection = self._connect()
        except (smtplib.SMTPException, OSError) as error:
            self._connection = None
            raise TransientFailure(type(error).__name__) from error
        return self._connection

    def verify(self) -> None:
        """Connect, EHLO, STARTTLS and log in as a send would (`storeflow doctor`); raises
        TransientFailure naming what failed."""
        self._ready()
        self.close()

    def send(self, message: Mail | EmailMessage) -> None:
        """Send on the reused connection, with no NOOP before it (a reply fewer per message): one
        the server has closed since (an idle timeout, a limit of messages per connection) fails
        before the data, and the message then goes once more on a new one. A message built with
        the email package is written out first."""
        if isinstance(message, EmailMessage):
            message = Mail.of(message)
        attempts = 2 if self._connection is not None else 1
        for attempt in range(attempts):
            try:
                return self._send(self._ready(), message)
            except _Unsent as error:
                if attempt == attempts - 1:
                    raise TransientFailure(str(error)) from error.__cause__

    def _send(self, connection: smtplib.SMTP, message: Mail) -> None:
        connection.data_sent = False
        try:
            # The bytes as assembled: smtplib's send_message would write them out again.
            connection.sendmail(message.sender, message.recipients, message.data,
                                ("SMTPUTF8", "BODY=8BITMIME") if message.international else ())
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                smtplib.SMTPDataError) as error:
            refused = isinstance(error, smtplib.SMTPRecipientsRefused)
            code = next(iter(error.recipients.values()))[0] if refused else error.smtp_code
            if code == 421 and not connection.data_sent:  # the server is closing the connection
                self._connection = None
                raise _Unsent(f"smtp {code}") from error
            raise (PermanentFailure(code, refused) if code >= 500 else TransientFailure(code)) from error
        except (smtplib.SMTPException, OSError) as error:
            self._connection = None
            if not connection.data_sent:
                raise _Unsent(type(error).__name__) from error
            # The connection broke mid-conversation: the server may already have the message.
            raise UncertainDelivery(type(error).__name__) from error

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._connection = None


class DevInbox:
    """Keeps mail as .eml files under STOREFLOW_HOME/dev-inbox instead of sending it."""

    def __init__(self, folder: Path):
        self.folder = folder

    def describe(self) -> str:
        return "the dev inbox: no SMTP_URL is set, so mail is kept here, not sent"

    def path(self, message_id: str) -> Path:
        """Where the message with this Message-ID is kept."""
        return self.folder / f"{message_id.strip('<>').replace('/', '_')}.eml"

    def send(self, message: Mail) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path(message["Message-ID"]).write_bytes(message.data)


class Transports:
    """The process's transport and DKIM key, bound once by `app.bootstrap`."""

    def __init__(self) -> None:
        self.current: Transport | None = None
        self.message_id_domain = "storeflow.invalid"
        self.dkim_key: DkimKey | None = None

    def configure(self, smtp_url: str | None, home: Path, base_url: str,
                  dkim_key: DkimKey | None = None) -> None:
        self.current = SMTPTransport(smtp_url) if smtp_url else DevInbox(home / "dev-inbox")
        # Message-IDs and the fallback sender use the app's own host name.
        self.message_id_domain = urlsplit(base_url).hostname or "storeflow.invalid"
        self.dkim_key = dkim_key

    def send(self, message: Mail) -> None:
        """Hand a finished message to the transport, DKIM-signed when a key is set (nothing may
        change it after this: the signature covers its headers and body)."""
        self.current.send(dkim_signing.sign(message, self.dkim_key) if self.dkim_key else message)


transports = Transports()
