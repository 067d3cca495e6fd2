"""DKIM signing (RFC 6376) with dkimpy: the last step before a message leaves, once every header
is final, for self-hosters whose own mail server does not sign. The key is read and checked with
the other settings (app.config: DKIM_PRIVATE_KEY, DKIM_SELECTOR, DKIM_DOMAIN); its public half is
published at `<selector>._domainkey.<domain>` (docs/deliverability.md).
"""
from __future__ import annotations

import dkim

from app.core.config import DkimKey
from app.mail.mime import Mail

# Relaxed for both: a relay that re-folds a header or trims trailing spaces does not break it.
CANONICALIZE = (b"relaxed", b"relaxed")


def sign(message: Mail, key: DkimKey) -> Mail:
    """The message with a DKIM-Signature over its bytes as they will be sent."""
    return message.signed(dkim.sign(message.data, key.selector.encode(), key.domain.encode(),
                                    key.private_key, canonicalize=CANONICALIZE))
