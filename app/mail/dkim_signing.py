"""DKIM signing (RFC 6376) with dkimpy: the last step before a message leaves, once every header
is final, for self-hosters whose own mail server does not sign. The key is read and checked with
the other settings (app.config: DKIM_PRIVATE_KEY, DKIM_SELECTOR, DKIM_DOMAIN); its public half is
published at `<selector>._domainkey.<domain>` (docs/deliverability.md).

dkimpy canonicalizes, hashes and writes the header; its RSA, written in Python, took 8-13 ms a
signature here, more than the rest of an email's send. OpenSSL (through `cryptography`) makes
the same signature in under a millisecond, and RSASSA-PKCS1-v1_5 is deterministic, so the
header is byte for byte the one dkimpy's own RSA writes (tests/test_dkim.py holds them equal).
"""
from __future__ import annotations

import functools

import dkim
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from app.core.config import DkimKey
from app.mail.mime import Mail

# Relaxed for both: a relay that re-folds a header or trims trailing spaces does not break it.
CANONICALIZE = (b"relaxed", b"relaxed")
_HASHES = {"sha256": hashes.SHA256, "sha1": hashes.SHA1}


def sign(message: Mail, key: DkimKey) -> Mail:
    """The message with a DKIM-Signature over its bytes as they will be sent."""
    return message.signed(dkim.sign(message.data, key.selector.encode(), key.domain.encode(),
                                    key.private_key, canonicalize=CANONICALIZE))


def rsassa_pkcs1_v1_5_sign(digest, private_key: dict) -> bytes:
    """dkimpy's `RSASSA_PKCS1_v1_5_sign(hash, private_key)`, computed by OpenSSL: `digest` is the
    hash dkimpy fed, `private_key` the key as dkimpy parsed it."""
    numbers = rsa.RSAPrivateNumbers(
        p=private_key["prime1"], q=private_key["prime2"], d=private_key["privateExponent"],
        dmp1=private_key["exponent1"], dmq1=private_key["exponent2"],
        iqmp=private_key["coefficient"],
        public_numbers=rsa.RSAPublicNumbers(private_key["publicExponent"],
                                            private_key["modulus"]))
    return _openssl_key(numbers).sign(digest.digest(), padding.PKCS1v15(),
                                      utils.Prehashed(_HASHES[digest.name.lower()]()))


@functools.lru_cache(maxsize=4)
def _openssl_key(numbers: rsa.RSAPrivateNumbers) -> rsa.RSAPrivateKey:
    # Loading checks the key, about as long as a signature: once per key and process.
    return numbers.private_key()


# dkimpy calls it by this module-level name when it signs with RSA.
dkim.RSASSA_PKCS1_v1_5_sign = rsassa_pkcs1_v1_5_sign
