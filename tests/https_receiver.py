"""A merchant's webhook receiver on loopback, over real TLS: a certificate made for 127.0.0.1
(its own CA), and every POST kept with its headers; it answers with the statuses it is given.
The certificate and the TLS server serve other loopback stand-ins too (a logo's CDN)."""
from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """(certificate, key) PEM files for `host` (an IPv4 address or a name), the certificate
    its own authority."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    try:
        alt = x509.IPAddress(IPv4Address(host))
    except ValueError:
        alt = x509.DNSName(host)
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "receiver.pem", directory / "receiver.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def serve_tls(handler: type[BaseHTTPRequestHandler], cert: Path, key: Path) -> ThreadingHTTPServer:
    """`handler` serving HTTPS on a free loopback port, in a thread of its own."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class Receiver:
    directory: Path
    statuses: list[int] = field(default_factory=list)  # answered in turn, then 200
    received: list[tuple[dict, bytes]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    ca: Path | None = None

    def start(self) -> "Receiver":
        self.ca, key = self_signed(self.directory)
        received, statuses = self.received, self.statuses

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(statuses.pop(0) if statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = serve_tls(Handler, self.ca, key)
        return self

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}/hooks/storeflow"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
