"""The dev inbox: with no SMTP_URL, mail is kept as .eml files; this lists and shows the ones
this store sent. Files are found through the store's own Message rows, never by a name from the
request, so one store cannot read another's mail or any other file."""
from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from flask import abort, g, render_template
from sqlalchemy import select

from app.core.db import db
from app.mail import tracking
from app.mail.transport import DevInbox, transports
from app.models import Message
from app.web.ui import bp, owned_or_404, shows_email

LISTED = 100


def inbox() -> DevInbox | None:
    """The dev inbox, when it is this process's transport."""
    return transports.current if isinstance(transports.current, DevInbox) else None


def _read(path: Path) -> EmailMessage:
    return message_from_bytes(path.read_bytes(), policy=policy.default)


@bp.app_template_global()
def dev_inbox_on() -> bool:
    return inbox() is not None


@bp.get("/dev-inbox")
def dev_inbox():
    """Mail kept for this store, newest first."""
    folder = inbox()
    if folder is None:
        abort(404, "Mail goes out through SMTP here, so there is no dev inbox.")
    with db.session() as session:
        rows = session.execute(select(Message).where(
            Message.store_id == g.store.id, Message.sent_at.is_not(None),
        ).order_by(Message.sent_at.desc()).limit(LISTED)).scalars().all()
    kept = [(row, _read(folder.path(row.message_id))) for row in rows
            if folder.path(row.message_id).is_file()]
    return render_template("ui/dev_inbox.html", kept=kept)


@bp.get("/dev-inbox/<id:message_id>")
@shows_email
def dev_inbox_message(message_id: int):
    """One kept .eml: its headers, HTML part and text part as they were sent, less the open
    pixel (reading it here is not the recipient opening it)."""
    folder = inbox()
    if folder is None:
        abort(404, "Mail goes out through SMTP here, so there is no dev inbox.")
    with db.session() as session:
        row = owned_or_404(session, Message, message_id)
    path = folder.path(row.message_id)
    if not path.is_file():
        abort(404, "This email was not kept in the dev inbox.")
    mail = _read(path)
    html, text = mail.get_body(("html",)), mail.get_body(("plain",))
    return render_template("ui/dev_inbox_message.html", message=row, mail=mail,
                           html=tracking.without_pixel(html.get_content()) if html else None,
                           text=text.get_content() if text else None)
