"""The merchant's settings UI under /app: server-rendered pages, signed-in per store.

Every view runs after `_identify` (a signed-in store, or the sign-in page) and the CSRF check,
and every answer carries a Content-Security-Policy that only lets the store's own admin frame
it. The pages themselves live in small modules that add their routes to `bp`.
"""
from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import (Blueprint, Flask, abort, current_app, g, redirect, render_template, request,
                   session, url_for)

import connectors
from app.core.db import db
from app.core.stores import get_owned
from app.models import Store
from app.web.ui import auth, display, staff
from connectors.shopify.credentials import credentials

log = logging.getLogger(__name__)
bp = Blueprint("ui", __name__, url_prefix="/app")
# Pages that can be seen signed out.
PUBLIC = {"ui.login", "ui.sign_in_form", "ui.sign_in_request"}
# What a viewer (app.web.ui.staff.VIEWER) may open: reports, activity and campaigns (to read);
# everything else is a 403.
VIEWER_PAGES = {"ui.overview", "ui.activity", "ui.message", "ui.campaigns_page", "ui.campaign",
                "ui.campaign_recipients", "ui.logout"}
# Answers hold the store's customers and revenue: never cached, never leaked in a Referer.
# Shopify's App Bridge, which every page embedded in the admin must load from Shopify's CDN.
# The CSP names the file, not the CDN, where any merchant can host a script.
APP_BRIDGE_URL = "https://cdn.shopify.com/shopifycloud/app-bridge.js"
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin",
                   "X-Content-Type-Options": "nosniff"}


def init_app(app: Flask) -> None:
    """Configure the session cookie and register the UI (and `/`, which leads to it)."""
    app.config.update(auth.cookie_settings(app.config["STOREFLOW"].base_url))
    display.register(app)
    app.register_blueprint(bp)
    app.add_url_rule("/", "home", _home)


def _home():
    """BASE_URL itself, as `storeflow dev` prints it: the UI (its sign-in page when signed out)."""
    return redirect(url_for("ui.overview"))


def frame_ancestors(store: Store | None, bounce: bool = False) -> str:
    """Who may frame the UI: a Shopify store's own admin, nobody otherwise; the bounce page
    (which shows nothing of any store) any Shopify admin, as its shop is not known yet."""
    origins = connectors.get(store.platform).admin_origins(store.domain) if store else ()
    if origins:
        return " ".join(origins)
    return "https://admin.shopify.com https://*.myshopify.com" if bounce else "'none'"


def content_security_policy(store: Store | None, inline_styles: bool, embedded: bool,
                            bounce: bool = False) -> str:
    """Our own scripts and styles only (and App Bridge, inside the Shopify admin); pages showing
    an email (a srcdoc iframe, which inherits this policy) allow the email's inline styles,
    never its scripts."""
    styles = "'self' 'unsafe-inline'" if inline_styles else "'self'"
    scripts = f"'self' {APP_BRIDGE_URL}" if embedded else "'self'"
    return (f"default-src 'none'; script-src {scripts}; style-src {styles}; "
            f"img-src 'self' data: https:; connect-src 'self'; frame-src 'self'; "
            f"form-action 'self'; base-uri 'none'; frame-ancestors {frame_ancestors(store, bounce)}")


def shows_email(view):
    """Mark a view whose page renders an email in an iframe (see content_security_policy)."""
    view.shows_email = True
    return view


