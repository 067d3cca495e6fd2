"""Shopify's authorization-code grant: signed install links, the authorize URL, and tokens
(expiring offline tokens with a refresh token, as Shopify requires of public apps)."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Mapping
from urllib.parse import quote, urlencode

import requests

from connectors.shopify.admin import TIMEOUT, endpoint
from connectors.sync import Grant

# Shopify signs install and callback links with a timestamp; older links are replays.
MAX_LINK_AGE = timedelta(days=1)


class GrantError(RuntimeError):
    """Shopify refused to issue a token (a used or expired code, a revoked refresh token)."""


def _escape(value: str, extra: str = "") -> str:
    # Shopify's rule for the signed message: `%` and `&` escaped in keys and values, `=` in keys.
    value = value.replace("%", "%25").replace("&", "%26")
    return value.replace("=", "%3D") if extra == "key" else value


def query_signature(secret: str, params: Mapping[str, str]) -> str:
    """Hex HMAC-SHA256 of the query without `hmac`, keys sorted, as Shopify computes it."""
    message = "&".join(f"{_escape(k, 'key')}={_escape(v)}" for k, v in sorted(params.items())
                       if k not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify_query(secret: str, params: Mapping[str, str], now: datetime) -> bool:
    """True for a link Shopify signed within the last day (constant-time comparison)."""
    given = params.get("hmac", "")
    if not hmac.compare_digest(query_signature(secret, params).encode(), given.encode()):
        return False
    try:
        signed_at = datetime.fromtimestamp(int(params.get("timestamp", "")), now.tzinfo)
    except (ValueError, OverflowError):
        return False
    return now - MAX_LINK_AGE <= signed_at <= now + timedelta(minutes=5)


def authorize_url(shop: str, api_key: str, scopes: str, redirect_uri: str, state: str) -> str:
    """Where the merchant approves the app (offline access: no `grant_options[]`)."""
    query = urlencode({"client_id": api_key, "scope": scopes, "redirect_uri": redirect_uri,
                       "state": state}, quote_via=quote)
    return f"{endpoint.shop_url(shop)}/admin/oauth/authorize?{query}"


def _grant(shop: str, form: dict, now: datetime) -> Grant:
    try:
        response = requests.post(f"{endpoint.shop_url(shop)}/admin/oauth/access_token",
                                 data=form, timeout=TIMEOUT)
    except (requests.ConnectionError, requests.Timeout):
        raise GrantError("Shopify's token endpoint did not answer") from None
    if response.status_code != 200:
        raise GrantError(f"Shopify refused the grant (HTTP {response.status_code})")
    body = response.json()

    def after(seconds) -> datetime | None:
        return now + timedelta(seconds=int(seconds)) if seconds else None

    return Grant(access_token=body["access_token"], scope=body.get("scope", ""),
                 expires_at=after(body.get("expires_in")),
                 refresh_token=body.get("refresh_token"),
                 refresh_token_expires_at=after(body.get("refresh_token_expires_in")))


def exchange_code(shop: str, code: str, api_key: str, api_secret: str, now: datetime) -> Grant:
    """The callback's code -> an expiring offline token and its refresh token."""
    return _grant(shop, {"client_id": api_key, "client_secret": api_secret, "code": code,
                         "expiring": "1"}, now)


def refresh(shop: str, refresh_token: str, api_key: str, api_secret: str,
            now: datetime) -> Grant:
    """A new access token (and a new refresh token: Shopify rotates it on every use)."""
    return _grant(shop, {"client_id": api_key, "client_secret": api_secret,
                         "grant_type": "refresh_token", "refresh_token": refresh_token}, now)


TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN = "urn:shopify:params:oauth:token-type:offline-access-token"


def exchange_session_token(shop: str, session_token: str, api_key: str, api_secret: str,
                           now: datetime) -> Grant:
    """Token exchange: an embedded app's session token -> an expiring offline token, for a shop
    that opened the app before we held a token for it (no redirect through OAuth needed)."""
    return _grant(shop, {"client_id": api_key, "client_secret": api_secret,
                         "grant_type": TOKEN_EXCHANGE, "subject_token": session_token,
                         "subject_token_type": ID_TOKEN, "requested_token_type": OFFLINE_TOKEN,
                         "expiring": "1"}, now)
