"""Flows: one card per prebuilt flow with its switch and settings; saving changes new runs only."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for

from app.core import settings as store_settings
from app.core.db import db
from app.web.ui import bp
from flows import choices, dryrun, library, limits
from flows.reasons import in_words
from flows.steps import Flow, rungs

log = logging.getLogger(__name__)
# Settings most merchants never need to touch, folded away under "Advanced".
ADVANCED = {"reentry_days", "stale_after_hours", "drop_after_hours", "give_up_days",
            "entry_window_days", "sunset_days"}
# Names that read badly when derived from the setting's name.
LABELS = {
    "discount": "Include a discount code", "review_discount": "Discount with the review request",
    "send_confirmation": "Send an order confirmation", "double_opt_in": "Ask new subscribers to confirm",
    "holdout_percent": "Control group", "lapse_days": "Lapsed after", "reentry_days": "Once per",
    "stale_after_hours": "Ignore triggers older than", "drop_after_hours": "Drop sends delayed by",
    "give_up_days": "Stop waiting after", "status_note_hours": "Not-shipped note after",
    "repeat_order_points": "Points per repeat order", "vip_score": "Tagged VIP at a score of",
}
UNITS = {"hours": "hours", "days": "days", "percent": "%"}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    unit: str | None
    value: Any
    default: Any

    @property
    def is_bool(self) -> bool:
        return isinstance(self.default, bool)

    @property
    def allowed(self) -> str | None:
        """The range a number may take ("1 to 2160 hours (90 days)")."""
        limit = None if self.is_bool else limits.RANGES.get(self.name)
        if limit and self.name in limits.LADDERS:
            return f"up to {limits.LADDERS[self.name]} values, each {limit}, rising"
        return str(limit) if limit else None

    @property
    def advanced(self) -> bool:
        return self.name in ADVANCED

    @property
    def summary(self) -> str | None:
        """How the card's summary line states it ("Email 1 delay 1 h"); None for an off switch."""
        if self.is_bool or self.name == "holdout_percent":  # only worth a word when on
            return (self.label if self.is_bool else f"{self.label} {self.value}%") if self.value else None
        short = {"hours": " h", "days": " days", "%": "%"}.get(self.unit or "", "")
        return f"{self.label} {self.value}{short}"


def field(name: str, value: Any, default: Any) -> Field:
    """A setting as the form shows it: a label, its unit, current value and default."""
    stem, _, suffix = name.rpartition("_")
    unit = UNITS.get(suffix) if stem else None
    label = LABELS.get(name) or (stem if unit else name).replace("_", " ").capitalize()
    if isinstance(default, list):  # a ladder, typed as "90, 180, 365"
        value = ", ".join(f"{rung:g}" for rung in rungs(value))
    return Field(name, label, unit, value, default)


def cards(session, store) -> list[dict]:
    """Every flow with its state and fields, in catalogue order, and what keeps it from
    running: its own settings to fix (`problems`), or the store's (`blocked`)."""
    listed = []
    for flow in library.flows_for(session, store.id):
        enabled, settings = choices.effective(session, store.id, flow)
        listed.append({"flow": flow, "enabled": enabled, "description": flow.describe(settings),
                       "problems": choices.problems(flow, settings),
                       "blocked": store_settings.refusal(store.settings, flow.marketing),
                       "fields": [field(n, settings[n], default)
                                  for n, default in _card_settings(flow).items()]})
    return listed


def _flow(name: str) -> Flow:
    """The store's flow of this name, prebuilt or built (another store's is no such flow)."""
    with db.session() as session:
        flow = library.find(session, g.store.id, name)
    if flow is None:
        abort(404, "There is no such flow.")
    return flow


def _card_settings(flow: Flow) -> dict[str, Any]:
    """The settings a flow's card edits, with their defaults; each email's own texts are
    edited beside its preview (ui/preview.py). A built flow's are in its document."""
    if flow.built:
        return {}
    return {name: default for name, default in choices.defaults(flow).items()
            if not choices.is_text_setting(flow, name)}


def _submitted(flow: Flow) -> dict[str, str]:
    """The card form's values; an unticked checkbox sends nothing, which means off."""
    return {name: request.form.get(name, "false" if isinstance(default, bool) else "")
            for name, default in _card_settings(flow).items()}