@bp.before_request
def _identify():
    g.store, g.embedded, g.bounce = None, False, False
    if request.endpoint in PUBLIC:
        return None
    try:
        store_id = auth.signed_in_store_id()
    except auth.SessionTokenRefused as refused:
        if request.method == "GET" and auth.page_token():
            # A page of the embedded app opened again after its token's minute (a reload, the
            # back button): App Bridge hands this page a fresh token and it reloads with it.
            g.embedded = g.bounce = True
            return render_template("ui/bounce.html"), 401
        abort(401, str(refused))
    g.embedded = auth.session_token() is not None
    if store_id is not None:
        with db.session() as db_session:
            g.store = db_session.get(Store, store_id)
    if g.store is None or not g.store.installed:
        auth.sign_out()
        return render_template("ui/signed_out.html"), 401
    g.role, g.actor = staff.OWNER, auth.actor()
    staff_id = None if g.embedded else session.get(auth.STAFF_ID)
    if staff_id is not None:
        with db.session() as db_session:
            member = staff.current(db_session, g.store.id, staff_id)
            g.role = member.role if member else None
        if g.role is None:  # removed from the staff: every session of theirs ends here
            auth.sign_out()
            return render_template("ui/signed_out.html", removed=True), 401
    auth.check_csrf()
    if g.role != staff.OWNER and request.endpoint not in VIEWER_PAGES:
        abort(403, f"You are signed in as a {g.role}: you can see reports and activity. "
                   "Ask the store's owner to change this.")
    return None


@bp.after_request
def _headers(response):
    view = current_app.view_functions.get(request.endpoint or "")
    inline = bool(getattr(view, "shows_email", False))
    embedded = g.get("embedded", False)
    response.headers["Content-Security-Policy"] = content_security_policy(
        g.get("store"), inline, embedded, g.get("bounce", False))
    response.headers.update(PRIVATE_HEADERS)
    token = auth.page_token() if embedded else None
    if token and response.status_code in (302, 303):
        response.location = _with_id_token(response.location, token)
    return response


@bp.context_processor
def _app_bridge() -> dict:
    """What a page embedded in the Shopify admin needs to load App Bridge; None elsewhere."""
    if not g.get("embedded"):
        return {"app_bridge": None}
    return {"app_bridge": {"src": APP_BRIDGE_URL, "api_key": credentials.api_key}}


def _with_id_token(location: str, token: str) -> str:
    """Inside the admin no cookie carries the sign-in across a redirect: the page's session
    token (valid for a minute) does, to our own pages only."""
    parts = urlsplit(location)
    if parts.netloc or not parts.path.startswith(bp.url_prefix):
        return location
    query = urlencode([*parse_qsl(parts.query), (auth.ID_TOKEN, token)])
    return urlunsplit(parts._replace(query=query))


@bp.get("/login/<token>")
def login(token: str):
    """Redeem a login link: a fresh session for its store, then the overview."""
    login = auth.redeem(token)
    with db.session() as db_session:
        store = db_session.get(Store, login.store_id) if login is not None else None
        if store is not None and login.staff_id is not None \
                and staff.current(db_session, store.id, login.staff_id) is None:
            store = None  # a link mailed before its member was removed
    if store is None or not store.installed:
        log.info("ui sign-in refused")
        return render_template("ui/signed_out.html", refused=True), 403
    auth.sign_in(login)
    log.info("ui sign-in", extra={"store_id": store.id})
    return redirect(url_for("ui.overview"))


@bp.post("/logout")
def logout():
    auth.sign_out()
    return render_template("ui/signed_out.html", signed_out=True)


@bp.app_template_global()
def csrf_token() -> str:
    return auth.csrf_token()


@bp.errorhandler(400)
@bp.errorhandler(403)
@bp.errorhandler(404)
def _error(error):
    return render_template("ui/error.html", error=error), error.code


def owned_or_404(session, model, row_id: int | None):
    """A row of the signed-in store, or 404 (another store's id, or None for an id no row can
    have, looks like no id at all)."""
    row = get_owned(session, model, g.store.id, row_id) if row_id is not None else None
    if row is None:
        abort(404, "Nothing here: it may have been deleted, or belongs to another store.")
    return row


from app.web.ui import (activity, audit_log, builder, builder_email, campaigns, designer,  # noqa: E402,F401
                        devinbox, flows, overview, preview, segments, settings, team)
