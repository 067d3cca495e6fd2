"""connectors.netguard: what counts as a public address, and a session whose every connection
goes to an address that was checked (the SSRF guard behind WooCommerce store URLs)."""
from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from connectors import netguard
from connectors.netguard import AddressRefused, check_host, is_public, public_addresses, public_session
from tests.woo_stub import WooStub

NAME = "shop.attacker.example"  # resolved by the `dns` fixture, not by any real server


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
    "169.254.169.254", "100.64.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.1", "239.1.2.3",
    "198.18.0.1", "240.0.0.1", "::1", "::", "fe80::1", "fc00::1", "fd12::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "fe80::1%eth0",
    # IPv6 forms that carry an IPv4 address a gateway may route inside: NAT64, 6to4,
    # IPv4-compatible, IPv4-translated; and the old site-local range.
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "2002:7f00:1::1", "::7f00:1",
    "::ffff:0:7f00:1", "fec0::1",
])
def test_internal_addresses_are_not_public(address):
    assert not is_public(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "93.184.216.34",
                                     "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_internet_addresses_are_public(address):
    assert is_public(address)


@pytest.mark.parametrize("address, public", [
    ("fe80::1%", False), ("fe80::1%%eth0", False), ("2001:4860:4860::8888%eth0", True),
])
def test_an_address_is_judged_without_its_zone_whatever_the_zone(address, public):
    """The zone (`%eth0`) of a scoped IPv6 answer says which interface, not which address: it
    is cut off before judging, so even one ipaddress would not parse never stops the check."""
    assert is_public(address) is public


@pytest.fixture
def dns(monkeypatch):
    """NAME resolves to the addresses in `dns.answers`, in order, one list per lookup."""
    real = socket.getaddrinfo

    class Resolver:
        answers: list[list[str]] = []
        lookups = 0

        def __call__(self, host, port, *args, **kwargs):
            if host != NAME:
                return real(host, port, *args, **kwargs)
            addresses = self.answers[min(self.lookups, len(self.answers) - 1)]
            self.lookups += 1
            return [info for address in addresses
                    for info in real(address, port, type=socket.SOCK_STREAM)]

    resolver = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return resolver


def test_one_private_answer_among_public_ones_refuses_the_name(dns):
    dns.answers = [["93.184.216.34", "127.0.0.1"]]

    with pytest.raises(AddressRefused, match=rf"{NAME} resolves to a non-public address \(127.0.0.1\)"):
        public_addresses(NAME, 443)


def test_private_answers_are_allowed_only_by_the_development_setting(dns, monkeypatch):
    dns.answers = [["127.0.0.1"]]
    monkeypatch.setattr(netguard.policy, "allow_private", True)

    assert [info[4][0] for info in public_addresses(NAME, 80)] == ["127.0.0.1"]


def test_each_address_is_offered_once_for_a_tcp_connection(monkeypatch):
    """Not once more per datagram and raw socket: an unreachable address is tried once."""
    monkeypatch.setattr(netguard.policy, "allow_private", True)

    answers = public_addresses("127.0.0.1", 80)

    assert [(info[1], info[4][0]) for info in answers] == [(socket.SOCK_STREAM, "127.0.0.1")]


def test_a_name_that_does_not_resolve_yet_may_be_saved_but_a_private_one_may_not(dns):
    check_host("no-such-name.invalid", 443)  # checked again when it is called
    dns.answers = [["10.1.2.3"]]
    with pytest.raises(AddressRefused):
        check_host(NAME, 443)


@pytest.fixture
def stub(monkeypatch):
    server = WooStub().start()
    yield server
    server.stop()


def test_the_connection_goes_to_the_address_that_was_checked(dns, stub, monkeypatch):
    """A name that answers differently on a second lookup (DNS rebinding) cannot change where
    the socket goes: it is opened to the checked address, not looked up again."""
    monkeypatch.setattr(netguard.policy, "allow_private", True)  # the stub is on loopback
    dns.answers = [["127.0.0.1"], ["192.0.2.1"]]  # then an address nothing answers on

    response = public_session().get(f"http://{NAME}:{stub.port}/wp-json/wc/v3/orders",
                                    timeout=5, allow_redirects=False)

    assert response.status_code == 401 and dns.lookups == 1  # the stub answered, unsigned
    assert stub.calls[0].headers["Host"] == f"{NAME}:{stub.port}"  # the name is still sent


def test_plain_http_connections_are_checked_too(dns):
    dns.answers = [["127.0.0.1"]]

    with pytest.raises(AddressRefused):
        public_session().get(f"http://{NAME}/", timeout=5, allow_redirects=False)


def test_https_connections_are_checked_too(dns):
    dns.answers = [["127.0.0.1"]]

    with pytest.raises(AddressRefused):
        public_session().get(f"https://{NAME}/", timeout=5, allow_redirects=False)


def test_each_address_is_tried_in_turn_and_an_unreachable_one_is_a_connection_error(
        dns, stub, monkeypatch):
    monkeypatch.setattr(netguard.policy, "allow_private", True)
    dns.answers = [["127.0.0.2", "127.0.0.1"]]  # the stub listens on 127.0.0.1 only
    url = f"http://{NAME}:{stub.port}/wp-json/wc/v3/orders"

    assert public_session().get(url, timeout=5, allow_redirects=False).status_code == 401
    dns.answers = [["127.0.0.2"]]
    refused = r"Failed to establish a new connection: \[Errno \d+\] Connection refused"
    with pytest.raises(requests.ConnectionError, match=refused):
        public_session().get(url, timeout=5, allow_redirects=False)


def test_a_name_that_does_not_resolve_is_a_clear_connection_error():
    with pytest.raises(requests.ConnectionError,
                       match=r"Failed to resolve 'no-such-name.invalid' \(\[Errno -?\d+\]"):
        public_session().get("https://no-such-name.invalid/", timeout=5, allow_redirects=False)


def test_a_store_on_an_ipv6_address_is_reached(dns, monkeypatch):
    """IPv6 answers carry four fields (flow and scope too); the socket is opened to the address."""
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = type("V6Server", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6})(
        ("::1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(netguard.policy, "allow_private", True)
    dns.answers = [["::1"]]
    try:
        response = public_session().get(f"http://{NAME}:{server.server_address[1]}/",
                                        timeout=5, allow_redirects=False)
    finally:
        server.shutdown()
        server.server_close()

    assert response.status_code == 204


def test_a_store_that_never_accepts_the_connection_times_out(dns, monkeypatch):
    """The caller's timeout bounds the connection too, and the error says it timed out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    waiting = socket.create_connection(listener.getsockname())  # fills the accept queue
    monkeypatch.setattr(netguard.policy, "allow_private", True)
    dns.answers = [["127.0.0.1"]]
    errors: list[Exception] = []

    def connect() -> None:
        try:
            public_session().get(f"http://{NAME}:{listener.getsockname()[1]}/", timeout=0.5,
                                 allow_redirects=False)
        except requests.RequestException as error:
            errors.append(error)

    # In a thread, so a connection that ignores the timeout fails this test within seconds
    # instead of hanging it for the minutes the system's own limit allows.
    caller = threading.Thread(target=connect, daemon=True)
    try:
        caller.start()
        caller.join(5)
        assert not caller.is_alive(), "the connection ignored the caller's timeout"
    finally:
        waiting.close()
        listener.close()
    [error] = errors
    assert isinstance(error, requests.ConnectTimeout)
    assert f"Connection to {NAME} timed out" in str(error)


def test_proxy_settings_in_the_environment_are_ignored(dns, stub, monkeypatch):
    """A proxy would make the connection for us, to wherever it likes, unchecked."""
    monkeypatch.setattr(netguard.policy, "allow_private", True)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    dns.answers = [["127.0.0.1"]]

    response = public_session().get(f"http://{NAME}:{stub.port}/wp-json/wc/v3/orders",
                                    timeout=5, allow_redirects=False)

    assert response.status_code == 401 and len(stub.calls) == 1
