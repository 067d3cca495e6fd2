"""DKIM signing per email: dkimpy's own RSA (written in Python, the baseline) against OpenSSL's
through `cryptography`, which app.mail.dkim_signing gives dkimpy; a 2048-bit key, an
abandoned-checkout-sized message, the same header either way.

`python -m bench.dkim [--signatures N]` prints the figures and appends them to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import time
from unittest import mock

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.mail import dkim_signing
from bench.harness import load_note, record

MESSAGE = (b"From: Shop <hello@shop.example.com>\r\nTo: ann@example.com\r\n"
           b"Subject: You left something behind\r\n\r\n" + b"A line of the email's text.\r\n" * 400)


def per_signature_ms(key: bytes, signatures: int) -> float:
    started = time.perf_counter()
    for _ in range(signatures):
        dkim.sign(MESSAGE, b"storeflow", b"shop.example.com", key,
                  canonicalize=dkim_signing.CANONICALIZE)
    return (time.perf_counter() - started) / signatures * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signatures", type=int, default=200)
    args = parser.parse_args()
    note = load_note()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    with mock.patch.object(dkim, "RSASSA_PKCS1_v1_5_sign", dkim.crypto.RSASSA_PKCS1_v1_5_sign):
        python_rsa = per_signature_ms(key, args.signatures)
    openssl = per_signature_ms(key, args.signatures)
    record("DKIM signing (bench/dkim.py)", [
        note, "",
        f"{args.signatures} signatures each of a {len(MESSAGE):,}-byte message, relaxed/relaxed, "
        "rsa-sha256, 2048-bit key.", "",
        "| signer | ms per email | ratio |", "|---|---|---|",
        f"| dkimpy's RSA in Python (baseline) | {python_rsa:.2f} | 1 |",
        f"| OpenSSL through `cryptography` (Storeflow) | {openssl:.2f} | "
        f"{openssl / python_rsa:.3f} |", "",
    ])


if __name__ == "__main__":
    main()
