"""Who may use the operator's pages: HTTP Basic as `admin` with ADMIN_PASSWORD, writes from our
own pages only.

A browser resends Basic credentials with every request to our origin, including a form another
site submits or an image it loads, so unlike the settings UI's session there is no token to
check: a write must say (Sec-Fetch-Site, Origin) that it came from our own origin.
"""
from __future__ import annotations

import hmac
import logging
from urllib.parse import urlsplit

from flask import Response, abort, jsonify, request

log = logging.getLogger(__name__)
USER = "admin"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CHALLENGE = {"WWW-Authenticate": 'Basic realm="Storeflow admin", charset="UTF-8"'}


def check(password: str | None, base_url: str) -> Response | None:
    """None if the request may go on; otherwise the refusal (or an abort: 404, 403).

    404 while no password is set: the page does not exist. The 401 is returned, not aborted,
    because the app's JSON error handler would drop its WWW-Authenticate header."""
    if password is None:
        abort(404)
    if not signed_in(password):
        challenge = jsonify(error="sign in as admin")
        challenge.status_code = 401
        challenge.headers.update(CHALLENGE)
        return challenge
    if request.method not in SAFE_METHODS and not same_origin(base_url):
        log.warning("admin write refused: not from %s", origin_of(base_url))
        abort(403, "cross-site request refused")
    return None


def signed_in(password: str) -> bool:
    """True for Basic credentials `admin` / `password`; a wrong attempt is logged, never its text."""
    sent = request.authorization
    if sent is None or sent.type != "basic":
        return False
    # Both compared in full, so the time taken does not tell which of the two was wrong.
    user_ok = hmac.compare_digest((sent.username or "").encode(), USER.encode())
    password_ok = hmac.compare_digest((sent.password or "").encode(), password.encode())
    if not (user_ok and password_ok):
        log.warning("admin sign-in refused: wrong user name or password")
        return False
    return True


def same_origin(base_url: str) -> bool:
    """False when the browser says another site sent the request, or its Origin is not ours.
    Clients that send neither header (curl, scripts) carry no browser's stored credentials."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return False
    origin = request.headers.get("Origin")
    return origin is None or origin.lower() == origin_of(base_url)


def origin_of(url: str) -> str:
    """The scheme://host[:port] a browser would send as Origin for pages under `url`."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
