"""The signature both platforms put on webhooks, and our storefront senders copy: base64
HMAC-SHA256 of the raw body with a shared secret."""
from __future__ import annotations

import base64
import hashlib
import hmac


def sign(secret: str, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, body))."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """Constant-time comparison of a delivered signature with our own."""
    return hmac.compare_digest(sign(secret, body).encode(), signature.encode())
