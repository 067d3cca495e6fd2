"""Collect throughput next to webhook ingress, in one run, over real HTTP.

`python -m bench.collect [--requests N] [--clients C]`: starts embedded PostgreSQL and Redis in a
temporary home, serves the app with werkzeug's threaded server on 127.0.0.1, and has C client
threads post N requests each to POST /collect (one storefront event per request, as
storeflow.js sends them) and to POST /webhooks/shopify (a signed orders/create). It prints
requests/s, p50 and p99 per endpoint. Both paths end at the inbox + enqueue, so the figures
compare the cost of their checks (rate limits, CORS, schema) with a webhook's.
"""
from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import text
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from app.core import embedded, migrate, stores
from app.core.config import Config, normalize_database_url
from app.core.db import db
from app.demo.published import SAMPLES
from connectors.shopify.webhooks import sign

SHOP = "bench.myshopify.com"
SECRET = "bench-secret"
FIXTURES = SAMPLES / "shopify"


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args) -> None:  # one line per request would measure the terminal
        pass


def _app(home: Path):
    config = Config(
        database_url=normalize_database_url(embedded.start_postgres(home, "storeflow_bench")),
        redis_url=embedded.start_redis(home, persist=False), secret_key="bench",
        encryption_keys=(Fernet.generate_key().decode(),), base_url="http://127.0.0.1",
        port=0, home=home, collect_rate_limit_ip="1000000/minute",
        collect_rate_limit_store="1000000/minute",
    )
    flask_app = create_app(config)
    with db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate.upgrade()
    with db.session() as session:
        store, _ = stores.connect(session, "shopify", SHOP, access_token="x", webhook_secret=SECRET)
    return flask_app, store


def _collect_request(store) -> tuple[bytes, dict]:
    event = json.loads((FIXTURES / "pixel" / "product_viewed.json").read_text())
    event["id"] = str(uuid.uuid4())
    body = json.dumps({"store_id": store.id, "key": store.collect_key, "events": [event]})
    return body.encode(), {"Origin": f"https://{SHOP}", "Content-Type": "text/plain",
                           "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"}


def _webhook_request(order: bytes) -> tuple[bytes, dict]:
    return order, {"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": sign(SECRET, order),
                   "X-Shopify-Shop-Domain": SHOP, "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                   "Content-Type": "application/json"}


def _run(port: int, path: str, make, requests: int, clients: int) -> dict:
    latencies: list[float] = []
    failures = []

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(requests):
            body, headers = make()
            started = time.perf_counter()
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                failures.append(response.status)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {"path": path, "requests": len(latencies), "failures": len(failures),
            "requests_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(cuts[49] * 1000, 2), "p99_ms": round(cuts[98] * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per client")
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        flask_app, store = _app(Path(home))
        server = make_server("127.0.0.1", 0, flask_app, threaded=True, request_handler=_Quiet)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        order = (FIXTURES / "orders_create.json").read_bytes()
        try:
            port = server.server_address[1]
            for path, make in (("/collect", lambda: _collect_request(store)),
                               ("/webhooks/shopify", lambda: _webhook_request(order))):
                _run(port, path, make, 20, 1)  # warm-up
                print(json.dumps(_run(port, path, make, args.requests, args.clients)))
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    main()
