"""Assembling the MIME message of every mail we send: every line within RFC 2045's 76 characters
(quoted-printable bodies and folded headers), but for the few headers that must stay whole."""
from __future__ import annotations

from email.message import EmailMessage
from email.policy import EmailPolicy

# Folding would turn these long URLs and ids into RFC 2047 encoded-words, which mailbox
# providers (List-Unsubscribe) and Postmark (its metadata) do not decode there.
UNFOLDED = ("list-unsubscribe", "x-pm-metadata-")
# RFC 5322's hard limit, for the headers above.
MAX_HEADER_LINE = 998


class MailPolicy(EmailPolicy):
    """The standard policy with lines of at most 76 characters, which is also the length
    quoted-printable bodies are encoded to, except for the UNFOLDED headers."""

    def _for(self, name: str) -> EmailPolicy:
        return self.clone(max_line_length=MAX_HEADER_LINE) if name.lower().startswith(UNFOLDED) \
            else self

    def header_store_parse(self, name, value):
        # A short plain-ASCII value is kept as the string it is and written out as it is; only
        # the others are parsed (and folded) by the header registry, which costs a send more
        # than rendering its text part. A line break is refused either way (header injection).
        if (isinstance(value, str) and value.isascii() and "\r" not in value
                and "\n" not in value and len(name) + 2 + len(value) <= self._for(name).max_line_length):
            return name, value
        return super().header_store_parse(name, value)

    def fold(self, name, value):
        return super(MailPolicy, self._for(name)).fold(name, value)

    def fold_binary(self, name, value):
        return super(MailPolicy, self._for(name)).fold_binary(name, value)


POLICY = MailPolicy(max_line_length=76)


def assemble(headers: list[tuple[str, str]], text: str, html: str | None = None) -> EmailMessage:
    """A text (and HTML) message with these headers, in this order."""
    mime = EmailMessage(policy=POLICY)
    for name, value in headers:
        mime[name] = value
    mime.set_content(text, cte="quoted-printable")
    if html is not None:
        mime.add_alternative(html, subtype="html", cte="quoted-printable")
    return mime
