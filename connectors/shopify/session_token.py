"""App Bridge session tokens: the JWT the embedded admin UI sends as `Authorization: Bearer`."""
from __future__ import annotations

import jwt

from connectors.shopify.shop import normalize_shop_domain

LEEWAY = 10  # seconds of clock skew tolerated between Shopify and us


class InvalidSessionToken(ValueError):
    """Forged, expired, for another app, or not naming a shop. Says which, never the token."""


def verify(token: str, api_key: str, api_secret: str) -> str:
    """The shop a session token speaks for: HS256 with our secret, `aud` our key, unexpired,
    and `dest` a shop whose admin issued it."""
    try:
        claims = jwt.decode(token, api_secret, algorithms=["HS256"], audience=api_key,
                            leeway=LEEWAY,
                            options={"require": ["exp", "nbf", "iss", "dest", "aud"]})
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
    if not str(claims["iss"]).startswith(f"{dest}/admin"):
        raise InvalidSessionToken("the session token's issuer is not the shop's admin")
    return shop
