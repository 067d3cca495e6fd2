"""GET /healthz: the database and Redis, and whether a worker and the scheduler are alive."""
from __future__ import annotations

from flask import Blueprint, jsonify
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.core.db import db
from app.jobs import broker, heartbeat

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
    if checks["redis"]:
        body["worker"] = heartbeat.worker_state(broker.connection)
        body["scheduler"] = heartbeat.scheduler_state(broker.connection)
    background = (body.get("worker"), body.get("scheduler"))
    body["status"] = ("down" if not all(checks.values())
                      else "ok" if background == ("up", "up") else "degraded")
    # 503 only when this web process cannot do its own job. A stopped worker or scheduler is
    # reported (degraded) but answered 200: webhooks still land safely in the inbox and are
    # processed when they return, whereas a 503 would make a platform's health check or load
    # balancer take the web out of service and turn away the very deliveries we must keep.
    return jsonify(body), 200 if all(checks.values()) else 503
