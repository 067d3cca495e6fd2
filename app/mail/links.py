"""Signed links in our emails: opaque tokens naming (store, message[, url]) and the URLs carrying them.

A token is signed with SECRET_KEY (its own salt, so a customer token is never a link token) and
is checked in constant time by itsdangerous; a forged, altered or expired one reads as None.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature

from app.ingest.identity import Signer
from app.models import Message

LINK_SALT = "storeflow.mail-link"
# An unsubscribe link must keep working long after the email was read (the law asks 30 days).
LINK_MAX_AGE = timedelta(days=2 * 365)
UNSUBSCRIBE, OPEN, CLICK, CONFIRM = "u", "o", "c", "k"


@dataclass(frozen=True)
class Link:
    store_id: int
    message_id: int
    url: str | None = None


class LinkSigner(Signer):
    """The signer for email links and the public BASE_URL they point at, bound by `app.bootstrap`."""

    def __init__(self, salt: str = LINK_SALT) -> None:
        super().__init__(salt)
        self.base_url = "http://localhost:5000"

    def bind(self, secret_key: str | None, base_url: str) -> None:
        """Use this SECRET_KEY and make links under this public BASE_URL."""
        self.configure(secret_key)
        self.base_url = base_url.rstrip("/")


signer = LinkSigner()


def make_token(kind: str, store_id: int, message_id: int, url: str | None = None) -> str:
    """An opaque token for one kind of link (UNSUBSCRIBE, OPEN, CLICK, CONFIRM) to one message."""
    data = [kind, store_id, message_id] + ([url] if url is not None else [])
    return signer.serializer().dumps(data)


def read_token(token: str, kind: str, max_age: timedelta = LINK_MAX_AGE) -> Link | None:
    """What a token names, or None if it is forged, altered, expired or of another kind."""
    try:
        data = signer.serializer().loads(token, max_age=int(max_age.total_seconds()))
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, list) or len(data) not in (3, 4) or data[0] != kind:
        return None
    _, store_id, message_id, *rest = data
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (store_id, message_id)):
        return None
    url = rest[0] if rest else None
    if (kind == CLICK) != isinstance(url, str):  # a click names its target; nothing else does
        return None
    return Link(store_id, message_id, url)


def unsubscribe_url(message: Message) -> str:
    """The one-click unsubscribe page for this message's recipient (List-Unsubscribe, footer)."""
    return f"{signer.base_url}/u/{make_token(UNSUBSCRIBE, message.store_id, message.id)}"


def confirm_url(message: Message) -> str:
    """The double opt-in confirmation page for this message's recipient."""
    return f"{signer.base_url}/confirm/{make_token(CONFIRM, message.store_id, message.id)}"


def open_url(message: Message) -> str:
    """The open-tracking pixel for this message."""
    return f"{signer.base_url}/o/{make_token(OPEN, message.store_id, message.id)}.gif"


def click_url(message: Message, url: str) -> str:
    """A click-tracking redirect to `url` for this message."""
    return f"{signer.base_url}/c/{make_token(CLICK, message.store_id, message.id, url)}"
