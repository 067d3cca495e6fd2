"""The logo's image, read once when its link is saved: over real TLS from a CDN stand-in on
loopback (its certificate made for the CDN's name), through netguard's public session, through
the real CLI. An attacker's link to this machine or to a cloud's metadata address is refused
before a byte is asked for; a huge file is refused without being downloaded whole."""
from __future__ import annotations

import socket
import struct
import zlib
from http.server import BaseHTTPRequestHandler

import pytest

from app.core import logo_image
from connectors import netguard
from tests.https_receiver import self_signed, serve_tls
from tests.test_settings_validation import stored_store

CDN = "cdn.fernhill.example"
HUGE = 200_000_000


def png(width: int, height: int) -> bytes:
    """A real (blank, greyscale) PNG of this size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    rows = zlib.compress(b"".join(b"\0" + b"\xff" * width for _ in range(height)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                             0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\0" * 40


class Cdn:
    """An HTTPS server for CDN, answering each path as FILES says; counts the bytes it sent."""

    FILES = {"/logo.png": png(400, 100), "/tiny.png": png(120, 16),
             "/poster.png": png(4000, 1000), "/logo-as.png": WEBP}

    def __init__(self, directory):
        self.ca, key = self_signed(directory, CDN)
        self.sent = 0
        cdn = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                if self.path.startswith("/huge"):  # ignores Range, as some servers do
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    if self.path == "/huge.png":
                        self.send_header("Content-Length", str(HUGE))
                    else:  # /huge-unstated.png: no length, the connection closes at the end
                        self.send_header("Connection", "close")
                    self.end_headers()
                    try:
                        self.wfile.write(png(400, 100)[:33])
                        for _ in range(HUGE // 65536):
                            self.wfile.write(b"\0" * 65536)
                            cdn.sent += 65536
                    except OSError:
                        pass  # the client stopped reading: what we wanted
                    return
                body = Cdn.FILES.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes 0-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        self.server = serve_tls(Handler, self.ca, key)

    def url(self, path: str) -> str:
        return f"https://{CDN}:{self.server.server_address[1]}{path}"


@pytest.fixture
def resolves_to(monkeypatch):
    """resolves_to(address): every name in a logo link resolves to `address`."""
    real = socket.getaddrinfo

    def point(address: str) -> None:
        monkeypatch.setattr(socket, "getaddrinfo",
                            lambda host, *args, **kwargs: real(address, *args, **kwargs))
    return point


@pytest.fixture
def cdn(tmp_path, monkeypatch, resolves_to):
    """The CDN on loopback (allowed here only), trusted as a real CDN's certificate would be."""
    server = Cdn(tmp_path)
    resolves_to("127.0.0.1")
    monkeypatch.setattr(netguard.policy, "allow_private", True)
    monkeypatch.setenv("ALLOW_PRIVATE_ADDRESSES", "1")  # for `storeflow` run in this process

    def trusting():
        session = netguard.public_session()
        session.verify = str(server.ca)
        return session
    monkeypatch.setattr(logo_image, "public_session", trusting)
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.0.0.7"])
def test_a_logo_link_to_this_machine_or_a_metadata_address_is_refused(
        storeflow, shop, resolves_to, monkeypatch, address):
    monkeypatch.setattr(netguard.policy, "allow_private", False)
    monkeypatch.delenv("ALLOW_PRIVATE_ADDRESSES", raising=False)  # production's setting
    resolves_to(address)

    cli = storeflow("settings", "set", "--store", shop.domain,
                    "logo_url=https://logo.attacker.example/logo.png", ok=False)

    assert cli.exit_code == 2
    assert "logo_url: the image's host is not on the public internet" in cli.output
    assert "logo_url" not in stored_store(shop.id)


def test_a_sharp_png_of_a_sensible_size_is_saved(storeflow, shop, cdn):
    storeflow("settings", "set", "--store", shop.domain, f"logo_url={cdn.url('/logo.png')}")
    assert stored_store(shop.id)["logo_url"] == cdn.url("/logo.png")


@pytest.mark.parametrize("path, reason", [
    ("/huge.png", "the image is 200.0 MB; keep the logo under 500 KB"),
    ("/huge-unstated.png", "the image is over 500 KB; keep the logo under 500 KB"),
])
def test_a_huge_file_is_refused_without_downloading_it_whole(cdn, path, reason):
    assert logo_image.problem(cdn.url(path)).startswith(reason)
    # The client reads at most 500 KB; loopback's socket buffers (several MB each way) take
    # more from the server before the hang-up reaches it, never the whole file.
    assert cdn.sent < HUGE / 10


@pytest.mark.parametrize("path, reason", [
    ("/poster.png", "the image is 4000x1000 px; at most 2000 px a side"),
    ("/tiny.png", "the image is 120x16 px; at least 40 px high"),
    ("/logo-as.png", "the image is WebP, which Outlook for Windows does not show"),
    ("/gone.png", "the link answered HTTP 404"),
])
def test_what_the_image_really_is_is_checked(storeflow, shop, cdn, path, reason):
    cli = storeflow("settings", "set", "--store", shop.domain, f"logo_url={cdn.url(path)}",
                    ok=False)
    assert cli.exit_code == 2 and f"logo_url: {reason}" in cli.output


def test_a_webp_link_is_refused_by_its_form_with_the_reason(storeflow, shop):
    cli = storeflow("settings", "set", "--store", shop.domain,
                    "logo_url=https://cdn.fernhill.example/logo.webp", ok=False)
    assert "Outlook for Windows does not show WebP" in cli.output
