"""Campaigns: the store's campaigns with their figures and a form for a new one; a campaign's
page with its design (the block designer), what a send would do (recipients, duration, the check
list), send now or schedule, pause, resume and cancel, and its report (with its A/B test and
its holdout's incremental revenue). Every value and command goes through app.campaigns, as the
CLI's do; every campaign is fetched for the signed-in store (another store's id is a 404).
Viewers see the pages, never the forms."""
from __future__ import annotations

import logging
import re

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy.exc import OperationalError

from app.audiences import segments
from app.campaigns import campaigns as service, readiness, report, sending
from app.campaigns.abtest import JUDGES
from app.campaigns.values import NAME_RULE, TEST_DEFAULTS, CampaignError
from app.core.db import db
from app.mail.design import document
from app.models import Campaign
from app.web.collect import limiter
from app.web.ui import bp, owned_or_404, shows_email
from app.web.ui.campaign_email import drawn, staff_address
from app.web.ui.designer import submitted
from app.web.ui.preview import chosen_customer
from app.web.ui.segments import COUNTS_PER_STORE, TOO_SLOW

log = logging.getLogger(__name__)
# A pause or cancel is acknowledged once no email of it is being handed to the mail server;
# the page waits this long for that (the CLI waits a minute).
IN_FLIGHT_WAIT = 10.0
WHOLE = re.compile(r"-?\d{1,9}")


def _listing(errors: dict | None = None, status: int = 200):
    with db.session() as session:
        zone = g.store.effective_settings["timezone"]
        every = service.all_of(session, g.store.id)
        figures = report.listed(session, g.store, every)
        listed = [(c, figures.get(c.id), service.when(c, zone)) for c in every]
        names = [s.name for s in segments.all_of(session, g.store.id)]
    return render_template("ui/campaigns.html", listed=listed, segment_names=names,
                           errors=errors or {}, form=request.form, name_rule=NAME_RULE,
                           judges=JUDGES, test_defaults=TEST_DEFAULTS), status


@bp.get("/campaigns")
def campaigns_page():
    """The store's campaigns, newest first, and the form for a new one."""
    return _listing()


def _whole(text: str | None, default: int | None = None) -> int | str | None:
    """A typed whole number as an int (blank: `default`); anything else as typed, for
    `create` to refuse beside its field."""
    text = (text or "").strip()
    if not text:
        return default
    return int(text) if WHOLE.fullmatch(text) else text


def _test(form) -> dict:
    """The A/B test's values, only when subject B is filled in: its other fields are hidden,
    not cleared, without it."""
    subject_b = form.get("subject_b", "").strip()
    if not subject_b:
        return {}
    return {"subject_b": subject_b, "test_share": _whole(form.get("test_share")),
            "winner_after": _whole(form.get("winner_after")), "judge": form.get("judge") or None}


@bp.post("/campaigns")
def create_campaign():
    """Create a draft and open its page, or show the form again with the error by its field."""
    form = request.form
    try:
        with db.session() as session:
            campaign = service.create(
                session, g.store.id, form.get("name", ""), subject=form.get("subject", ""),
                preheader=form.get("preheader") or None,
                included=tuple(form.getlist("segment")), excluded=tuple(form.getlist("exclude")),
                bypass_frequency_cap=form.get("bypass_frequency_cap") == "on",
                holdout=_whole(form.get("holdout"), 0), **_test(form), actor=g.actor)
            campaign_id = campaign.id
    except CampaignError as error:
        return _listing({error.field or "name": str(error)}, 400)
    log.info("campaign created", extra={"store_id": g.store.id})
    flash("Campaign created: design its email, then send it from this page.")
    return redirect(url_for("ui.campaign", campaign_id=campaign_id))


@bp.get("/campaigns/<id:campaign_id>")
@shows_email
def campaign(campaign_id: int):
    """The campaign's design, what sending it would do, and its report."""
    return campaign_page(campaign_id)


def campaign_page(campaign_id: int, posted: str | None = None, problems=(), status: int = 200,
                  errors: dict | None = None):
    """The page, holding `posted` (a design that was refused, with its problems) if given, and
    the schedule form's `errors` by field."""
    with db.session() as session:
        row = owned_or_404(session, Campaign, campaign_id)
        customer, notice = chosen_customer(session)
        design = submitted(posted) if posted is not None else row.design
        preview, unshown = drawn(session, g.store, row, customer, row.design)
        checks = readiness.checks(g.store, row.design) if row.status == "draft" else None
        figures = report.figures(session, g.store, row) if row.started_at else None
    zone = g.store.effective_settings["timezone"]
    return render_template(
        "ui/campaign.html", campaign=row, design=design, problems=[*problems, *unshown],
        preview=preview and {"rendered": preview}, customer=customer, notice=notice,
        checks=checks, figures=figures, moves=service.MOVES, test_address=staff_address(),
        edits=service.EDITABLE,
        zone=zone, when=service.when(row, zone), errors=errors or {}, form=request.form), status


