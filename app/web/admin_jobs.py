"""The operator's jobs page at /admin/jobs: rq-dashboard (queues, workers, failed jobs with
requeue and delete) on the app's own Redis, behind `admin_auth`."""
from __future__ import annotations

import base64
import hashlib
import re

import rq_dashboard
from flask import Flask, Response, abort, current_app, request
from rq_dashboard.web import setup_rq_connection

from app.web import admin_auth, ids

PREFIX = "/admin/jobs"
DASHBOARD = rq_dashboard.blueprint.name
# rq-dashboard also requeues a whole queue on GET, which any page could fire with an <img>;
# its own button POSTs.
POST_ONLY = {f"{DASHBOARD}.requeue_all"}
# Numbers in its URLs that it trusts: the index of the Redis shown (raising past the one we
# mount) and a page of jobs (int() of any text, then a Redis range).
PAGING = ("per_page", "page")
# Its pages show job arguments and errors: never cached, framed or leaked in a Referer.
HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
           "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"}
# Scripts written into the page itself (not its underscore templates, which never run as such).
INLINE_SCRIPT = re.compile(r'<script(?![^>]*\b(?:src=|type="text/template"))[^>]*>(.*?)</script>',
                           re.DOTALL)


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
    if refused is None and not _numbers_known(request.view_args or {}):
        abort(404)
    return refused


def _numbers_known(args: dict) -> bool:
    """Instance 0 (our one Redis), and pages that are numbers a Redis range can hold."""
    pages = [ids.parse(str(args[name])) for name in PAGING if name in args]
    return args.get("instance_number", 0) == 0 and all(
        page is not None and page <= ids.INTEGER_MAX for page in pages)


def _headers(response: Response) -> Response:
    if request.blueprint == DASHBOARD:
        response.headers.update(HEADERS)
        response.headers["Content-Security-Policy"] = content_security_policy(response)
    return response


def content_security_policy(response: Response) -> str:
    """Scripts from the dashboard only: its page's inline script allowed by hash, so markup a
    job's error text carries into the page (its job view shows that text unescaped) cannot run.
    'unsafe-eval' because underscore compiles the dashboard's own templates with new Function."""
    hashes = "".join(f" 'sha256-{digest}'" for digest in _inline_script_hashes(response))
    return (f"default-src 'self'; script-src 'self' 'unsafe-eval'{hashes}; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _inline_script_hashes(response: Response) -> list[str]:
    if response.mimetype != "text/html" or response.direct_passthrough:
        return []
    return [base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            for body in INLINE_SCRIPT.findall(response.get_data(as_text=True))]
