"""Storeflow as a Shopify app: its credentials (bound once per process), and the embedded
admin's session tokens, which are signed with them."""
from __future__ import annotations

from dataclasses import dataclass

from connectors.shopify import session_token


@dataclass
class AppCredentials:
    api_key: str | None = None
    api_secret: str | None = None
    scopes: str = ""
    base_url: str = ""  # ours: the install callback lives under it

    @property
    def configured(self) -> bool:
        return bool(self.api_key and self.api_secret)


credentials = AppCredentials()


def configure(api_key: str | None, api_secret: str | None, scopes: str, base_url: str) -> None:
    credentials.api_key, credentials.api_secret = api_key, api_secret
    credentials.scopes, credentials.base_url = scopes, base_url


def embedded_shop(authorization: str) -> str:
    """The shop an embedded-admin request comes from (`Authorization: Bearer <session token>`);
    raises session_token.InvalidSessionToken. The settings UI scopes every query to it."""
    return session_token.verify(_bearer(authorization), credentials.api_key,
                                credentials.api_secret)


def embedded_staff_member(authorization: str) -> str | None:
    """Shopify's id of the staff member an embedded-admin request comes from, for the audit log."""
    return session_token.staff_member(_bearer(authorization), credentials.api_key,
                                      credentials.api_secret)


def _bearer(authorization: str) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise session_token.InvalidSessionToken("no session token")
    return token.strip()
