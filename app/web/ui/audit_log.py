"""The audit log page: who changed what, newest first (owners only, like every page but the
overview and activity)."""
from __future__ import annotations

from flask import g, render_template, request

from app.core import audit
from app.core.db import db
from app.web.ui import bp


@bp.get("/audit")
def audit_log():
    page = request.args.get("page", 1, type=int)
    page = page if page and 1 <= page <= 10_000 else 1
    with db.session() as session:
        entries = audit.recent(session, g.store.id, page - 1)
    return render_template("ui/audit.html", entries=entries, page=page,
                           more=len(entries) == audit.PAGE_SIZE, describe=audit.describe)
