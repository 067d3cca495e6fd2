"""App Bridge session tokens: the JWT the embedded admin UI sends as `Authorization: Bearer`."""
from __future__ import annotations

import jwt

from connectors.shopify.shop import normalize_shop_domain

LEEWAY = 10  # seconds of clock skew tolerated between Shopify and us
# Shopify's tokens live a minute; one made to live longer is no token of Shopify's, and would
# stay good long after it leaked.
MAX_LIFETIME = 5 * 60


class InvalidSessionToken(ValueError):
    """Forged, expired, for another app, or not naming a shop. Says which, never the token."""


def verify(token: str, api_key: str, api_secret: str) -> str:
    """The shop a session token speaks for: HS256 with our secret, `aud` our key, unexpired,
    living minutes at most, and `dest` a shop whose admin (`iss`) issued it."""
    return _verified(token, api_key, api_secret)[0]


def staff_member(token: str, api_key: str, api_secret: str) -> str | None:
    """The shop's staff member the token was made for (its `sub`, Shopify's user id), once the
    token passes `verify`; None when it names nobody."""
    sub = _verified(token, api_key, api_secret)[1].get("sub")
    return str(sub) if sub is not None else None


def _verified(token: str, api_key: str, api_secret: str) -> tuple[str, dict]:
    """(shop, claims) of a token that passes every check of `verify`."""
    try:
        claims = jwt.decode(token, api_secret, algorithms=["HS256"], audience=api_key,
                            leeway=LEEWAY,
                            options={"require": ["exp", "nbf", "iat", "iss", "dest", "aud"]})
    except jwt.ExpiredSignatureError:
        raise InvalidSessionToken("the session token has expired") from None
    except jwt.InvalidAudienceError:
        raise InvalidSessionToken("the session token is for another app") from None
    except jwt.PyJWTError:
        raise InvalidSessionToken("the session token is not valid") from None
    dest = str(claims["dest"])
    if not dest.startswith("https://"):
        raise InvalidSessionToken("the session token names no shop")
    try:
        shop = normalize_shop_domain(dest[len("https://"):])
    except ValueError:
        raise InvalidSessionToken("the session token names no shop") from None
    if claims["iss"] != f"{dest}/admin":
        raise InvalidSessionToken("the session token's issuer is not the shop's admin")
    # PyJWT has checked that both are numbers.
    if claims["exp"] - min(claims["nbf"], claims["iat"]) > MAX_LIFETIME:
        raise InvalidSessionToken("the session token lives too long")
    return shop, claims
