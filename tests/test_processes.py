"""The processes a new machine and a Heroku-style host run, started as real subprocesses."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.db import db
from app.models import Order, WebhookEvent
from tests.helpers import published
from tests.smtp import free_port

ROOT = Path(__file__).resolve().parents[1]


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("ctrl_c", [False, True], ids=["sigterm", "ctrl-c"])
def test_storeflow_dev_serves_on_embedded_services_and_stops_cleanly(tmp_path, ctrl_c):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ENCRYPTION_KEY", "BASE_URL")}
    env.update(STOREFLOW_HOME=str(tmp_path / "home"), PORT=str(port))
    dev = subprocess.Popen([sys.executable, "-m", "app.cli", "dev"], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(dev.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        # The sign-in link comes once everything is up, below every process's start-up lines.
        while not any("See it in the UI" in line for line in lines):
            assert dev.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.3)
        started = [n for n, line in enumerate(lines) if "Listening on" in line]
        link = next(n for n, line in enumerate(lines) if "See it in the UI" in line)
        assert started and max(started) < link, "".join(lines)
        health = get_json(f"http://127.0.0.1:{port}/healthz")
        assert health[0] == 200
        assert (health[1]["database"], health[1]["redis"]) == ("up", "up")
        # An embedded page's URL carries a live session token: the access log leaves it out.
        get_json(f"http://127.0.0.1:{port}/healthz?id_token=live-session-token")
    finally:
        if ctrl_c:  # a terminal's Ctrl-C signals every process of the group at once
            os.killpg(dev.pid, signal.SIGINT)
        else:
            dev.send_signal(signal.SIGTERM)
        dev.wait(timeout=60)
        reader.join(10)
    output = "".join(lines)
    assert f"Storeflow is running at http://localhost:{port}" in output
    # A fresh database gets the demo shop first, says where its mail went and how to see it.
    assert "Demo shop" in output and str(tmp_path / "home" / "dev-inbox") in output
    assert f"See it in the UI: http://localhost:{port}/app/login/" in output
    assert dev.returncode == 0, output
    assert '"GET /healthz" 200' in output and "live-session-token" not in output
    # Redis outlives the processes that use it: they stop without an error.
    assert "Traceback" not in output and "ERROR" not in output, output
    # The embedded services stopped with the process that started them.
    assert not (tmp_path / "home" / "postgres" / "postmaster.pid").exists()
    assert not (tmp_path / "home" / "redis.sock").exists()


def test_a_worker_process_ingests_what_the_web_stored(shop, webhooks, cli_env):
    webhooks.deliver("orders/create", published("shopify/orders_create.json"))

    worker = subprocess.run([sys.executable, "-m", "app.cli", "worker", "--burst"], cwd=ROOT,
                            env={**os.environ, **cli_env}, capture_output=True, text=True,
                            timeout=120)

    assert worker.returncode == 0, worker.stdout + worker.stderr
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(Order)).scalar_one() == 1
        assert session.execute(select(WebhookEvent.processed_at)).scalar_one() is not None
    # One line per event, naming the store and the job, and no customer's address.
    [ingested] = [line for line in worker.stdout.splitlines() if "ingested" in line]
    assert f"store_id={shop.id}" in ingested and "job_id=ingest-" in ingested
    assert "example.com" not in worker.stdout + worker.stderr


def test_the_web_app_starts_without_scipy():
    # SciPy with NumPy is ~85 MB resident in each web worker; only a report's lift needs it.
    code = "import sys; from app import create_app; create_app(); print('scipy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "SECRET_KEY": "test"})
    assert result.stdout.strip() == "False", result.stderr
