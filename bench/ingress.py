"""Webhook ingress: signed Shopify deliveries per second and latency through gunicorn, against a
bare Flask endpoint on the same server config in the same run.

Targets (issue 9): at least half the bare endpoint's throughput; p99 under 100 ms at 100/s.
"""
from __future__ import annotations

import json
import uuid

from app.demo.published import SAMPLES
from bench.harness import SECRET, SHOP, Gunicorn, load, production_env, record, services
from connectors.shopify.webhooks import sign
from tests.smtp import free_port

BODY = (SAMPLES / "shopify/orders_create.json").read_bytes()
TOTAL, CONCURRENCY = 3000, 8


def signed(n: int) -> tuple[str, bytes, dict]:
    body = json.dumps({**json.loads(BODY), "id": 10_000_000 + n}).encode()
    return "/webhooks/shopify", body, {
        "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": SHOP, "X-Shopify-Hmac-Sha256": sign(SECRET, body),
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
    }


def measure(target: str, env: dict, rate: float | None = None, total: int = TOTAL) -> dict:
    server = Gunicorn(target, free_port(), env)
    try:
        load(server.port, signed, 200, CONCURRENCY)  # warm up
        return load(server.port, signed, total, CONCURRENCY, rate)
    finally:
        server.stop()


def main() -> None:
    env = production_env(services()[0])
    bare = measure("bench.bare_app:app", env)
    storeflow = measure("app:create_app()", env)
    paced = measure("app:create_app()", env, rate=100, total=1000)
    ratio = storeflow["requests_per_s"] / bare["requests_per_s"]
    record("Webhook ingress (bench/ingress.py)", [
        f"{TOTAL} signed `orders/create` deliveries (Shopify's published sample, unique ids), "
        f"{CONCURRENCY} keep-alive clients, gunicorn with app/gunicorn_conf.py "
        "(2 workers x 4 threads); each Storeflow request verifies the HMAC, stores the inbox "
        "row in PostgreSQL and enqueues the ingest job in Redis.",
        "",
        "| endpoint | requests/s | p50 ms | p99 ms | answers |",
        "|---|---|---|---|---|",
        f"| bare Flask (baseline) | {bare['requests_per_s']:.0f} | {bare['p50_ms']:.1f} | {bare['p99_ms']:.1f} | {bare['statuses']} |",
        f"| Storeflow `/webhooks/shopify` | {storeflow['requests_per_s']:.0f} | {storeflow['p50_ms']:.1f} | {storeflow['p99_ms']:.1f} | {storeflow['statuses']} |",
        f"| Storeflow paced at 100/s | {paced['requests_per_s']:.0f} | {paced['p50_ms']:.1f} | {paced['p99_ms']:.1f} | {paced['statuses']} |",
        "",
        f"Throughput ratio Storeflow / bare: **{ratio:.2f}** (target ≥ 0.5). "
        f"p99 at 100/s: **{paced['p99_ms']:.1f} ms** (target < 100 ms).",
    ])


if __name__ == "__main__":
    main()
