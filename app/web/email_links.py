"""The links in our emails: double opt-in confirmation (GET shows, POST acts), the open pixel,
click redirects; the unsubscribe link's preference page is app.web.preference_page.

Answers, and why:
- 404 a forged, altered, expired or unknown token: one page for all, so a token reveals nothing.
- 400 a click to a URL off the store's own domain: a valid signature never makes an open redirect.
- A GET never acts: link scanners and previews fetch every URL in a message.
Opens and clicks from crawlers and link scanners are followed but not recorded.
"""
from __future__ import annotations

import base64
import logging

from flask import (Blueprint, Response, abort, make_response, redirect, render_template,
                   request)
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from app import jobs
from app.core import stores
from app.core.db import db
from app.ingest import link_actions
from app.ingest.pipeline import ingest
from app.ingest.storefront.auth import is_bot
from app.mail import compose, links, tracking
from app.models import Message, Store

log = logging.getLogger(__name__)
bp = Blueprint("email_links", __name__)
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
# Every request must reach us to be counted, and none is worth a shared cache's copy.
NOT_CACHED = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


def _find(session: Session, token: str, kind: str) -> tuple[links.Link, Message] | None:
    """The link a token names and its message, or None for a forged, altered, expired or
    unknown one."""
    link = links.read_token(token, kind)
    message = link and stores.get_owned(session, Message, link.store_id, link.message_id)
    return (link, message) if message else None


def invalid():
    """The one answer to every token that is not a link of ours."""
    return render_template("email_links/invalid.html"), 404, NOT_CACHED


def message_of(session: Session, token: str, kind: str) -> Message:
    """The message a link token names; for any other token, the request ends with `invalid`."""
    found = _find(session, token, kind)
    if found is None:
        abort(make_response(invalid()))
    return found[1]


def queue_ingest(event_id: int | None, message: Message, what: str) -> None:
    """Queue the ingest of a link's action stored in the inbox (after its commit)."""
    try:
        jobs.enqueue(ingest, event_id)
    except RedisError:  # stored: the inbox sweep queues it
        log.warning("%s stored, not queued", what, extra={"store_id": message.store_id})
    log.info("%s by link", what, extra={"store_id": message.store_id, "message_id": message.id})


def _page(state: str, store_name: str):
    return render_template("email_links/confirm.html", state=state, store_name=store_name,
                           action=request.path), 200, NOT_CACHED


def _counted() -> bool:
    return not is_bot(request.headers.get("User-Agent"))


@bp.get("/confirm/<token>")
def confirm_page(token: str):
    """The double opt-in page with its button; the confirmation is the POST."""
    with db.session() as session:
        store = session.get(Store, message_of(session, token, links.CONFIRM).store_id)
        return _page("confirm", store.name or store.domain)


@bp.post("/confirm/<token>")
def confirm(token: str):
    """Verify, store (idempotently), queue its ingest, answer. A double opt-in confirms only a
    subscription mailed to the subscriber's own address."""
    with db.session() as session:
        message = message_of(session, token, links.CONFIRM)
        if compose.addressee(session, message) is None:
            return invalid()
        event_id = link_actions.accept(session, message, link_actions.CONFIRM)
        store = session.get(Store, message.store_id)
    queue_ingest(event_id, message, "confirm")
    return _page("done", store.name or store.domain)


@bp.get("/o/<token>.gif")
def opened(token: str):
    """The 1x1 pixel: count an open."""
    with db.session() as session:
        found = _find(session, token, links.OPEN)
        if found is None:
            return invalid()
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
            return invalid()
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
