"""A loopback SMTP server for tests: aiosmtpd, keeping every message it accepts."""
from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpSink:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[EmailMessage] = []
        # The bytes as they came over the wire, to check what parsing would hide (header encoding).
        self.raw: list[bytes] = []
        # Addresses answered with a permanent 550, as a mailbox that does not exist would be.
        self.refuse: set[str] = set()
        # Addresses whose message is taken, and then the connection dropped before the reply, as
        # a server crash or a network cut would: the sender cannot know the message arrived.
        self.hang_up: set[str] = set()
        # Addresses answered with a temporary 451, as a greylisting or busy server would.
        self.defer: set[str] = set()
        # A reply every message gets while set, as a busy server gives: a 421 at MAIL (the
        # server closes the channel), anything else at RCPT.
        self.refusing: str | None = None
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.refusing and self.refusing.startswith("421"):
            return self.refusing
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if address in self.defer:
            return "451 4.7.1 try again later"
        if self.refusing:
            return self.refusing
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.raw.append(envelope.original_content)
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        if self.hang_up & set(envelope.rcpt_tos):
            server.transport.abort()
        return "250 Message accepted"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if m["To"] == address]
