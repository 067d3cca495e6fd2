"""The flow builder: a built flow's document edited as a canvas of steps (static/ui/builder.js),
checked live and saved as the flow's next version, with the versions before it and what each
changed. Every check is flows.document's, as the CLI's; every flow is fetched for the signed-in
store (another store's name is a 404); no document content is logged."""
from __future__ import annotations

import json
import logging

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for

from app.audiences.catalogue import VARIABLES
from app.core.db import db
from app.web.ui import bp
from flows import catalog, document, library

log = logging.getLogger(__name__)
# Where a new flow starts: a marketing flow on an order, with no steps yet.
BLANK = {"format": document.FORMAT, "name": "", "title": "", "consent": "marketing",
         "trigger": {"event": "order_placed"}, "steps": []}
# The variables a flow's conditions read; the run's emails (run.steps.<id>.clicked) are added
# by the page, for the emails earlier on each path.
FIELDS = [{"name": v.name, "type": v.type, "doc": v.doc, "nullable": v.nullable}
          for v in VARIABLES.values()]
HISTORY = 20  # versions shown


def _stored(session, name: str) -> dict:
    """The newest document of the store's built flow of this name, or 404."""
    latest = library.newest(session, g.store.id, name)
    if latest is None:
        abort(404, "There is no such flow: it may belong to another store, or be a prebuilt "
                   "one (those are tuned on the Flows page).")
    return latest.document


def _versions(session, name: str) -> list[dict]:
    """The newest versions, each with who saved it, when, and the pointers it changed."""
    rows = library.history(session, g.store.id, name, limit=HISTORY + 1)
    return [{"version": row.version, "by": row.created_by, "at": row.created_at,
             "changed": document.differences(older.document, row.document) if older else None}
            for row, older in zip(rows[:HISTORY], [*rows[1:], None])]


def _page(doc: dict, name: str | None, problems=(), status: int = 200):
    with db.session() as session:
        versions = _versions(session, name) if name else []
    return render_template("ui/flow_build.html", doc=doc, name=name, problems=list(problems),
                           versions=versions, fields=FIELDS, triggers=document.triggers()), status


def _problems(session, text: str, name: str | None) -> tuple[dict | None, list]:
    """The checked document and [] or, when it cannot be saved, None and every problem.
    `name` is the flow being edited (None for a new one), which keeps its name."""
    try:
        checked = document.parse(text)
    except document.FlowDocumentError as error:
        return None, error.problems
    if name is not None and checked["name"] != name:
        return None, [("/name", "a flow keeps its name: start a new flow to use another")]
    refused = library.refusals(session, g.store.id, checked["name"], new=name is None)
    return (None, refused) if refused else (checked, [])


def _submitted(text: str) -> dict:
    """The posted document as the page can show it again (a blank one if it is no object)."""
    try:
        doc = json.loads(text)
    except ValueError:
        return dict(BLANK)
    return doc if isinstance(doc, dict) else dict(BLANK)


@bp.get("/flows/new")
def flows_new():
    """An empty builder for a new flow, or (`?template=abandoned_checkout`) one holding a
    prebuilt flow's template under a name of its own, to save as the merchant's copy."""
    name = request.args.get("template")
    if not name:
        return _page(dict(BLANK), None)
    if name not in catalog.FLOWS:
        abort(404, "There is no such prebuilt flow.")
    template = catalog.template(name)
    with db.session() as session:
        copy_name = _free_name(session, f"my_{name}")
    return _page({**template, "name": copy_name, "title": f"{template['title']} (my copy)"},
                 None)


def _free_name(session, stem: str) -> str:
    """`stem`, or stem_2, stem_3... : the first the store has no flow of."""
    name, n = stem, 1
    while library.newest(session, g.store.id, name) is not None:
        n += 1
        name = f"{stem}_{n}"
    return name


@bp.get("/flows/<name>/build")
def flows_build(name: str):
    """The builder holding a built flow's newest version."""
    with db.session() as session:
        doc = _stored(session, name)
    return _page(doc, name)


@bp.post("/flows/new/check")
@bp.post("/flows/<name>/check")
def flows_check(name: str | None = None):
    """{"problems": [[pointer, reason], ...]} for the document posted as JSON; [] if it would
    save."""
    with db.session() as session:
        if name is not None:
            _stored(session, name)
        problems = _problems(session, request.get_data(as_text=True), name)[1]
    return jsonify(problems=problems)


@bp.post("/flows/new")
@bp.post("/flows/<name>/build")
def flows_save(name: str | None = None):
    """Save the posted document as the flow's next version (the same document makes none), or
    show the builder again with every problem beside its step."""
    text = request.form.get("document", "")
    with db.session() as session:
        if name is not None:
            _stored(session, name)
        checked, problems = _problems(session, text, name)
        if checked is not None:
            before = library.newest(session, g.store.id, checked["name"])
            row = library.save(session, g.store.id, checked, g.actor)
            version, changed = row.version, before is None or before.version != row.version
    if checked is None:
        return _page(_submitted(text), name, problems, 400)
    log.info("built flow saved: version %d", version, extra={"store_id": g.store.id})
    flash(f"{checked['title']}: saved as version {version}. New runs start on it; runs under "
          "way finish on the version they started." if changed
          else f"{checked['title']}: nothing changed, so no new version.")
    return redirect(url_for("ui.flows", _anchor=checked["name"]))
