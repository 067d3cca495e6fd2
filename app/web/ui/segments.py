"""Segments: the store's audiences with their counts, the built-ins to copy, a rule editor with a
live count, and each segment's members a page at a time or as CSV. Every name, rule and count
goes through app.audiences.segments, as the CLI's do; every segment is fetched for the
signed-in store (another store's id is a 404)."""
from __future__ import annotations

import csv
import io
import json
import logging

from flask import Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy.exc import OperationalError

from app.audiences import builtins, segments
from app.audiences.catalogue import CUSTOMER, VARIABLES
from app.core.db import db
from app.models import Segment
from app.web import ids
from app.web.collect import limiter
from app.web.ui import bp, owned_or_404

log = logging.getLogger(__name__)
# The live count asks the database as the merchant types (debounced in the page): enough for
# brisk editing, not enough for one session to keep the database busy.
COUNTS_PER_STORE = "60/minute"
TOO_SLOW = "This rule takes too long to count; make it narrower."
FIELDS = [{"name": v.name, "type": v.type, "doc": v.doc, "nullable": v.nullable}
          for v in VARIABLES.values() if v.scope == CUSTOMER]


def _editor(segment: Segment | None, name: str, rule_text: str, error: str | None = None,
            status: int = 200):
    return render_template("ui/segment_edit.html", segment=segment, name=name,
                           rule_text=rule_text, error=error, fields=FIELDS,
                           name_rule=segments.NAME_RULE), status


@bp.get("/segments")
def segments_page():
    """The store's segments with how many customers each holds now, and the built-ins."""
    with db.session() as session:
        listed = [(s, segments.count(session, g.store.id, s.rule))
                  for s in segments.all_of(session, g.store.id)]
    return render_template("ui/segments.html", listed=listed, builtins=builtins.BUILTINS)


@bp.get("/segments/new")
def new_segment():
    """An empty editor, or one holding a built-in's name and rule (`?from=vip`)."""
    copied = builtins.BUILTINS.get(request.args.get("from", ""))
    if copied is None:
        return _editor(None, "", json.dumps({"and": [{">=": [{"var": "customer.orders_count"}, 1]}]}))
    return _editor(None, copied.name, json.dumps(copied.rule))


@bp.post("/segments")
def create_segment():
    """Save a new segment, or show the editor again with what to fix."""
    name, rule_text = request.form.get("name", ""), request.form.get("rule", "")
    try:
        with db.session() as session:
            segment = segments.create(session, g.store.id, name, rule_text, g.actor)
            segment_id = segment.id
    except segments.SegmentError as error:
        return _editor(None, name, rule_text, str(error), 400)
    flash(f"Segment “{name.strip()}” saved.")
    return redirect(url_for("ui.segment", segment_id=segment_id))


@bp.get("/segments/<id:segment_id>")
def segment(segment_id: int):
    """A segment's rule, and its members a page at a time by spend or last order."""
    sort = request.args.get("sort") if request.args.get("sort") in segments.SORTS else "spend"
    page = ids.parse(request.args.get("page", "")) or 1
    with db.session() as session:
        row = owned_or_404(session, Segment, segment_id)
        total, shown = segments.page(session, g.store.id, row.rule, sort, page)
    return render_template("ui/segment.html", segment=row, total=total, members=shown,
                           sort=sort, page=page, size=segments.PAGE_SIZE,
                           rule_text=json.dumps(row.rule, indent=2))


@bp.get("/segments/<id:segment_id>/edit")
def edit_segment(segment_id: int):
    with db.session() as session:
        row = owned_or_404(session, Segment, segment_id)
    return _editor(row, row.name, json.dumps(row.rule))


@bp.post("/segments/<id:segment_id>")
def update_segment(segment_id: int):
    """Save a segment's new name and rule, or show the editor again with what to fix."""
    name, rule_text = request.form.get("name", ""), request.form.get("rule", "")
    try:
        with db.session() as session:
            row = owned_or_404(session, Segment, segment_id)
            segments.update(session, row, rule_text, g.actor, name=name)
    except segments.SegmentError as error:
        with db.session() as session:
            return _editor(owned_or_404(session, Segment, segment_id), name, rule_text,
                           str(error), 400)
    flash(f"Segment “{name.strip()}” saved.")
    return redirect(url_for("ui.segment", segment_id=segment_id))


@bp.post("/segments/<id:segment_id>/delete")
def delete_segment(segment_id: int):
    with db.session() as session:
        row = owned_or_404(session, Segment, segment_id)
        name = row.name
        segments.remove(session, row, g.actor)
    flash(f"Segment “{name}” deleted.")
    return redirect(url_for("ui.segments_page"))


@bp.get("/segments/<id:segment_id>/members.csv")
def segment_csv(segment_id: int):
    """Every member with their metrics, highest spend first."""
    with db.session() as session:
        row = owned_or_404(session, Segment, segment_id)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(segments.CSV_COLUMNS)
        for values in segments.export(session, g.store.id, row.rule):
            writer.writerow([segments.spreadsheet_safe(value) for value in values])
    filename = "".join(c if c.isalnum() else "-" for c in row.name) or "segment"
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}.csv"'})


@bp.post("/segments/count")
@limiter.limit(COUNTS_PER_STORE, key_func=lambda: f"segment-count:{g.store.id}")
def count_segment():
    """{"count": n} for the rule being edited, or 400 {"error": "/pointer: reason"}."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("rule"), str):
        abort(400, 'send {"rule": "<JsonLogic>"}')
    try:
        rule = segments.check_rule(payload["rule"])
        with db.session() as session:
            return jsonify(count=segments.count(session, g.store.id, rule))
    except segments.SegmentError as error:
        return jsonify(error=str(error)), 400
    except OperationalError:  # the statement timeout: a rule too costly to count live
        log.info("segment count timed out", extra={"store_id": g.store.id})
        return jsonify(error=TOO_SLOW), 400
