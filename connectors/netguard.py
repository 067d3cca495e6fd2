"""Outbound calls to addresses a merchant (or a stranger) typed reach the public internet only.

A store URL is checked when it is saved and again on every connection: the host is resolved,
every address it resolves to must be public (not loopback, private, link-local, shared,
multicast, reserved or unspecified; IPv4-mapped IPv6 is judged as the IPv4 it maps), and the
socket is opened to the address that was checked, so a name cannot resolve to a public address
for the check and a private one for the connection. Callers follow no redirects.
`ALLOW_PRIVATE_ADDRESSES=1` lifts all of this for local development and tests,
where the store is a stub on loopback; production leaves it unset.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection


class AddressRefused(ValueError):
    """The host is, or resolves to, an address outside the public internet."""


@dataclass
class Policy:
    """Whether private addresses are allowed (development and tests only); set at start-up."""
    allow_private: bool = False

    def configure(self, allow_private: bool) -> None:
        self.allow_private = allow_private


policy = Policy()


# Global unicast IPv6 is 2000::/3; within it, 6to4 (2002::/16) carries an IPv4 address that may
# be internal. NAT64, IPv4-compatible, IPv4-translated and site-local forms lie outside 2000::/3.
GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


def is_public(address: str) -> bool:
    """True for an address on the public internet (IPv4-mapped IPv6 judged as its IPv4; IPv6
    forms that could carry an internal IPv4 address refused)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip not in GLOBAL_UNICAST_V6 or ip in SIX_TO_FOUR:
            return False
    return ip.is_global and not ip.is_multicast


def public_addresses(host: str, port: int) -> list[tuple]:
    """getaddrinfo's answers for host:port, refused unless every address is public.
    socket.gaierror (the name does not resolve) passes through."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not policy.allow_private:
        refused = sorted({info[4][0] for info in answers if not is_public(info[4][0])})
        if refused:
            raise AddressRefused(f"{host} resolves to a non-public address ({refused[0]})")
    return answers


def check_host(host: str, port: int) -> None:
    """Refuse a host that resolves to a non-public address now; one that does not resolve yet
    is allowed (it is checked again on every connection)."""
    try:
        public_addresses(host, port)
    except socket.gaierror:
        pass


class _PinnedConnection(HTTPConnection):
    """Connects only to a checked public address of its host (TLS still verifies the name)."""

    def _new_conn(self) -> socket.socket:
        try:
            answers = public_addresses(self._dns_host, self.port)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        last: OSError | None = None
        for family, kind, proto, _, address in answers:
            try:
                return connection.create_connection(
                    address[:2], self.timeout, source_address=self.source_address,
                    socket_options=self.socket_options)
            except socket.timeout as error:
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out") from error
            except OSError as error:
                last = error
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")


class _PinnedHTTPSConnection(_PinnedConnection, HTTPSConnection):
    pass


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PinnedPool", (HTTPConnectionPool,), {"ConnectionCls": _PinnedConnection}),
            "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,),
                          {"ConnectionCls": _PinnedHTTPSConnection}),
        }


def public_session() -> requests.Session:
    """A requests session whose every connection goes to a checked public address and that
    ignores proxy settings from the environment. Callers pass allow_redirects=False: a redirect
    could name another host or scheme."""
    session = requests.Session()
    session.trust_env = False
    for scheme in ("http://", "https://"):
        session.mount(scheme, _Adapter())
    return session
