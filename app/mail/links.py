"""Signed links in our emails: opaque tokens naming (store, message[, url]) and the URLs carrying them;
and the form tokens of the preference page behind the unsubscribe link.

A token is signed with SECRET_KEY (its own salt, so a customer token is never a link token) and
is checked in constant time by itsdangerous; a forged, altered or expired one reads as None.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature

from app.ingest.identity import Signer
from app.models import Message

LINK_SALT = "storeflow.mail-link"
# An unsubscribe link must keep working long after the email was read (the law asks 30 days).
LINK_MAX_AGE = timedelta(days=2 * 365)
UNSUBSCRIBE, OPEN, CLICK, CONFIRM = "u", "o", "c", "k"
FORM_SALT = "storeflow.preference-form"
# A preference page's form works this long after the page was shown: time to choose, too little
# for a copied form token to be worth anything.
FORM_MAX_AGE = timedelta(hours=1)
# What the preference page's forms do beyond unsubscribing (which the link token alone may do).
PAUSE, RESUBSCRIBE = "pause", "resubscribe"


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
form_signer = Signer(FORM_SALT)


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


def make_form_token(action: str, token: str) -> str:
    """The form token of one preference page action (PAUSE, RESUBSCRIBE), bound to the link token
    the page was opened with: the proof, without a cookie, that whoever posts it had the page."""
    return form_signer.serializer().dumps([action, _digest(token)])


def form_token_valid(form_token: str, action: str, token: str) -> bool:
    """Whether a form token is ours, recent, for this action and for this very link token."""
    try:
        data = form_signer.serializer().loads(form_token,
                                              max_age=int(FORM_MAX_AGE.total_seconds()))
    except BadSignature:  # SignatureExpired is a BadSignature too
        return False
    return data == [action, _digest(token)]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
