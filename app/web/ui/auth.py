"""Who is signed in to the settings UI: single-use login links, the session cookie, CSRF.

A merchant signs in with a link from `storeflow login-link`: signed with SECRET_KEY (its own
salt), naming one store, valid for 15 minutes and accepted once (its nonce is spent in Redis).
From the WordPress admin, the companion plugin asks for a link server to server
(app/web/wordpress_sign_in.py): the same kind of link, naming the WordPress user, for a minute.
The session is Flask's signed cookie, so no table is needed; it names a random session id that
must also be live in Redis, so signing out (which deletes it) ends the session at once, even for
a copy of the cookie. Every form carries the session's CSRF token, compared in constant time.

Inside the Shopify admin (the embedded app) a request carries an App Bridge session token
instead of a cookie, which a third-party iframe would not send: in the `Authorization: Bearer`
header of a fetch (App Bridge adds it), or as `id_token` in the URL of the app's first load
(Shopify adds it) and of its links and forms (ui.js adds a fresh one). It is verified (and the
shop installed by token exchange if we hold no token for it) before the cookie is looked at.
Such a request needs no CSRF token: only App Bridge, inside the shop's admin, can mint one.
"""
from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import abort, g, request, session
from itsdangerous import BadSignature

from app.ingest.identity import Signer
from app.jobs import broker
from app.web.install_shopify import connect_embedded
from connectors.shopify.credentials import embedded_staff_member
from connectors.shopify.oauth import GrantError
from connectors.shopify.session_token import InvalidSessionToken

LOGIN_SALT = "storeflow.ui-login"
LOGIN_MAX_AGE = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
CSRF_FIELD, CSRF_HEADER = "csrf_token", "X-CSRF-Token"
ID_TOKEN = "id_token"  # Shopify's name for the session token in an embedded app's URL
SPENT_KEY = "storeflow:ui-login-spent:{}"
SESSION_ID = "sid"
MEMBER = "member"  # who signed in, when the link named them
STAFF_ID = "staff_id"  # their app.web.ui.staff row, checked on every request
LIVE_KEY = "storeflow:ui-session:{}:{}"  # store id, session id

signer = Signer(LOGIN_SALT)


class SessionTokenRefused(Exception):
    """The request's Shopify session token is forged, for another app, or expired."""


@dataclass(frozen=True)
class Login:
    """Who a redeemed link signs in: a store, the person it was made for if one was named
    (`"owner@example.com (WordPress user 7)"`; None for an operator's `storeflow login-link`),
    and their app.web.ui.staff row when they are staff (whose role then applies)."""
    store_id: int
    member: str | None = None
    staff_id: int | None = None


def login_token(store_id: int, *, lifetime: timedelta = LOGIN_MAX_AGE,
                member: str | None = None, staff_id: int | None = None) -> str:
    """A signed, single-use sign-in token for one store, valid for `lifetime` (at most
    LOGIN_MAX_AGE)."""
    return signer.serializer().dumps({"s": store_id, "n": secrets.token_urlsafe(16),
                                      "t": int(min(lifetime, LOGIN_MAX_AGE).total_seconds()),
                                      "m": member, "k": staff_id})


def redeem(token: str) -> Login | None:
    """Whom a token signs in, spending it; None if forged, expired or already used."""
    try:
        data, issued = signer.serializer().loads(
            token, max_age=int(LOGIN_MAX_AGE.total_seconds()), return_timestamp=True)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int) \
            or not isinstance(data.get("n"), str) or not isinstance(data.get("t"), int) \
            or not isinstance(data.get("m"), (str, type(None))) \
            or not isinstance(data.get("k"), (int, type(None))):
        return None
    if time.time() - issued.timestamp() > data["t"]:
        return None
    # Kept a little longer than the token lives, so a replay can never find the nonce gone.
    spent = broker.connection.set(SPENT_KEY.format(data["n"]), 1, nx=True,
                                  ex=int(LOGIN_MAX_AGE.total_seconds()) + 60)
    return Login(data["s"], data["m"], data["k"]) if spent else None


def sign_in(login: Login) -> None:
    """Start a fresh session (never one an attacker could have planted) for one store."""
    session.clear()
    session.permanent = True
    session["store_id"] = login.store_id
    session[MEMBER] = login.member
    session[STAFF_ID] = login.staff_id
    session[SESSION_ID] = secrets.token_urlsafe(32)
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    broker.connection.set(_live_key(), 1, ex=SESSION_LIFETIME)


def sign_out() -> None:
    """End the session here and on the server: a copy of the cookie signs in no more."""
    key = _live_key()
    if key:
        broker.connection.delete(key)
    session.clear()


def _live_key() -> str | None:
    store_id, session_id = session.get("store_id"), session.get(SESSION_ID)
    if not isinstance(store_id, int) or not isinstance(session_id, str):
        return None
    return LIVE_KEY.format(store_id, session_id)


def _cookie_store_id() -> int | None:
    """The cookie's store while its session is live; each use keeps it live for another
    SESSION_LIFETIME, as the cookie itself is renewed on each response."""
    key = _live_key()
    return session["store_id"] if key and broker.connection.expire(key, SESSION_LIFETIME) else None


def session_token() -> str | None:
    """The request's Shopify session token, as an Authorization value, or None."""
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization
    token = page_token()
    return f"Bearer {token}" if token else None


def page_token() -> str | None:
    """A session token sent in the URL or a form (a page of the embedded app, not a fetch)."""
    return request.args.get(ID_TOKEN) or request.form.get(ID_TOKEN)


def signed_in_store_id() -> int | None:
    """The store this request acts for (by session token, else by cookie), or None."""
    if session_token():
        return _embedded_store_id(session_token())
    return _cookie_store_id()


def _embedded_store_id(authorization: str) -> int:
    try:
        return connect_embedded(authorization)
    except InvalidSessionToken as error:
        raise SessionTokenRefused(str(error)) from None
    except GrantError:
        abort(503, "Shopify did not grant access to this shop; reload the app in the admin")


def actor() -> str:
    """Who acts in this request, as the audit log names them."""
    if session_token():
        try:
            member = embedded_staff_member(session_token())
        except InvalidSessionToken:  # expired since _identify
            member = None
        return f"Shopify staff member {member}" if member else "the Shopify admin"
    return session.get(MEMBER) or "an operator's sign-in link"


def csrf_token() -> str:
    """The session's CSRF token, for forms and the JS that posts them."""
    return session.get(CSRF_FIELD, "")


def ensure_csrf_token() -> None:
    """Give a signed-out browser a CSRF token for the one form it can post (asking for a
    sign-in link); signing in replaces it."""
    session.setdefault(CSRF_FIELD, secrets.token_urlsafe(32))


def check_csrf() -> None:
    """Refuse (400) an unsafe request whose form or header lacks the session's CSRF token.
    A request whose Shopify session token was verified (g.embedded) needs none; one that merely
    carries a token, on a page that verifies none (the sign-in form), does."""
    if request.method in ("GET", "HEAD", "OPTIONS") or g.get("embedded"):
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = csrf_token()
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, "This form has expired. Reload the page and try again.")


def cookie_settings(base_url: str) -> dict:
    """Flask settings for the session cookie: HttpOnly, SameSite=Lax, Secure unless plain http."""
    return {"SESSION_COOKIE_NAME": "storeflow_session", "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": not base_url.startswith("http://"),
            "PERMANENT_SESSION_LIFETIME": SESSION_LIFETIME}
