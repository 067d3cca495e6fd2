"""A logo link's image, looked at once when the merchant saves it (UI and CLI alike): that it
is a PNG, JPEG or GIF on the public internet, at most MAX_BYTES and of a size an email header
can show sharply.

It is read through netguard's public session (no private or metadata address, no redirect),
with a timeout, and never more than its first READ_BYTES: a huge file is refused from the length
it states, or from its first bytes when it states none, without being downloaded whole. A host
that cannot be reached now (a CDN being set up, a name not yet in DNS) does not block saving:
the link's form was checked already (brand.logo_problem), and what is refused is what we saw.
"""
from __future__ import annotations

import re
import struct

import requests

from connectors.netguard import AddressRefused, public_session

MAX_BYTES = 500_000  # loaded with every email; a logo is rarely over 100 KB
READ_BYTES = 64 * 1024  # enough for a JPEG's size marker behind its EXIF block
TIMEOUT = (3, 5)  # seconds to connect, and between bytes
MIN_HEIGHT, MAX_SIDE = 40, 2000  # shown 40 px high; larger only slows the email down
JPEG_SIZES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers


def problem(url: str) -> str | None:
    """Why the image at `url` cannot be the logo, or None (also when it cannot be reached)."""
    try:
        with public_session() as session, session.get(
                url, headers={"Range": f"bytes=0-{READ_BYTES - 1}"}, stream=True,
                timeout=TIMEOUT, allow_redirects=False) as response:
            if response.status_code not in (200, 206):
                return (f"the link answered HTTP {response.status_code}; link to the image "
                        "itself (its address as the browser shows it when the image is open)")
            size = stated_size(response)
            if size is not None and size > MAX_BYTES:
                return too_big(size)
            # With no length stated, reading one byte past the limit is how we learn it.
            head = first_bytes(response, READ_BYTES if size is not None else MAX_BYTES + 1)
    except AddressRefused:
        return "the image's host is not on the public internet"
    except requests.RequestException:
        return None
    return too_big(None) if len(head) > MAX_BYTES else image_problem(head)


def first_bytes(response: requests.Response, limit: int) -> bytes:
    """At most `limit` bytes of the body (more may be on their way: they are not read)."""
    head = bytearray()
    for chunk in response.iter_content(8192):
        head += chunk
        if len(head) >= limit:
            break
    return bytes(head[:limit])


def stated_size(response: requests.Response) -> int | None:
    """The whole file's length: Content-Range's total for a range, else Content-Length."""
    whole = re.fullmatch(r"bytes \d+-\d+/(\d+)", response.headers.get("Content-Range", ""))
    if whole:
        return int(whole.group(1))
    length = response.headers.get("Content-Length", "")
    return int(length) if response.status_code == 200 and length.isdigit() else None


def too_big(size: int | None) -> str:
    stated = f"{size / 1_000_000:.1f} MB" if size else f"over {MAX_BYTES // 1000} KB"
    return (f"the image is {stated}; keep the logo under {MAX_BYTES // 1000} KB (it loads with "
            "every email): export it at about 400x100 px")


def image_problem(head: bytes) -> str | None:
    """Why an image starting with `head` is not a logo mail clients show sharply, or None."""
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return ("the image is WebP, which Outlook for Windows does not show; "
                "export the logo as a PNG")
    if b"<svg" in head[:1024]:
        return "the image is SVG: Gmail and Outlook do not show SVG (export the logo as a PNG)"
    size = dimensions(head)
    if size is None:
        return "the link is not a PNG, JPEG or GIF image"
    width, height = size
    if max(width, height) > MAX_SIDE:
        return (f"the image is {width}x{height} px; at most {MAX_SIDE} px a side (it is shown "
                f"{MIN_HEIGHT} px high): export it at about 400x100 px")
    if height < MIN_HEIGHT:
        return (f"the image is {width}x{height} px; at least {MIN_HEIGHT} px high, or it shows "
                "blurred")
    return None


def dimensions(head: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, GIF or JPEG's first bytes; (0, MIN_HEIGHT) for a JPEG whose
    size marker lies further in; None for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", head[6:10])
    if not head.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 9 <= len(head) and head[at] == 0xFF:
        marker, length = head[at + 1], struct.unpack(">H", head[at + 2:at + 4])[0]
        if marker in JPEG_SIZES:
            height, width = struct.unpack(">HH", head[at + 5:at + 9])
            return width, height
        at += 2 + length
    return 0, MIN_HEIGHT
