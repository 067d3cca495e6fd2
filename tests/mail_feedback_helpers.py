"""Deliveries signed the way each mail provider signs them (app/mail/feedback), and a local
SNS that serves a signing certificate this test made and answers subscription confirmations."""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from app.mail.feedback.sns import SIGNED
from tests.helpers import FIXTURES

TOPIC = "arn:aws:sns:us-east-1:123456789012:storeflow-ses-feedback"
POSTMARK_PASSWORD = "postmark-webhook-password-0123"
MAILGUN_KEY = "key-mailgun-signing-0123456789"


def fixture(name: str) -> dict | list:
    return json.loads((FIXTURES / "mail" / name).read_text())


def certificate(key: rsa.RSAPrivateKey, valid_from: datetime | None = None) -> bytes:
    """A self-signed PEM certificate for `key`, as SNS's SigningCertURL serves one."""
    start = valid_from or datetime.now(timezone.utc) - timedelta(days=1)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + timedelta(days=365))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class SnsStub:
    """SNS on loopback: /cert.pem (the signing certificate) and /confirm (SubscribeURL)."""
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    requests: list = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> "SnsStub":
        pem, requests = certificate(self.key), self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                requests.append(self.path)
                body = pem if self.path.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def envelope(self, message: dict | str, *, kind: str = "Notification", topic: str = TOPIC,
                 published: datetime | None = None, version: str = "1",
                 cert_url: str | None = None, key: rsa.RSAPrivateKey | None = None) -> dict:
        """An SNS message around `message`, signed as SNS signs it."""
        envelope = {
            "Type": kind, "MessageId": str(uuid.uuid4()), "TopicArn": topic,
            "Message": message if isinstance(message, str) else json.dumps(message),
            "Timestamp": (published or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "SignatureVersion": version,
            "SigningCertURL": cert_url or f"{self.url}/SimpleNotificationService-test.pem",
        }
        if kind == "SubscriptionConfirmation":
            envelope.update(Token="2336412f37fb687f5d51e6e2425f004aed4d", Message="You have chosen to subscribe",
                            SubscribeURL=f"{self.url}/confirm?Action=ConfirmSubscription&Token=2336")
        else:
            envelope["UnsubscribeURL"] = f"{self.url}/unsubscribe"
        canonical = "".join(f"{name}\n{envelope[name]}\n" for name in SIGNED[kind] if name in envelope)
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = (key or self.key).sign(canonical.encode(), padding.PKCS1v15(), algorithm)
        envelope["Signature"] = base64.b64encode(signature).decode()
        return envelope


def ses_notification(name: str, message_id: str, email: str) -> dict:
    """A published SES notification about our message to `email`."""
    notification = copy.deepcopy(fixture(name))
    notification["mail"]["commonHeaders"]["messageId"] = message_id
    for recipients in ("bouncedRecipients", "complainedRecipients"):
        for entry in notification.get(notification["notificationType"].lower(), {}).get(recipients, []):
            entry["emailAddress"] = email
    return notification


class SendGridSigner:
    """Signs bodies with a P-256 key, as SendGrid's Signed Event Webhook does."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        self.public_key = base64.b64encode(der).decode()

    def headers(self, body: bytes, timestamp: str = "1600112502") -> dict:
        signature = self.key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                "X-Twilio-Email-Event-Webhook-Timestamp": timestamp}


def mailgun_signed(payload: dict, key: str = MAILGUN_KEY) -> dict:
    """`payload` with the signature block Mailgun adds."""
    payload = copy.deepcopy(payload)
    timestamp, token = "1534110422", uuid.uuid4().hex
    digest = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    payload["signature"] = {"timestamp": timestamp, "token": token, "signature": digest}
    return payload


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
