"""Shared bench plumbing: services, a gunicorn server, a load generator, and the results file."""
from __future__ import annotations

import http.client
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
SHOP, SECRET = "bench-shop.myshopify.com", "bench-secret"


def services():
    """Embedded PostgreSQL and Redis in a fresh temporary home, migrated, with one Shopify store
    connected (SHOP, signing with SECRET); returns (config, store)."""
    import atexit
    import shutil
    import tempfile

    from cryptography.fernet import Fernet

    from app import bootstrap
    from app.core import migrate, stores
    from app.core.config import Config
    from app.core.db import db

    home = Path(tempfile.mkdtemp(prefix="storeflow-bench-"))
    # Registered first, so it runs last: after the embedded services have stopped. The audience
    # benchmark's database alone is ~3 GB.
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    config = bootstrap(Config(database_url=None, redis_url=None, secret_key="bench",
                              encryption_keys=(Fernet.generate_key().decode(),),
                              base_url="http://127.0.0.1", port=0, home=home))
    migrate.upgrade()
    with db.session() as session:
        store, _ = stores.connect(session, "shopify", SHOP, access_token="t", webhook_secret=SECRET)
    return config, store


def peak_rss_mb(pid: int) -> float:
    """A live process's peak resident set size (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def load_note() -> str:
    """The machine's load when a run starts: other engineers' tests share these cores."""
    one, five, _ = os.getloadavg()
    return f"Load average at start: {one:.2f} (1 min), {five:.2f} (5 min)."


def production_env(config) -> dict[str, str]:
    """The environment a production process gets, pointed at `config`'s services."""
    return {**os.environ, "DATABASE_URL": config.database_url, "REDIS_URL": config.redis_url,
            "SECRET_KEY": config.secret_key, "ENCRYPTION_KEY": ",".join(config.encryption_keys),
            "BASE_URL": config.base_url, "LOG_LEVEL": "WARNING"}


class Gunicorn:
    """gunicorn with the production config (app/gunicorn_conf.py) serving `target`."""

    def __init__(self, target: str, port: int, env: dict[str, str]):
        self.port = port
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:app.gunicorn_conf",
             "--access-logfile", "/dev/null", target],
            cwd=ROOT, env={**env, "PORT": str(port), "HOST": "127.0.0.1"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not start serving {target}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def load(port: int, make_request: Callable[[int], tuple[str, bytes, dict]], total: int,
         concurrency: int, rate: float | None = None) -> dict[str, float]:
    """Send `total` requests from `concurrency` keep-alive clients (optionally paced to `rate`
    per second overall); return throughput and latency percentiles in ms."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter()

    def client(worker: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for n in range(worker, total, concurrency):
            if rate:
                delay = start + n / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            path, body, headers = make_request(n)
            sent = time.perf_counter()
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            latencies.append((time.perf_counter() - sent) * 1000)
            statuses[response.status] = statuses.get(response.status, 0) + 1

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(client, range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "requests_per_s": total / elapsed,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
        "statuses": statuses,
    }


def record(title: str, lines: list[str]) -> None:
    """Append one run's figures, with machine and date, to bench/RESULTS.md and print them."""
    header = (f"\n## {title} — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
              f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}.\n\n")
    text = header + "\n".join(lines) + "\n"
    print(text)
    with RESULTS.open("a") as results:
        results.write(text)
