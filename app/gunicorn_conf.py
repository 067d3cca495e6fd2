"""gunicorn settings for small dynos (512 MB): a few threaded workers, logs to stdout."""
import gc
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
# Two workers for two cores (a 512 MB dyno holds two; Heroku sets WEB_CONCURRENCY by dyno size,
# where os.cpu_count() would count the host's cores). Eight threads each: a webhook's thread
# mostly waits for PostgreSQL's durable commit, and the deliveries waiting together share one
# INSERT, commit and Redis signal (app.ingest.intake), so more of them at once cost less CPU
# each (bench/RESULTS.md: 0.96 ms of a worker's CPU per delivery with 8, 1.23 ms with 4).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
# The app is built once, in the master, and forked: workers share its imported code (memory on a
# small dyno), and a worker replaced after max_requests starts in milliseconds instead of
# building the app again. The pools reconnect in each worker (app.core.db, redis-py).
preload_app = True
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
# A guard against slow leaks, not a routine: at webhook rates 2,000 requests replaced each worker
# every few seconds, each time with new PostgreSQL sessions and cold caches.
max_requests = 20000
max_requests_jitter = 2000


def pre_fork(server, worker):
    """The preloaded app lives as long as the master: frozen (Python's gc.freeze), the workers'
    full collections neither walk it nor write their bookkeeping into the pages they share with
    the master."""
    gc.collect()
    gc.freeze()
