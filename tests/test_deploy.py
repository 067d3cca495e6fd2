"""The deploy descriptions (app.json for the Heroku button, the Procfile) and the health
endpoint's view of the worker and scheduler."""
from __future__ import annotations

import json
import time
from pathlib import Path

from rq import Worker, cron_scheduler_registry

from app.jobs import broker
from app.jobs.heartbeat import SCHEDULER_NAME

ROOT = Path(__file__).resolve().parent.parent


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_procfile_releases_migrations_and_runs_the_three_processes():
    assert procfile() == {"release": "storeflow db upgrade", "web": "storeflow web",
                          "worker": "storeflow worker", "scheduler": "storeflow scheduler"}


def test_app_json_describes_a_complete_heroku_deploy():
    app = json.loads((ROOT / "app.json").read_text())

    assert {addon["plan"].split(":")[0] for addon in app["addons"]} == {
        "heroku-postgresql", "heroku-redis"}
    # The button creates exactly the Procfile's long-running processes, one scheduler.
    assert set(app["formation"]) == set(procfile()) - {"release"}
    assert app["formation"]["scheduler"]["quantity"] == 1
    env = app["env"]
    assert env["SECRET_KEY"]["generator"] == "secret"
    for name in ("ENCRYPTION_KEY", "BASE_URL"):
        assert env[name]["required"] is True and env[name]["description"]
    assert "Fernet.generate_key()" in env["ENCRYPTION_KEY"]["description"]
    # DATABASE_URL and REDIS_URL come from the add-ons; Heroku Redis's certificate is self-signed.
    assert "DATABASE_URL" not in env and "REDIS_URL" not in env
    assert env["REDIS_TLS_VERIFY"]["value"] == "0"
    assert all(spec.get("description") for spec in env.values())
    assert (ROOT / ".python-version").read_text().strip() == "3.11"
    assert "-e .[sentry]" in (ROOT / "requirements.txt").read_text().splitlines()


def test_healthz_reports_a_missing_worker_and_scheduler_as_degraded_not_down(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"database": "up", "redis": "up", "worker": "missing",
                                   "scheduler": "missing", "status": "degraded"}


def test_healthz_is_ok_while_the_worker_and_scheduler_heartbeat(client):
    # What a running `storeflow scheduler` and `storeflow worker` keep in RQ's registries.
    key = cron_scheduler_registry.get_registry_key()
    broker.connection.zadd(key, {SCHEDULER_NAME: time.time()})
    worker = Worker([broker.queue("ingest")], connection=broker.connection)
    worker.register_birth()
    worker.heartbeat()
    try:
        assert client.get("/healthz").get_json()["status"] == "ok"
        broker.connection.zadd(key, {SCHEDULER_NAME: time.time() - 600})
        assert client.get("/healthz").get_json()["scheduler"] == "stale"
    finally:
        worker.register_death()
