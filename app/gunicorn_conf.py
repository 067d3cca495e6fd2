"""gunicorn settings for small dynos (512 MB): a few threaded workers, logs to stdout."""
import os

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
# and links from emails carry signed tokens. No referrer or user agent either.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
max_requests = 2000
max_requests_jitter = 200
