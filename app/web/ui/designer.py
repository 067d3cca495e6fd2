"""The email designer: an email's block design (app.mail.design), a prebuilt flow's email or a
built flow's send step, edited block by block
(static/ui/designer.js), previewed live at desktop and phone widths through the renderer that
sends it, saved for the signed-in store only after app.mail.design.document's check, or reset to
the default. Every design is read and written for g.store (the signed-in session's store, never
one named in the request); no design content is logged."""
from __future__ import annotations

import json
import logging

from flask import abort, flash, g, redirect, render_template, request, url_for

from app.core.db import db
from app.mail.design import blocks, document
from app.mail.design import store as designs
from app.web.ui import bp, previews, shows_email
from app.web.ui.preview import chosen_customer
from flows import choices

log = logging.getLogger(__name__)


@bp.app_template_global()
def designer_url(flow: str, step: str | None = None) -> str | None:
    """The designer of a prebuilt flow's email (with no step: of its first); None if the flow
    has no such email."""
    found = next((s for s in previews.steps() if s.flow.name == flow
                  and step in (None, s.step.template)), None)
    return url_for("ui.designer", flow=flow, step=found.step.template) if found else None


def _step(flow: str, step: str) -> previews.PreviewStep:
    """The store's email (a built flow's send step too); 404 naming those it has if none."""
    with db.session() as session:
        emails = previews.for_store(session, g.store.id)
    found = previews.find_email(emails, flow, step)
    if found is None:
        abort(404, designs.unknown(flow, step, previews.keys(emails)).problems[0][1])
    return found


def _preview(session, step: previews.PreviewStep, customer, design: dict):
    """The email drawn from `design` for the customer (None: the sample), and the problems
    (pointer, reason) that kept it from being drawn."""
    settings = choices.effective(session, g.store.id, step.flow)[1]
    try:
        return previews.build(session, g.store, step, customer, settings, design), []
    except blocks.SubjectGone as gone:  # an order summary in a cart email, say
        return None, [("", f"{gone}: take out the block that shows it")]


def _page(step: previews.PreviewStep, design: dict, problems=(), status: int = 200):
    with db.session() as session:
        customer, notice = chosen_customer(session)
        checked = design if not problems else designs.current(
            session, g.store.id, step.flow.name, step.step.template, step.template)
        shown, unshown = _preview(session, step, customer, checked)
        own = designs.own(session, g.store.id, step.flow.name, step.step.template) is not None
        emails = previews.for_store(session, g.store.id)
    return render_template("ui/designer.html", steps=emails, step=step, design=design,
                           problems=[*problems, *unshown], preview=shown, customer=customer,
                           notice=notice, own=own), status


@bp.get("/emails/<flow>/<step>/design")
@shows_email
def designer(flow: str, step: str):
    """The designer holding the email's design: the store's own, else the default."""
    found = _step(flow, step)
    with db.session() as session:
        design = designs.current(session, g.store.id, flow, step, found.template)
    return _page(found, design)


@bp.post("/emails/<flow>/<step>/design/preview")
def designer_preview(flow: str, step: str):
    """{"subject", "html", "text", "problems"} of the draft posted as JSON, for the preview as
    the chosen customer; 400 with every problem (by JSON pointer) when it cannot be drawn."""
    found = _step(flow, step)
    try:
        draft = document.parse(request.get_data())
    except document.DesignError as error:
        return {"problems": error.problems}, 400
    with db.session() as session:
        customer, _ = chosen_customer(session)
        shown, problems = _preview(session, found, customer, draft)
    if shown is None:
        return {"problems": problems}, 400
    return {"subject": shown.rendered.subject, "html": shown.rendered.html,
            "text": shown.rendered.text, "problems": []}


def submitted(text: str) -> dict:
    """The posted design as the page can show it again (an empty one if it is no object)."""
    try:
        design = json.loads(text)
    except ValueError:
        design = None
    ok = isinstance(design, dict) and isinstance(design.get("blocks"), list)
    return design if ok else {"format": document.FORMAT, "blocks": []}


@bp.post("/emails/<flow>/<step>/design")
@shows_email
def designer_save(flow: str, step: str):
    """Save the posted design for this store's email, or show the designer again with every
    problem beside its block; nothing is stored then."""
    found = _step(flow, step)
    text = request.form.get("design", "")
    try:
        design = document.parse(text)
        with db.session() as session:
            designs.save(session, g.store.id, flow, step, design, g.actor,
                         previews.keys(previews.for_store(session, g.store.id)))
    except document.DesignError as error:
        return _page(found, submitted(text), error.problems, 400)
    log.info("email design saved", extra={"store_id": g.store.id})
    flash(f"“{found.flow.title} · {found.label}” saved: emails sent from now on use this design.")
    return redirect(url_for("ui.designer", flow=flow, step=step,
                            customer_id=request.form.get("customer_id") or None))


@bp.post("/emails/<flow>/<step>/design/reset")
def designer_reset(flow: str, step: str):
    """Back to the email's default design."""
    found = _step(flow, step)
    with db.session() as session:
        had_own = designs.reset(session, g.store.id, flow, step)
    log.info("email design reset", extra={"store_id": g.store.id})
    flash(f"“{found.flow.title} · {found.label}” is back to our design." if had_own
          else "This email already had our design.")
    return redirect(url_for("ui.designer", flow=flow, step=step))