@bp.get("/flows")
def flows():
    with db.session() as session:
        listed = cards(session, g.store)
    return render_template("ui/flows.html", cards=listed, errors={})


@bp.post("/flows/<name>")
def save_flow(name: str):
    """Save a flow's settings; a bad value re-shows the form with the reason beside it."""
    flow = _flow(name)
    with db.session() as session:
        current = choices.effective(session, g.store.id, flow)[1]
    try:
        changes = choices.validate(flow, _submitted(flow), current)
    except choices.FlowSettingError as error:
        with db.session() as session:
            listed = cards(session, g.store)
        bad, _, reason = str(error).partition(": ")
        return render_template("ui/flows.html", cards=listed, errors={flow.name: (bad, reason)},
                               submitted={flow.name: request.form}), 400
    with db.session() as session:
        choices.save(session, g.store.id, flow, actor=g.actor, changes=changes)
    log.info("flow settings saved", extra={"store_id": g.store.id})
    flash(f"{flow.title}: settings saved. Customers already in the flow keep their settings.")
    for warning in choices.warnings({**current, **changes}):
        flash(f"{flow.title}: {warning.partition(': ')[2]}", "warning")
    return redirect(url_for("ui.flows", _anchor=flow.name))


@bp.post("/flows/<name>/toggle")
def toggle_flow(name: str):
    """Switch a flow on or off (runs under way stop before their next step); a flow the engine
    would skip (settings to fix, a marketing flow without the postal address) stays off."""
    flow = _flow(name)
    on = request.form.get("enabled") == "true"
    with db.session() as session:
        refusal = on and choices.switch_on_refusal(session, g.store, flow)
        if not refusal:
            choices.save(session, g.store.id, flow, actor=g.actor, enabled=on)
    if refusal:
        why = f"{flow.title} stays off: {SKIP_REASONS.get(refusal.partition(':')[0], refusal)}"
        if request.headers.get("Accept") == "application/json":
            return {"flow": flow.name, "enabled": False, "error": why}, 400
        flash(why, "error")
        return redirect(url_for("ui.flows", _anchor=flow.name))
    log.info("flow %s", "enabled" if on else "disabled", extra={"store_id": g.store.id})
    if request.headers.get("Accept") == "application/json":
        return {"flow": flow.name, "enabled": on}
    flash(f"{flow.title} is {'on' if on else 'off'}.")
    return redirect(url_for("ui.flows", _anchor=flow.name))


# Why a flow cannot run (flows.choices.skip_reason), in a merchant's words.
SKIP_REASONS = {
    "no postal address": "marketing emails must carry your postal address, as anti-spam laws "
                         "require. Add it under Settings, Brand, first.",
    "flow settings to fix": "some of its settings are out of range; fix the ones marked below.",
    "store settings to fix": "some store settings are not valid; fix the ones marked under "
                             "Settings.",
}


@bp.get("/flows/<name>/dry-run")
def dry_run(name: str):
    """What the flow, with the store's current settings, would have sent over the last 30 days:
    the answer once a worker has replayed the history (202 and a page that waits until then)."""
    return _dry_run(_flow(name), retry=False)


@bp.post("/flows/<name>/dry-run")
def retry_dry_run(name: str):
    """Queue again a replay that did not finish."""
    flow = _flow(name)
    _dry_run(flow, retry=True)
    return redirect(url_for("ui.dry_run", name=flow.name))


def _dry_run(flow: Flow, retry: bool):
    with db.session() as session:
        enabled, settings = choices.effective(session, g.store.id, flow)
    if choices.problems(flow, settings):  # a replay on them would fail like the flow would
        flash(f"{flow.title}: {SKIP_REASONS['flow settings to fix']}", "error")
        return redirect(url_for("ui.flows", _anchor=flow.name))
    unavailable = dryrun.unavailable(flow)
    if unavailable:
        flash(f"{flow.title}: {unavailable}.", "error")
        return redirect(url_for("ui.flows", _anchor=flow.name))
    found = dryrun.summary_or_start(g.store.id, flow, settings, retry=retry)
    if isinstance(found, dryrun.Pending):
        return render_template("ui/dry_run.html", flow=flow, enabled=enabled, summary=None,
                               failed=found.failed), 202
    stops = [(in_words(reason), count) for reason, count in found["stopped"]]
    return render_template("ui/dry_run.html", flow=flow, enabled=enabled, summary=found,
                           stops=stops)
