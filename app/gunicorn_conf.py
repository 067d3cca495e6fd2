"""gunicorn settings for small dynos (512 MB): a few threaded workers, logs to stdout."""
import os

from gunicorn.glogging import Logger

from app.core.logs import redact_path


class AccessLogger(Logger):
    """gunicorn's logger, its access lines without the bearer tokens some paths carry."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact_path(atoms["U"] or "")
        return atoms


bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
# Shopify waits 5 s for a webhook answer; nothing we serve should take a fraction of that.
timeout = 30
graceful_timeout = 25
keepalive = 5
accesslog = "-"
# The path without its query: an embedded page's URL carries a live session token (id_token),
# and links from emails carry signed tokens, in their paths too (AccessLogger cuts those out).
# No referrer or user agent either.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
logger_class = AccessLogger
max_requests = 2000
max_requests_jitter = 200