@bp.get("/campaigns/<id:campaign_id>/recipients")
@limiter.limit(COUNTS_PER_STORE, key_func=lambda: f"campaign-count:{g.store.id}")
def campaign_recipients(campaign_id: int):
    """{"recipients", "duration"} of a send now, or 400 {"error"}: asked by the page once
    loaded, as counting a large store's segments takes longer than the page may."""
    try:
        with db.session() as session:
            answer = readiness.estimate(session, owned_or_404(session, Campaign, campaign_id))
    except OperationalError:  # the statement timeout
        log.info("campaign count timed out", extra={"store_id": g.store.id})
        answer = {"error": TOO_SLOW}
    return jsonify(answer), 400 if "error" in answer else 200


@bp.post("/campaigns/<id:campaign_id>/design")
@shows_email
def campaign_design_save(campaign_id: int):
    """Save a draft's design, or show the page again with every problem beside its block;
    nothing is stored then."""
    text = request.form.get("design", "")
    try:
        with db.session() as session:
            row = owned_or_404(session, Campaign, campaign_id)
            service.save_design(session, row, document.parse(text), g.actor)
    except document.DesignError as error:
        return campaign_page(campaign_id, text, error.problems, 400)
    except CampaignError as error:
        return campaign_page(campaign_id, text, [("", str(error))], 400)
    log.info("campaign design saved", extra={"store_id": g.store.id})
    flash("Design saved: the campaign sends this design.")
    return redirect(url_for("ui.campaign", campaign_id=campaign_id,
                            customer_id=request.form.get("customer_id") or None))


def _refused(campaign_id: int, error: CampaignError):
    """The page again with a refused value beside its field, or back to it saying why not."""
    if error.field:
        return campaign_page(campaign_id, status=400, errors={error.field: str(error)})
    flash(f"Not done: {error}.", "error")
    return redirect(url_for("ui.campaign", campaign_id=campaign_id))


@bp.post("/campaigns/<id:campaign_id>/edit")
def campaign_edit(campaign_id: int):
    """Rename a draft or scheduled campaign, or change its subject, subject B or preheader, as
    `campaigns edit` does; a refused value is shown beside its field."""
    form = request.form
    try:
        with db.session() as session:
            row = owned_or_404(session, Campaign, campaign_id)
            service.edit(session, row, g.actor, name=form.get("name", ""),
                         subject=form.get("subject", ""), preheader=form.get("preheader"),
                         subject_b=form.get("subject_b"))
    except CampaignError as error:
        return _refused(campaign_id, error)
    log.info("campaign edited", extra={"store_id": g.store.id, "campaign_id": campaign_id})
    flash("Saved: the campaign goes with this name, subject and preheader.")
    return redirect(url_for("ui.campaign", campaign_id=campaign_id))


def _check_list(row: Campaign) -> None:
    """CampaignError naming what the check list still misses: a send (or schedule) waits."""
    failing = [c.label for c in readiness.checks(g.store, row.design) if not c.ok]
    if failing:
        raise CampaignError(f"fix the check list first: {', '.join(failing)}")


def _command(session, row: Campaign, command: str) -> str:
    """Run the command as the CLI does; what to tell the merchant. CampaignError if refused."""
    if command == "send":
        _check_list(row)
        count = service.send(session, g.store.id, row.name, g.actor)
        return f"Sending “{row.name}” to {count} recipient(s)."
    service.move(session, g.store.id, row.name, command, g.actor)
    return f"“{row.name}” {service.MOVES[command][2]}."


@bp.post("/campaigns/<id:campaign_id>/<any(send, pause, resume, cancel):command>")
def campaign_command(campaign_id: int, command: str):
    """Send, pause, resume or cancel, with the CLI's functions and its refusals."""
    back = url_for("ui.campaign", campaign_id=campaign_id)
    try:
        with db.session() as session:
            said = _command(session, owned_or_404(session, Campaign, campaign_id), command)
    except CampaignError as error:
        flash(f"Not done: {error}.", "error")
        return redirect(back)
    log.info("campaign %s", command, extra={"store_id": g.store.id, "campaign_id": campaign_id})
    if command == "send":
        sending.start(campaign_id)
    elif command == "resume":
        sending.enqueue_chunks(campaign_id)
    else:
        in_flight = sending.wait_in_flight(g.store.id, campaign_id, IN_FLIGHT_WAIT)
        said += (f" {in_flight} email(s) were being handed to the mail server; no other will go."
                 if in_flight else " No further email of it is sent.")
    flash(said)
    return redirect(back)


@bp.post("/campaigns/<id:campaign_id>/schedule")
def campaign_schedule(campaign_id: int):
    """Schedule a draft as `campaigns send --at [--local-time]` does: its moment typed in the
    store's time zone; a refused moment is shown beside its field."""
    # The browser's date-time field says "2027-03-01T09:00"; the CLI's shape has a space.
    at, zone = request.form.get("at", "").replace("T", " "), g.store.effective_settings["timezone"]
    try:
        with db.session() as session:
            row = owned_or_404(session, Campaign, campaign_id)
            _check_list(row)
            service.send(session, g.store.id, row.name, g.actor, at=at,
                         local_time=request.form.get("local_time") == "on")
            said = f"“{row.name}” is scheduled for {service.when(row, zone)}."
    except CampaignError as error:
        return _refused(campaign_id, error)
    log.info("campaign scheduled", extra={"store_id": g.store.id, "campaign_id": campaign_id})
    sending.start(campaign_id)
    flash(said)
    return redirect(url_for("ui.campaign", campaign_id=campaign_id))
