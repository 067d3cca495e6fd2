"""Opens and clicks: tracking added to a message's HTML at send time, and recording what comes back.

Only links to the store's own hosts are tracked, and a click only ever redirects there, so a
signed link can never be turned into an open redirect.
"""
from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.audiences import metrics
from app.core import clock
from app.core.stores import own_hosts
from app.mail import links
from app.models import Message, MessageEvent, Store

OPEN, CLICK = "open", "click"
# The HTML is our own rendered template, so an href is always a quoted attribute of an <a> tag.
HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
PIXEL = ('<img src="{src}" width="1" height="1" alt="" '
         'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0;">')
PIXEL_TAG = re.compile(re.escape(PIXEL).replace(re.escape("{src}"), r'[^"]*'))
FIRST_AT = {OPEN: "first_opened_at", CLICK: "first_clicked_at"}


def is_store_url(store: Store, url: str) -> bool:
    """An http(s) URL on the store's own domain (exact host, no user info or foreign port)."""
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and parts.netloc.lower() in own_hosts(store)


def instrument(body: str, store: Store, message: Message) -> str:
    """The HTML with store links turned into click links and the open pixel before </body>."""
    def rewrite(match: re.Match) -> str:
        url = html.unescape(match.group(3))
        if not is_store_url(store, url):
            return match.group(0)
        tracked = html.escape(links.click_url(message, url), quote=True)
        return f"{match.group(1)}{match.group(2)}{tracked}{match.group(2)}"

    body = HREF.sub(rewrite, body)
    pixel = PIXEL.format(src=html.escape(links.open_url(message), quote=True))
    head, tag, tail = body.rpartition("</body>")
    return f"{head}{pixel}{tag}{tail}" if tag else body + pixel


def without_pixel(body: str) -> str:
    """The sent HTML less its open pixel, to show someone who is not the recipient."""
    return PIXEL_TAG.sub("", body)


def with_utm(url: str, message: Message) -> str:
    """The store URL with utm_* naming this flow and step (a link's own utm_* values win)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {name for name, _ in query}
    utm = {"utm_source": "storeflow", "utm_medium": "email",
           "utm_campaign": message.flow or "message", "utm_content": message.step or message.template}
    query += [(name, value) for name, value in utm.items() if name not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


def record(session: Session, message: Message, kind: str, url: str | None = None) -> None:
    """Store one open or click, and the message's first one of that kind."""
    now = clock.now()
    session.add(MessageEvent(store_id=message.store_id, message_id=message.id, kind=kind,
                             url=url, occurred_at=now))
    column = getattr(Message, FIRST_AT[kind])
    session.execute(update(Message).where(
        Message.store_id == message.store_id, Message.id == message.id, column.is_(None),
    ).values({column: now}))
    metrics.message_recorded(session, message)
