"""Amazon SNS's message signatures, the way AWS's own validators check them
(aws/aws-php-sns-message-validator, aws-js-sns-message-validator): the certificate named by
SigningCertURL must be served over https from an `sns.<region>.amazonaws.com` host (an S3 bucket
under amazonaws.com will not do), and its key must verify the message's canonical string
(SHA1 for SignatureVersion 1, SHA256 for 2).

No Python library for this is both maintained and small (boto3 has no validator; the PyPI ones
are unmaintained), so it is written here on `cryptography`. Certificates are fetched through
connectors.netguard (public addresses only, no redirects) and kept for a day.
"""
from __future__ import annotations

import base64
import binascii
import re
import threading
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.core import clock
from app.mail.feedback import Malformed, Refused
from connectors.netguard import public_session

SNS_HOST = re.compile(r"^sns\.[a-z0-9-]{3,}\.amazonaws\.com(\.cn)?$")
# The fields each message type signs, in the order they are signed (Subject only when present).
SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"),
}
SIGNED["UnsubscribeConfirmation"] = SIGNED["SubscriptionConfirmation"]
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
# SNS retries an HTTP endpoint for minutes (the default policy: 3 tries 20 s apart), always with
# the Timestamp it was published with: an older message is a replay.
MAX_AGE = timedelta(hours=1)
CLOCK_SKEW = timedelta(minutes=5)
CERTIFICATE_TTL = 24 * 3600
MAX_CERTIFICATE_BYTES = 64 * 1024
TIMEOUT = 5


class Sns:
    """Fetches and keeps SNS signing certificates; confirms subscriptions."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[float, rsa.RSAPublicKey]] = {}
        self._lock = threading.Lock()

    def trusted(self, url: str) -> bool:
        """An https URL on an SNS host, default port, no user info (tests point this at a stub)."""
        parts = urlsplit(url)
        return (parts.scheme == "https" and parts.port in (None, 443) and not parts.username
                and bool(SNS_HOST.match(parts.hostname or "")))

    def public_key(self, url: str) -> rsa.RSAPublicKey:
        """The key of the certificate at `url`, from the cache or fetched once."""
        if not (self.trusted(url) and urlsplit(url).path.endswith(".pem")):
            raise Refused("SigningCertURL is not an SNS certificate URL")
        with self._lock:
            cached = self._keys.get(url)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        key = self._fetch(url)
        with self._lock:
            self._keys[url] = (time.monotonic() + CERTIFICATE_TTL, key)
        return key

    def _fetch(self, url: str) -> rsa.RSAPublicKey:
        try:
            with public_session() as session:
                response = session.get(url, timeout=TIMEOUT, allow_redirects=False, stream=True)
                body = response.raw.read(MAX_CERTIFICATE_BYTES + 1, decode_content=True)
        except (OSError, ValueError) as error:  # requests' errors and netguard's refusal
            raise Refused(f"the signing certificate could not be fetched ({type(error).__name__})") from None
        if response.status_code != 200 or len(body) > MAX_CERTIFICATE_BYTES:
            raise Refused("the signing certificate could not be fetched")
        try:
            certificate = x509.load_pem_x509_certificate(body)
        except ValueError:
            raise Refused("the signing certificate is not a PEM certificate") from None
        now = clock.now()
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise Refused("the signing certificate is not valid now")
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise Refused("the signing certificate's key is not RSA")
        return key

    def confirm(self, url: str) -> None:
        """Visit a SubscriptionConfirmation's SubscribeURL (an SNS host only)."""
        if not self.trusted(url):
            raise Refused("SubscribeURL is not an SNS URL")
        try:
            with public_session() as session:
                response = session.get(url, timeout=TIMEOUT, allow_redirects=False)
        except (OSError, ValueError) as error:
            raise Refused(f"the subscription could not be confirmed ({type(error).__name__})") from None
        if response.status_code != 200:
            raise Refused(f"SNS answered {response.status_code} to the confirmation")

    def forget(self) -> None:
        with self._lock:
            self._keys.clear()


sns = Sns()


def verify(envelope: dict) -> None:
    """Raise Refused unless `envelope` is an SNS message signed by SNS, published within the
    last hour; Malformed if it is not shaped like one."""
    kind = envelope.get("Type")
    fields = SIGNED.get(kind) if isinstance(kind, str) else None
    algorithm = HASHES.get(envelope.get("SignatureVersion"))
    if fields is None or algorithm is None:
        raise Malformed("not an SNS message of a known Type and SignatureVersion")
    required = [name for name in fields if name != "Subject"] + ["Signature", "SigningCertURL"]
    if any(not isinstance(envelope.get(name), str) for name in required):
        raise Malformed("an SNS field is missing")
    _check_age(envelope["Timestamp"])
    try:
        signature = base64.b64decode(envelope["Signature"], validate=True)
    except binascii.Error:
        raise Refused("the signature is not base64") from None
    canonical = "".join(f"{name}\n{envelope[name]}\n" for name in fields
                        if isinstance(envelope.get(name), str))
    key = sns.public_key(envelope["SigningCertURL"])
    try:
        key.verify(signature, canonical.encode(), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise Refused("bad SNS signature") from None


def _check_age(timestamp: str) -> None:
    try:
        published = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        raise Malformed("Timestamp is not ISO 8601") from None
    if published.tzinfo is None:
        raise Malformed("Timestamp has no time zone")
    age = clock.now() - published
    if age > MAX_AGE or age < -CLOCK_SKEW:
        raise Refused("the SNS message was not published within the last hour (a replay?)")
