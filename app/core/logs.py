"""One line per event on stdout, with the store and job it concerns. Never personal data:
callers log ids, topics and counts, not emails, names or bodies."""
from __future__ import annotations

import logging
import re
import sys

CONTEXT_KEYS = ("store_id", "event_id", "topic", "run_id", "message_id")
# Paths that carry a bearer token: unsubscribe (valid two years), double opt-in confirmation,
# open pixel, click, and a sign-in link to the settings UI. Whoever reads it can use it.
TOKEN_PATH = re.compile(r"^(/(?:u|confirm|o|c|app/login)/).+", re.DOTALL)


class ContextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        pairs = [f"{key}={getattr(record, key)}" for key in CONTEXT_KEYS if hasattr(record, key)]
        job_id = _current_job_id()
        if job_id:
            pairs.append(f"job_id={job_id}")
        return f"{line} {' '.join(pairs)}" if pairs else line


def _current_job_id() -> str | None:
    from rq import get_current_job

    job = get_current_job()
    return job.id if job else None


def redact_path(path: str) -> str:
    """A request path fit for a log: from a bearer token on, it is replaced by `[token]`."""
    return TOKEN_PATH.sub(r"\1[token]", path)


def configure(level: str = "INFO") -> None:
    """Send the application's logs to stdout; called by entry points, never at import."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(ContextFormatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
