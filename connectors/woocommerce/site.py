"""WooCommerce store URLs: validated before we send a merchant there or make requests to it.

We make server-side requests to this address, so it must name a public host over https on the
default port: IP literals in any spelling (`127.1`, `2130706433`, `[::ffff:7f00:1]`), internal
names and names that resolve to non-public addresses are refused (see connectors.netguard,
which checks again on every connection). With ALLOW_PRIVATE_ADDRESSES (development and tests)
plain http, other ports and loopback hosts are accepted, for a store or a stub on this machine.
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from connectors.netguard import AddressRefused, check_host, policy

LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
INTERNAL_SUFFIXES = (".local", ".localhost", ".internal", ".lan", ".home.arpa")
MAX_LENGTH = 200  # host and path, as stored


def normalize_store_url(value: str) -> str:
    """`https://Shop.Example.com/shop/` -> `https://shop.example.com/shop`; ValueError otherwise."""
    raw = (value or "").strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ValueError("the store URL is not a URL") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (policy.allow_private and scheme == "http"):
        raise ValueError("the store URL must start with https://")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the store URL must not contain credentials")
    if parts.query or parts.fragment:
        raise ValueError("the store URL must not have a query or fragment")
    host = (parts.hostname or "").rstrip(".")
    if not (_sane_host(host) or (policy.allow_private and host)):
        raise ValueError("the store URL needs a public host name like shop.example.com")
    default_port = 443 if scheme == "https" else 80
    if port not in (None, default_port) and not policy.allow_private:
        raise ValueError("the store URL must use the default https port (443)")
    try:
        check_host(host, port or default_port)
    except AddressRefused as error:
        raise ValueError(f"the store URL must name a public host: {error}") from None
    shown = f"[{host}]" if ":" in host else host
    netloc = shown if port in (None, default_port) else f"{shown}:{port}"
    path = parts.path.rstrip("/")
    if len(netloc) + len(path) > MAX_LENGTH:
        raise ValueError(f"the store URL is too long ({MAX_LENGTH} characters at most)")
    if any(c in path for c in " \\\x00"):
        raise ValueError("the store URL's path is not usable")
    return f"{scheme}://{netloc}{path}"


def _sane_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return False
    except ValueError:
        pass
    labels = host.split(".")
    return (len(labels) >= 2 and all(LABEL.match(l) for l in labels)
            and not labels[-1].isdigit() and not labels[-1].startswith("0x")
            and host != "localhost" and not host.endswith(INTERNAL_SUFFIXES))
