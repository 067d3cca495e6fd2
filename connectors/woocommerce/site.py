"""WooCommerce store URLs: validated before we send a merchant there or make requests to it."""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

# A DNS name of at least two labels; IP literals and internal names are refused, because we
# make server-side requests to this address (no pointing us at our own network).
LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
INTERNAL_SUFFIXES = (".local", ".localhost", ".internal", ".lan", ".home.arpa")


def normalize_store_url(value: str) -> str:
    """`https://Shop.Example.com/shop/` -> `https://shop.example.com/shop`; ValueError otherwise."""
    raw = (value or "").strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ValueError("the store URL is not a URL") from None
    if parts.scheme.lower() != "https":
        raise ValueError("the store URL must start with https://")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the store URL must not contain credentials")
    if parts.query or parts.fragment:
        raise ValueError("the store URL must not have a query or fragment")
    host = (parts.hostname or "").rstrip(".")
    if not _sane_host(host):
        raise ValueError("the store URL needs a public host name like shop.example.com")
    netloc = host if port in (None, 443) else f"{host}:{port}"
    path = parts.path.rstrip("/")
    if len(netloc) + len(path) > 200 or any(c in path for c in " \\\x00"):
        raise ValueError("the store URL's path is not usable")
    return f"https://{netloc}{path}"


def _sane_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return False
    except ValueError:
        pass
    labels = host.split(".")
    return (len(labels) >= 2 and len(host) <= 253 and all(LABEL.match(l) for l in labels)
            and not labels[-1].isdigit() and host != "localhost"
            and not host.endswith(INTERNAL_SUFFIXES))
