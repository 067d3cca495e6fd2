"""DKIM signing (RFC 6376) with dkimpy: the last step before a message leaves, once every header
is final, for self-hosters whose own mail server does not sign.

The key comes from DKIM_PRIVATE_KEY (an RSA key in PEM, or the path of a file holding one), the
selector and domain from DKIM_SELECTOR and DKIM_DOMAIN; the public key is published at
`<selector>._domainkey.<domain>` (docs/deliverability.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

import dkim
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

# Relaxed for both: a relay that re-folds a header or trims trailing spaces does not break it.
CANONICALIZE = (b"relaxed", b"relaxed")
MIN_KEY_BITS = 1024  # what receivers accept at the least (RFC 8301); 2048 is the norm
_LABELS = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*")


class DkimKeyError(ValueError):
    """The DKIM settings cannot sign; the message says which and why."""


@dataclass(frozen=True)
class DkimKey:
    private_key: bytes  # PEM
    selector: str
    domain: str


def load(private_key: str, selector: str, domain: str) -> DkimKey:
    """A signing key from the settings' values, checked: a PEM RSA key of at least 1024 bits
    (given inline or as a file path), a selector and a domain name."""
    pem = private_key.encode() if "-----BEGIN" in private_key else _read(private_key)
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise DkimKeyError("DKIM_PRIVATE_KEY is not a PEM private key without a password "
                           f"({error})") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_KEY_BITS:
        raise DkimKeyError(f"DKIM_PRIVATE_KEY must be an RSA key of at least {MIN_KEY_BITS} bits "
                           "(2048 recommended)")
    if not _LABELS.fullmatch(selector):
        raise DkimKeyError("DKIM_SELECTOR must be a DNS label such as storeflow or s1")
    if not _LABELS.fullmatch(domain) or "." not in domain:
        raise DkimKeyError("DKIM_DOMAIN must be the domain of your From address, such as "
                           "shop.example.com")
    return DkimKey(pem, selector, domain.lower())


def _read(path: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as error:
        raise DkimKeyError("DKIM_PRIVATE_KEY is neither a PEM key (-----BEGIN ... PRIVATE "
                           f"KEY-----) nor a readable file: {error.strerror}") from None


def sign(message: EmailMessage, key: DkimKey) -> EmailMessage:
    """The message with a DKIM-Signature over its bytes as they will be sent. It is parsed back
    from those bytes, so sending writes them out again unchanged."""
    data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    signature = dkim.sign(data, key.selector.encode(), key.domain.encode(), key.private_key,
                          canonicalize=CANONICALIZE)
    return message_from_bytes(signature + data, policy=message.policy)
