"""A campaign's email on its page: drawn by the renderer that sends it (as a customer found by
email, or the sample) for the designer's live preview, and a test send of the saved design to
the signed-in staff member, capped as the other test sends are. The campaign is always fetched for g.store; no design content is logged."""
from __future__ import annotations

import logging

from flask import flash, g, redirect, request, session as cookie, url_for

from app.campaigns import codes
from app.campaigns.sending import key
from app.core.db import db
from app.mail import compose, outbox
from app.mail.design import blocks, document
from app.mail.render import Rendered, render
from app.models import Campaign, Customer, Message, Store
from app.web.ui import auth, bp, owned_or_404
from app.web.ui.builder_email import SAMPLE_ADDRESS
from app.web.ui.preview import TEST_SENDS_PER_HOUR, allow_test_send, chosen_customer
from connectors.values import normalize_email

log = logging.getLogger(__name__)
TEMPLATE = "campaign"  # as app.campaigns.sending queues a campaign's messages


def _context(campaign: Campaign, customer: Customer | None, design: dict) -> dict:
    # A stand-in code: a preview or a test asks the store for none.
    context = {"campaign_id": campaign.id, "subject": campaign.subject, **codes.sample(design)}
    return context if customer is not None else {**context, "sample": True}


def drawn(session, store: Store, campaign: Campaign, customer: Customer | None,
          design: dict) -> tuple[Rendered | None, list]:
    """The campaign's email drawn from `design` for the customer (None: the sample), and the
    problems (pointer, reason) that kept it from being drawn."""
    refused = codes.problems(design)
    if refused:
        return None, refused
    # Never added to the session: a preview writes nothing.
    message = Message(store_id=store.id, email=customer.email if customer else SAMPLE_ADDRESS,
                      customer_id=customer.id if customer else None, template=TEMPLATE,
                      context=_context(campaign, customer, design), marketing=True,
                      flow=key(campaign.id))
    try:
        return render(TEMPLATE, compose.context_for(session, store, message), design), []
    except blocks.SubjectGone as gone:  # an order summary: a campaign is about no order
        return None, [("", f"{gone}: take out the block that shows it")]


@bp.post("/campaigns/<id:campaign_id>/design/preview")
def campaign_design_preview(campaign_id: int):
    """{"subject", "html", "text", "problems"} of the draft design posted as JSON, as the chosen
    customer would get it; 400 with every problem (by JSON pointer) when it cannot be drawn."""
    try:
        draft = document.parse(request.get_data())
    except document.DesignError as error:
        return {"problems": error.problems}, 400
    with db.session() as session:
        campaign = owned_or_404(session, Campaign, campaign_id)
        customer, _ = chosen_customer(session)
        shown, problems = drawn(session, g.store, campaign, customer, draft)
    if shown is None:
        return {"problems": problems}, 400
    return {"subject": shown.subject, "html": shown.html, "text": shown.text, "problems": []}


def staff_address() -> str | None:
    """Where a test goes: the signed-in staff member's address, else the store's sender's."""
    member = normalize_email(cookie.get(auth.MEMBER) or "")
    return member or normalize_email(g.store.effective_settings["from_email"] or "")


@bp.post("/campaigns/<id:campaign_id>/test")
def campaign_test(campaign_id: int):
    """Queue the campaign's saved design, with the sample customer's data, to the staff member."""
    back = url_for("ui.campaign", campaign_id=campaign_id)
    address = staff_address()
    if address is None:
        flash("There is no address to send a test to: set the sender's address in Settings.",
              "error")
        return redirect(back)
    with db.session() as session:
        campaign = owned_or_404(session, Campaign, campaign_id)
        if not allow_test_send(g.store.id):
            flash(f"That's {TEST_SENDS_PER_HOUR} test sends this hour; try again later.", "error")
            return redirect(back)
        # No campaign `flow`: a test is no send of the campaign, and no report counts it.
        message_id = outbox.queue_message(session, store_id=g.store.id, email=address,
                                          template=TEMPLATE, marketing=True, customer_id=None,
                                          context=_context(campaign, None, campaign.design))
    outbox.enqueue_delivery(message_id)
    log.info("test send queued", extra={"store_id": g.store.id, "message_id": message_id})
    flash(f"A test of “{campaign.name}” is on its way to {address}.")
    return redirect(back)
