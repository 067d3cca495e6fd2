"""Staff: the owner's team page (invite, remove), and signing in by email (/app/sign-in).

The sign-in request answers the same for every address and does the same work (app.web.ui.staff
queues one mail job either way), so it tells nobody who is staff where. It is limited per IP
here, and per address by app.web.ui.staff.
"""
from __future__ import annotations

import logging

from flask import flash, g, redirect, render_template, request, url_for

from app.core.db import db
from app.web.collect import limiter
from app.web.ui import auth, bp, staff

log = logging.getLogger(__name__)

SIGN_IN_REQUESTS_PER_IP = "10 per hour"


@bp.get("/sign-in")
def sign_in_form():
    """Ask for a sign-in link by email (staff of standalone stores)."""
    auth.ensure_csrf_token()
    return render_template("ui/sign_in.html")


@bp.post("/sign-in")
@limiter.limit(SIGN_IN_REQUESTS_PER_IP)
def sign_in_request():
    auth.check_csrf()
    staff.request_sign_in(request.form.get("email", ""))
    log.info("staff sign-in link requested")
    return render_template("ui/sign_in.html", requested=True)


@bp.get("/staff")
def team():
    """The store's staff and their roles, and the form to invite someone."""
    with db.session() as session:
        members = staff.members(session, g.store.id)
    return render_template("ui/staff.html", members=members, roles=staff.ROLES)


@bp.post("/staff")
def invite():
    try:
        with db.session() as session:
            member = staff.invite(session, g.store.id, request.form.get("email", ""),
                                  request.form.get("role", ""), g.actor)
            email, member_id = member.email, member.id
    except staff.StaffError as error:
        flash(str(error), "error")
        return redirect(url_for("ui.team"))
    staff.queue_sign_in_links([member_id])
    log.info("staff invited", extra={"store_id": g.store.id})
    flash(f"{email} is invited: a sign-in link is on its way to them.")
    return redirect(url_for("ui.team"))


@bp.post("/staff/<id:member_id>/remove")
def remove(member_id: int):
    with db.session() as session:
        removed = staff.remove(session, g.store.id, member_id, g.actor)
        email = removed.email if removed else None
    if email is None:
        flash("That person is no longer on the staff.", "error")
    else:
        log.info("staff removed", extra={"store_id": g.store.id})
        flash(f"{email} is removed, and signed out everywhere.")
    return redirect(url_for("ui.team"))
