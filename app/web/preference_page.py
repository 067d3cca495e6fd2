"""The preference page behind every unsubscribe link (/u/TOKEN), in the store's brand kit:
unsubscribe from all marketing email, pause it for 30 days, or resubscribe.

Answers, and why:
- GET shows the page and changes nothing: link scanners and previews fetch every URL in a message.
- POST /u/TOKEN unsubscribes (again, idempotently) on the signed link token alone: mailbox
  providers POST it blind, with no cookie, CSRF token or redirect (RFC 8058).
- POST /u/TOKEN/pause and /u/TOKEN/resubscribe also need the page's form token (signed, an hour
  old at most, bound to this link token): without a cookie, only someone who just had the page
  can send them; a scanner POSTing the link, or a form token moved to another link, does nothing.
- 404 a forged, altered, expired or unknown link or form token: one page for all.
- 409 a choice the address cannot have here (a resubscribe after a bounce or a complaint, or
  after an unsubscribe made elsewhere; a pause of mail that is not being sent): the page as it is.
- 413 a body larger than one of our forms, refused unread.
"""
from __future__ import annotations

import logging

from flask import Blueprint, abort, make_response, render_template, request, url_for
from sqlalchemy.orm import Session

from app.core.db import db
from app.ingest import link_actions
from app.mail import brand_kit, links, outbox, preferences
from app.models import Message, Store
from app.web.email_links import NOT_CACHED, invalid, message_of, queue_ingest

log = logging.getLogger(__name__)
bp = Blueprint("preference_page", __name__)
# One of our forms is a form token of about 150 bytes: anything much larger is not ours.
FORM_BYTES = 2048


def _page(session: Session, token: str, message: Message, done: str | None = None,
          status: int = 200):
    store = session.get(Store, message.store_id)
    settings = store.effective_settings
    name = store.name or store.domain
    return render_template(
        "email_links/preferences.html", store_name=name, done=done,
        kit=brand_kit.kit({"name": name, **settings}), postal_address=settings["postal_address"],
        standing=preferences.standing(session, store.id, message.email),
        paths={"unsubscribe": url_for(".unsubscribe", token=token),
               "pause": url_for(".pause", token=token),
               "resubscribe": url_for(".resubscribe", token=token)},
        forms={action: links.make_form_token(action, token)
               for action in (links.PAUSE, links.RESUBSCRIBE)},
    ), status, NOT_CACHED


def _with_form(session: Session, token: str, action: str) -> Message:
    """The link's message when the link token and the page's form token for `action` are both
    good, else the request ends with `invalid`; the body is read only up to FORM_BYTES (beyond
    that: 413)."""
    request.max_content_length = FORM_BYTES
    form_token = request.form.get("form", "")
    message = message_of(session, token, links.UNSUBSCRIBE)
    if not links.form_token_valid(form_token, action, token):
        abort(make_response(invalid()))
    return message


@bp.get("/u/<token>")
def show(token: str):
    with db.session() as session:
        return _page(session, token, message_of(session, token, links.UNSUBSCRIBE))


@bp.post("/u/<token>")
def unsubscribe(token: str):
    """Stop marketing mail to the address the message went to, in its store, at once (the
    customer's consent follows in ingest, and only if the address is their own)."""
    with db.session() as session:
        message = message_of(session, token, links.UNSUBSCRIBE)
        outbox.add_suppression(session, message.store_id, message.email,
                               preferences.UNSUBSCRIBED)
        event_id = link_actions.accept(session, message, link_actions.UNSUBSCRIBE)
        answer = _page(session, token, message, "unsubscribed")
    queue_ingest(event_id, message, "unsubscribe")
    return answer


@bp.post("/u/<token>/pause")
def pause(token: str):
    """Hold marketing mail to the address for 30 days (its consent stays as it is)."""
    with db.session() as session:
        message = _with_form(session, token, links.PAUSE)
        if preferences.pause(session, message.store_id, message.email) is None:
            return _page(session, token, message, "refused", 409)
        log.info("paused by link", extra={"store_id": message.store_id, "message_id": message.id})
        return _page(session, token, message, "paused")


@bp.post("/u/<token>/resubscribe")
def resubscribe(token: str):
    """End a pause, or undo an unsubscribe made through our own link: the suppression at once,
    the customer's consent in ingest (recorded and told to the store as the unsubscribe was)."""
    with db.session() as session:
        message = _with_form(session, token, links.RESUBSCRIBE)
        lifted = preferences.resubscribe(session, message.store_id, message.email)
        if lifted is None:
            return _page(session, token, message, "refused", 409)
        # A pause never touched consent; an unsubscribe did, and is undone where it was made.
        event_id = (link_actions.accept(session, message, link_actions.RESUBSCRIBE)
                    if lifted == preferences.UNSUBSCRIBED else None)
        answer = _page(session, token, message, "resubscribed")
    if lifted == preferences.UNSUBSCRIBED:
        queue_ingest(event_id, message, "resubscribe")
    else:
        log.info("pause ended by link",
                 extra={"store_id": message.store_id, "message_id": message.id})
    return answer
