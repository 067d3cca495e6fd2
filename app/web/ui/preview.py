"""Email preview and test send: a flow step rendered for a sample or a real customer, shown at
desktop and phone widths, and sent through the outbox to an address the merchant gives."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from app.core.db import db
from app.jobs import broker
from app.mail import outbox
from app.models import Customer
from app.web import ids
from app.web.ui import bp, owned_or_404, previews, shows_email
from connectors.values import normalize_email
from flows import choices

log = logging.getLogger(__name__)
# Test sends go to any address the merchant types: cap them so the UI is no spam cannon.
TEST_SENDS_PER_HOUR = 30
TEST_SEND_KEY = "storeflow:ui-test-sends:{}"


def _step() -> previews.PreviewStep:
    """The email asked about: a prebuilt one by `step` (its template), or by `flow` and
    `send_step` any email of the store (the designer's, a built flow's step among them)."""
    steps = previews.steps()
    flow, send = request.values.get("flow"), request.values.get("send_step")
    if flow and send:
        with db.session() as session:
            steps = previews.for_store(session, g.store.id)
        found = previews.find_email(steps, flow, send)
        if found is None:
            abort(404, "There is no such email.")
        return found
    default = next((s for s in steps if s.flow.name == flow), steps[0]).template
    step = previews.find(request.values.get("step") or default)
    if step is None:
        abort(404, "There is no such email.")
    return step


def chosen_customer(session) -> tuple[Customer | None, str | None]:
    """The customer to preview as: by id (links from Activity), by email, or the sample."""
    given = request.values.get("customer_id", "")
    if given.isdigit():  # what looks like an id but names no row ("²", 10**20) is a 404 too
        return owned_or_404(session, Customer, ids.parse(given)), None
    typed = request.values.get("email", "").strip()
    if not typed:
        return None, None
    address = normalize_email(typed)
    if address is None:
        return None, "That is not an email address; showing the sample."
    found = session.execute(select(Customer).where(
        Customer.store_id == g.store.id, Customer.email == address,
    ).order_by(Customer.platform_id.is_(None), Customer.id).limit(1)).scalar_one_or_none()
    return found, None if found else "No customer with that email in this store; showing the sample."


def _drafts(step: previews.PreviewStep) -> dict[str, str]:
    """The subject and message typed in the editor (not saved yet), as the flow's settings."""
    return {choices.text_setting(step.step, part): request.values[part]
            for part in choices.MERCHANT_TEXTS if part in request.values}


def _show(step: previews.PreviewStep, drafts: dict[str, str]):
    """The preview with the editor's texts (saved, or the drafts given); a text that cannot be
    used is named, and the template's own text shows instead."""
    with db.session() as session:
        customer, notice = chosen_customer(session)
        saved = choices.effective(session, g.store.id, step.flow)[1]
        try:
            shown, error = {**saved, **choices.validate(step.flow, drafts)}, None
        except choices.FlowSettingError as refused:
            shown, error = saved, str(refused).partition(": ")[2]
        built = previews.build(session, g.store, step, customer, shown)
    texts = {}  # the editor keeps what was typed, even a text that was refused
    for part in choices.MERCHANT_TEXTS:
        name = choices.text_setting(step.step, part)
        texts[part] = drafts.get(name, shown[name])
    status = 400 if error else 200
    if request.headers.get("Accept") == "application/json":  # the editor's live preview
        return {"subject": built.rendered.subject, "html": built.rendered.html,
                "text": built.rendered.text, "error": error}, status
    return render_template("ui/preview.html", steps=previews.steps(), step=step,
                           customer=customer, notice=notice, preview=built, texts=texts,
                           error=error), status


@bp.get("/preview")
@shows_email
def preview():
    """Render the chosen step for the chosen customer, with unsaved texts when given."""
    step = _step()
    return _show(step, _drafts(step))


@bp.post("/preview/texts")
@shows_email
def save_texts():
    """The editor's buttons: show the typed texts (`action=preview`), or save them for the
    step, so that emails sent from now on use them."""
    step = _step()
    drafts = _drafts(step)
    if request.form.get("action") == "preview":
        return _show(step, drafts)
    try:
        changes = choices.validate(step.flow, drafts)
    except choices.FlowSettingError:
        return _show(step, drafts)
    with db.session() as session:
        choices.save(session, g.store.id, step.flow, actor=g.actor, changes=changes)
    log.info("email texts saved", extra={"store_id": g.store.id})
    flash(f"“{step.label}” saved: emails sent from now on use your text.")
    return redirect(url_for("ui.preview", step=step.template,
                            customer_id=request.form.get("customer_id") or None))


def allow_test_send(store_id: int) -> bool:
    key = TEST_SEND_KEY.format(store_id)
    count = broker.connection.incr(key)
    if count == 1:
        broker.connection.expire(key, int(timedelta(hours=1).total_seconds()))
    return count <= TEST_SENDS_PER_HOUR


@bp.post("/preview/send")
def send_test():
    """Queue the previewed email to an address: a Message with no run, through the outbox."""
    step = _step()
    address = normalize_email(request.form.get("to", ""))
    customer_id = request.form.get("customer_id") or None
    # The designer's test send comes back to the designer; any other, to the preview.
    back = url_for("ui.designer", flow=step.flow.name, step=step.step.template,
                   customer_id=customer_id) if request.form.get("from") == "designer" \
        else url_for("ui.preview", step=step.template, customer_id=customer_id)
    if address is None:
        flash("Enter the address to send the test to.", "error")
        return redirect(back)
    if not allow_test_send(g.store.id):
        flash(f"That's {TEST_SENDS_PER_HOUR} test sends this hour; try again later.", "error")
        return redirect(back)
    with db.session() as session:
        customer, _ = chosen_customer(session)
        settings = choices.effective(session, g.store.id, step.flow)[1]
        context, _ = previews.message_context(session, g.store.id, step, customer, settings)
        message_id = outbox.queue_message(
            session, store_id=g.store.id, email=address, template=step.template,
            marketing=step.marketing, context=context,
            customer_id=customer.id if customer else None)
    outbox.enqueue_delivery(message_id)
    log.info("test send queued", extra={"store_id": g.store.id, "message_id": message_id})
    flash(f"Test of “{step.label}” is on its way to {address}.")
    return redirect(back)
