"""Optional DKIM signing: what leaves carries a signature that dkimpy's verifier accepts against
the published public key (a DNS answer stubbed with its `dnsfunc`), and that fails once the body
is changed; the settings are checked at start with a clear error."""
from __future__ import annotations

import base64

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.core.config import ConfigError, DkimKey, load_config
from app.core.db import db
from app.mail import dkim_signing
from app.mail.transport import transports
from app.web.ui import staff
from tests.mail_helpers import sent_message

SELECTOR, DOMAIN = "storeflow", "shop.example.com"


def pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def signing(rsa_key, monkeypatch):
    """Storeflow signing with the key; the DNS answer for its selector, as dkimpy asks it."""
    monkeypatch.setattr(transports, "dkim_key", DkimKey(pem(rsa_key).encode(), SELECTOR, DOMAIN))
    public = rsa_key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None
    return dns


def test_a_sent_email_verifies_against_the_published_key(signing, shop, webhooks, run_jobs,
                                                         smtp_sink):
    sent_message(shop, webhooks, run_jobs)
    [raw] = smtp_sink.raw
    assert raw.startswith(b"DKIM-Signature: ") and f"d={DOMAIN};".encode() in raw
    assert dkim.verify(raw, dnsfunc=signing)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert not dkim.verify(head + b"\r\n\r\n" + body.replace(b"Hi there", b"Hi th3re", 1),
                           dnsfunc=signing)
    assert not dkim.verify(raw.replace(b"Subject: ", b"Subject: Re: ", 1), dnsfunc=signing)


def test_a_sign_in_mail_is_signed_too(signing, shop, smtp_sink):
    with db.session() as session:
        member = staff.invite(session, shop.id, "lee@example.com", "viewer", invited_by="test")
    staff.send_sign_in_links([member.id])
    assert dkim.verify(smtp_sink.raw[-1], dnsfunc=signing)


def test_openssl_signs_exactly_as_dkimpys_own_rsa(rsa_key, monkeypatch):
    """Our signer stands in for dkimpy's Python RSA (8-13 ms a signature): same header, byte for
    byte, with either hash dkimpy signs with."""
    key, message = pem(rsa_key).encode(), b"From: a@shop.example.com\r\nSubject: Hi\r\n\r\nHi\r\n"
    monkeypatch.setattr(dkim.time, "time", lambda: 1_796_601_600.0)  # the same t= for both
    for algorithm in (b"rsa-sha256", b"rsa-sha1"):
        dkim_signing._openssl_key.cache_clear()
        ours = dkim.sign(message, SELECTOR.encode(), DOMAIN.encode(), key,
                         canonicalize=dkim_signing.CANONICALIZE, signature_algorithm=algorithm)
        with monkeypatch.context() as python_rsa:
            python_rsa.setattr(dkim, "RSASSA_PKCS1_v1_5_sign", dkim.crypto.RSASSA_PKCS1_v1_5_sign)
            theirs = dkim.sign(message, SELECTOR.encode(), DOMAIN.encode(), key,
                               canonicalize=dkim_signing.CANONICALIZE,
                               signature_algorithm=algorithm)
        assert dkim_signing._openssl_key.cache_info().misses == 1  # dkimpy signed with ours
        assert ours == theirs and b"b=" in ours


def test_without_a_key_nothing_is_signed(shop, webhooks, run_jobs, smtp_sink):
    sent_message(shop, webhooks, run_jobs)
    assert b"DKIM-Signature" not in smtp_sink.raw[-1]


def test_the_key_may_be_given_as_a_file(rsa_key, tmp_path):
    path = tmp_path / "dkim.pem"
    path.write_text(pem(rsa_key))
    config = load_config({"DKIM_PRIVATE_KEY": str(path), "DKIM_SELECTOR": SELECTOR,
                          "DKIM_DOMAIN": DOMAIN})
    assert config.dkim_key == DkimKey(pem(rsa_key).encode(), SELECTOR, DOMAIN)


@pytest.mark.parametrize("settings, error", [
    ({"DKIM_SELECTOR": SELECTOR, "DKIM_DOMAIN": DOMAIN}, "DKIM_PRIVATE_KEY is not set"),
    ({"DKIM_PRIVATE_KEY": "/nowhere/dkim.pem", "DKIM_SELECTOR": SELECTOR, "DKIM_DOMAIN": DOMAIN},
     "neither a PEM key"),
    ({"DKIM_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----",
      "DKIM_SELECTOR": SELECTOR, "DKIM_DOMAIN": DOMAIN}, "not a PEM private key"),
    ({"DKIM_PRIVATE_KEY": pem(ec.generate_private_key(ec.SECP256R1())),
      "DKIM_SELECTOR": SELECTOR, "DKIM_DOMAIN": DOMAIN}, "must be an RSA key"),
    ({"DKIM_PRIVATE_KEY": "KEY", "DKIM_SELECTOR": "not a label", "DKIM_DOMAIN": DOMAIN},
     "DKIM_SELECTOR must be"),
    ({"DKIM_PRIVATE_KEY": "KEY", "DKIM_SELECTOR": SELECTOR, "DKIM_DOMAIN": "localhost"},
     "DKIM_DOMAIN must be"),
])
def test_bad_settings_stop_the_start_with_a_reason(settings, error, rsa_key):
    settings = {name: pem(rsa_key) if value == "KEY" else value for name, value in settings.items()}
    with pytest.raises(ConfigError, match=error):
        load_config(settings)
