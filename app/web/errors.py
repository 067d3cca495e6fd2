"""Every error answered as a short JSON reason, never a stack trace or a stored value."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


def answer(error: Exception) -> tuple[dict, int] | None:
    """The JSON reason and status every surface gives for `error`; None for an error that is a
    bug (a 500)."""
    if isinstance(error, HTTPException):
        return {"error": error.description or error.name}, error.code
    if isinstance(error, OperationalError):
        # 503 so a platform retries later; nothing was acknowledged that was not stored.
        log.error("database unavailable: %s", type(error.orig).__name__)
        return {"error": "database unavailable, retry later"}, 503
    if isinstance(error, RedisError):
        log.error("redis unavailable: %s", type(error).__name__)
        return {"error": "queue unavailable, retry later"}, 503
    return None


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    @app.errorhandler(OperationalError)
    @app.errorhandler(RedisError)
    def refused(error: Exception):
        reason, status = answer(error)
        return jsonify(reason), status
