"""The links in our emails: unsubscribe and double opt-in confirmation (GET shows, POST acts),
the open pixel, click redirects.

Answers, and why:
- 404 a forged, altered, expired or unknown token: one page for all, so a token reveals nothing.
- 400 a click to a URL off the store's own domain: a valid signature never makes an open redirect.
- 200 POST /u/TOKEN: unsubscribed (again, idempotently); no cookie, CSRF token or redirect is
  needed, because mailbox providers POST it blind (RFC 8058). A GET never unsubscribes: link
  scanners and previews fetch every URL in a message.
Opens and clicks from crawlers and link scanners are followed but not recorded.
"""
from __future__ import annotations

import base64
import logging
from typing import Callable

from flask import Blueprint, Response, abort, redirect, render_template, request
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from app import jobs
from app.core import stores
from app.core.db import db
from app.ingest import link_actions
from app.ingest.pipeline import ingest
from app.ingest.storefront.auth import is_bot
from app.mail import compose, links, outbox, tracking
from app.models import Message, Store

log = logging.getLogger(__name__)
bp = Blueprint("email_links", __name__)
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
# Every request must reach us to be counted, and none is worth a shared cache's copy.
NOT_CACHED = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


def _find(session: Session, token: str, kind: str) -> tuple[links.Link, Message] | None:
    link = links.read_token(token, kind)
    message = link and stores.get_owned(session, Message, link.store_id, link.message_id)
    return (link, message) if message else None


def _page(state: str, store_name: str | None = None, status: int = 200,
          page: str = "unsubscribe"):
    return render_template(f"email_links/{page}.html", state=state, store_name=store_name,
                           action=request.path), status, NOT_CACHED


def _counted() -> bool:
    return not is_bot(request.headers.get("User-Agent"))


def _show(token: str, kind: str, page: str):
    """GET of an action link: the page with its button; the action is the POST."""
    with db.session() as session:
        found = _find(session, token, kind)
        if found is None:
            return _page("invalid", status=404, page=page)
        store = session.get(Store, found[1].store_id)
        return _page("confirm", store.name or store.domain, page=page)


def _act(token: str, kind: str, page: str, action: Callable[[Session, Message], bool]):
    """POST of an action link: verify, store (idempotently), queue its ingest, answer."""
    with db.session() as session:
        found = _find(session, token, kind)
        if found is None or not action(session, found[1]):
            return _page("invalid", status=404, page=page)
        message = found[1]
        event_id = link_actions.accept(session, message, ACTIONS[kind])
        store = session.get(Store, message.store_id)
    try:
        jobs.enqueue(ingest, event_id)
    except RedisError:  # stored: the inbox sweep queues it
        log.warning("%s stored, not queued", page, extra={"store_id": message.store_id})
    log.info("%s by link", page, extra={"store_id": message.store_id, "message_id": message.id})
    return _page("done", store.name or store.domain, page=page)


def _unsubscribe(session: Session, message: Message) -> bool:
    """Stop marketing mail to the address the message went to, in its store, at once (the
    customer's consent follows in ingest, and only if the address is their own)."""
    outbox.add_suppression(session, message.store_id, message.email, "unsubscribed")
    return True


def _confirm(session: Session, message: Message) -> bool:
    """A double opt-in confirms only a subscription mailed to the subscriber's own address."""
    return compose.addressee(session, message) is not None


ACTIONS = {links.UNSUBSCRIBE: link_actions.UNSUBSCRIBE, links.CONFIRM: link_actions.CONFIRM}


@bp.get("/u/<token>")
def unsubscribe_page(token: str):
    return _show(token, links.UNSUBSCRIBE, "unsubscribe")


@bp.post("/u/<token>")
def unsubscribe(token: str):
    return _act(token, links.UNSUBSCRIBE, "unsubscribe", _unsubscribe)


@bp.get("/confirm/<token>")
def confirm_page(token: str):
    return _show(token, links.CONFIRM, "confirm")


@bp.post("/confirm/<token>")
def confirm(token: str):
    return _act(token, links.CONFIRM, "confirm", _confirm)


@bp.get("/o/<token>.gif")
def opened(token: str):
    """The 1x1 pixel: count an open."""
    with db.session() as session:
        found = _find(session, token, links.OPEN)
        if found is None:
            return _page("invalid", status=404)
        _, message = found
        if _counted():
            tracking.record(session, message, tracking.OPEN)
    return Response(GIF, mimetype="image/gif", headers=NOT_CACHED)


@bp.get("/c/<token>")
def clicked(token: str):
    """Count a click and redirect to the store page, tagged with UTM parameters."""
    with db.session() as session:
        found = _find(session, token, links.CLICK)
        if found is None:
            return _page("invalid", status=404)
        link, message = found
        if not tracking.is_store_url(session.get(Store, message.store_id), link.url):
            log.warning("click refused: target off the store's domain",
                        extra={"store_id": message.store_id, "message_id": message.id})
            abort(400, "this link does not lead to the store's own site")
        if _counted():
            tracking.record(session, message, tracking.CLICK, link.url)
        target = tracking.with_utm(link.url, message)
    response = redirect(target, code=302)
    response.headers.update(NOT_CACHED)
    return response
