"""Every error answered as a short JSON reason, never a stack trace or a stored value."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return jsonify(error=error.description or error.name), error.code

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):
        # 503 so a platform retries later; nothing was acknowledged that was not stored.
        log.error("database unavailable: %s", type(error.orig).__name__)
        return jsonify(error="database unavailable, retry later"), 503

    @app.errorhandler(RedisError)
    def redis_unavailable(error: RedisError):
        log.error("redis unavailable: %s", type(error).__name__)
        return jsonify(error="queue unavailable, retry later"), 503
