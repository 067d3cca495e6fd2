"""Store settings: sender, brand, sending rules; each field validated by app.settings."""
from __future__ import annotations

import logging
from zoneinfo import available_timezones

from flask import flash, g, redirect, render_template, request, url_for

from app import settings as store_settings
from app.db import db
from app.mail.transport import transports
from app.models import Store
from app.web.ui import bp

log = logging.getLogger(__name__)
FIELDS = ("from_name", "from_email", "reply_to", "logo_url", "brand_color", "postal_address",
          "timezone", "frequency_cap_hours", "attribution_days")


def _submitted() -> dict[str, str]:
    values = {name: request.form.get(name, "").strip() for name in FIELDS}
    # Quiet hours are two time inputs and a switch in the form, one setting in the store.
    values["quiet_hours"] = (f"{request.form.get('quiet_start', '')}-{request.form.get('quiet_end', '')}"
                             if request.form.get("quiet_on") == "true" else "off")
    return values


def parse(values: dict[str, str]) -> tuple[dict, set[str], dict[str, str]]:
    """(changes, names reset to their default, errors by name), checking every field."""
    changes, reset, errors = {}, set(), {}
    for name, value in values.items():
        if value == "" and store_settings.SETTINGS[name][0] == "":
            reset.add(name)  # an optional field left empty goes back to its default
            continue
        try:
            changes.update(store_settings.validate({name: value}))
        except store_settings.SettingError as error:
            errors[name] = str(error).removeprefix(f"{name}: ")
    return changes, reset, errors


def _page(values: dict, errors: dict, status: int = 200):
    return render_template("ui/settings.html", values=values, errors=errors,
                           zones=sorted(available_timezones()), store=g.store,
                           mail_route=transports.current.describe()), status


@bp.get("/settings")
def settings():
    return _page(g.store.effective_settings, {})


@bp.post("/settings")
def save_settings():
    """Save every valid field at once, or none and say what to fix."""
    values = _submitted()
    changes, reset, errors = parse(values)
    if errors:
        return _page({**g.store.effective_settings, **values}, errors, 400)
    with db.session() as session:
        store = session.get(Store, g.store.id)
        store.settings = {k: v for k, v in {**store.settings, **changes}.items() if k not in reset}
    log.info("store settings saved", extra={"store_id": g.store.id})
    flash("Settings saved.")
    return redirect(url_for("ui.settings"))
