"""GET /healthz: is the database up, is Redis up."""
from __future__ import annotations

from flask import Blueprint, jsonify
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.db import db
from app.jobs import broker

bp = Blueprint("health", __name__)


def _database_up() -> bool:
    try:
        with db.session() as session:
            session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False


def _redis_up() -> bool:
    try:
        return bool(broker.connection.ping())
    except RedisError:
        return False


@bp.get("/healthz")
def healthz():
    checks = {"database": _database_up(), "redis": _redis_up()}
    body = {name: "up" if ok else "down" for name, ok in checks.items()}
    return jsonify(body), 200 if all(checks.values()) else 503
