"""Store settings: sender, brand, sending rules; each field validated by app.core.settings."""
from __future__ import annotations

import logging
from zoneinfo import available_timezones

from flask import flash, g, redirect, render_template, request, url_for

from app.core import brand, settings as store_settings, store_config
from app.core.db import db
from app.mail.transport import transports
from app.models import Store
from app.web.ui import bp
from flows import choices

log = logging.getLogger(__name__)
FIELDS = ("from_name", "from_email", "reply_to", "logo_url", "brand_color", "text_color",
          "background_color", "font_stack", "button_style", "postal_address",
          *brand.SOCIAL_SITES, "timezone", "frequency_cap_hours", "attribution_days")


def _submitted() -> dict[str, str]:
    # A field the form did not send (an older page still open) stays as it is.
    values = {name: request.form[name].strip() for name in FIELDS if name in request.form}
    # Quiet hours are two time inputs and a switch in the form, one setting in the store.
    values["quiet_hours"] = (f"{request.form.get('quiet_start', '')}-{request.form.get('quiet_end', '')}"
                             if request.form.get("quiet_on") == "true" else "off")
    return values


def parse(values: dict[str, str], marketing_on: tuple[str, ...] = ()
          ) -> tuple[dict, dict[str, str]]:
    """(changes, errors by name), checking every field; an optional field left empty clears."""
    changes, errors = store_settings.check(values, marketing_on=marketing_on)
    return changes, _by_field(errors)


def _by_field(errors: dict[str, str]) -> dict[str, str]:
    """Errors as shown beside their field, without the field's name in front."""
    return {name: error.removeprefix(f"{name}: ") for name, error in errors.items()}


def _page(values: dict, errors: dict, status: int = 200, stored: bool = False):
    """The page; `stored` says the errors are about values already saved, not just typed."""
    return render_template("ui/settings.html", values=values, errors=errors, stored=stored,
                           zones=sorted(available_timezones()), store=g.store, brand=brand,
                           mail_route=transports.current.describe()), status


@bp.get("/settings")
def settings():
    """The settings, with any stored value that no longer passes marked for fixing."""
    problems = store_settings.problems(g.store.settings)
    # A value to fix shows as it is stored (the store reads its default meanwhile).
    shown = {**g.store.effective_settings, **{name: g.store.settings[name] for name in problems}}
    return _page(shown, _by_field(problems), stored=True)


@bp.post("/settings")
def save_settings():
    """Save every valid field at once, or none and say what to fix."""
    values = _submitted()
    with db.session() as session:
        changes, errors = parse(values, choices.marketing_on(session, g.store.id))
    if errors:
        return _page({**g.store.effective_settings, **values}, errors, 400)
    with db.session() as session:
        store = session.get(Store, g.store.id)
        warnings = store_settings.warnings(store.settings, changes)
        store_config.save(session, store, changes, g.actor)
    log.info("store settings saved", extra={"store_id": g.store.id})
    flash("Settings saved.")
    for warning in warnings:
        flash(warning.partition(": ")[2], "warning")
    return redirect(url_for("ui.settings"))
