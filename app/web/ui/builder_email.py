"""A built flow's email as the builder drafts it, before the flow is saved: rendered for the
sample customer to preview, or sent to an address the merchant gives (rate-limited as the
preview page's test sends are). The draft is checked as saving checks it; nothing is stored
but the test message, and no draft content is logged."""
from __future__ import annotations

import logging

from flask import abort, g, jsonify, request

from app.core.db import db
from app.mail import compose, outbox
from app.mail.render import render
from app.models import Message
from app.web.ui import bp
from app.web.ui.preview import TEST_SENDS_PER_HOUR, allow_test_send
from connectors.values import normalize_email
from flows import document
from flows.steps import BUILT_TEMPLATE

log = logging.getLogger(__name__)
SAMPLE_ADDRESS = "ana@example.com"


def _draft() -> tuple[dict | None, list]:
    """The posted {"send": {...}} as the message context of a built email, or its problems
    (pointers into the send step, as the canvas shows them)."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("send"), dict):
        abort(400, 'send {"send": {"subject": ..., "body": ...}}')
    one_step = {"format": document.FORMAT, "name": "draft", "title": "Draft",
                "consent": "marketing", "trigger": {"event": "order_placed"},
                "steps": [{"id": "draft", "send": payload["send"]}]}
    try:
        send = document.check(one_step)["steps"][0]["send"]
    except document.FlowDocumentError as error:
        return None, [(pointer.replace("/steps/0/send", "", 1), reason)
                      for pointer, reason in error.problems]
    button = send.get("button", {})
    return {"subject": send["subject"], "message": send["body"],
            "preheader": send.get("preheader"), "button_text": button.get("text"),
            "button_url": button.get("url"), "sample": True}, []


@bp.post("/flows/email/preview")
def built_email_preview():
    """{"subject", "html", "text"} of the drafted email for the sample customer, or 400
    {"problems": [[pointer, reason], ...]}."""
    context, problems = _draft()
    if context is None:
        return jsonify(problems=problems), 400
    message = Message(store_id=g.store.id, email=SAMPLE_ADDRESS, template=BUILT_TEMPLATE,
                      context=context, marketing=True)  # never added: a preview writes nothing
    with db.session() as session:
        rendered = render(BUILT_TEMPLATE, compose.context_for(session, g.store, message))
    return jsonify(subject=rendered.subject, html=rendered.html, text=rendered.text)


@bp.post("/flows/email/test")
def built_email_test():
    """Queue the drafted email, as the sample customer's, to the address given."""
    context, problems = _draft()
    if context is None:
        return jsonify(problems=problems), 400
    address = normalize_email(str(request.get_json().get("to") or ""))
    if address is None:
        return jsonify(error="Enter the address to send the test to."), 400
    if not allow_test_send(g.store.id):
        return jsonify(error=f"That's {TEST_SENDS_PER_HOUR} test sends this hour; try again "
                             "later."), 429
    with db.session() as session:
        message_id = outbox.queue_message(session, store_id=g.store.id, email=address,
                                          template=BUILT_TEMPLATE, marketing=True,
                                          context=context, customer_id=None)
    outbox.enqueue_delivery(message_id)
    log.info("test send queued", extra={"store_id": g.store.id, "message_id": message_id})
    return jsonify(sent_to=address)
