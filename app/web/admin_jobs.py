"""The operator's jobs page at /admin/jobs: rq-dashboard (queues, workers, failed jobs with
requeue and delete) on the app's own Redis, behind `admin_auth`."""
from __future__ import annotations

import rq_dashboard
from flask import Flask, Response, abort, current_app, request
from rq_dashboard.web import setup_rq_connection

from app.web import admin_auth

PREFIX = "/admin/jobs"
DASHBOARD = rq_dashboard.blueprint.name
# rq-dashboard also requeues a whole queue on GET, which any page could fire with an <img>;
# its own button POSTs.
POST_ONLY = {f"{DASHBOARD}.requeue_all"}
# Its pages show job arguments and errors: never cached, framed or leaked in a Referer.
HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
           "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"}


def init_app(app: Flask) -> None:
    """Mount rq-dashboard on the app's Redis, guarded by app-wide hooks, which (unlike hooks
    added to its blueprint) run before rq-dashboard's own."""
    app.config["RQ_DASHBOARD_REDIS_URL"] = app.config["STOREFLOW"].redis_url
    setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=PREFIX)
    app.before_request(_guard)
    app.after_request(_headers)


def _guard() -> Response | None:
    if request.blueprint != DASHBOARD:
        return None
    config = current_app.config["STOREFLOW"]
    refused = admin_auth.check(config.admin_password, config.base_url)
    if refused is None and request.endpoint in POST_ONLY and request.method != "POST":
        abort(405)
    return refused


def _headers(response: Response) -> Response:
    if request.blueprint == DASHBOARD:
        response.headers.update(HEADERS)
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response
