"""Webhook ingress: signed Shopify deliveries per second and latency through gunicorn, against a
bare Flask endpoint on the same server config in the same run.

The load comes from wrk (Debian's package) when it is installed, so the client takes less of the
cores the server shares: one signed body, a new X-Shopify-Webhook-Id per request (the delivery's
key; Shopify signs the body only). Without wrk, Python keep-alive clients send the same.

Targets (issue 9): at least half the bare endpoint's throughput; p99 under 100 ms at 100/s.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import uuid

from app import gunicorn_conf
from app.demo.published import SAMPLES
from bench.harness import SECRET, SHOP, Gunicorn, load, load_note, production_env, record, services
from connectors.shopify.webhooks import sign
from tests.smtp import free_port

BODY = (SAMPLES / "shopify/orders_create.json").read_bytes()
TOTAL, CONCURRENCY = 3000, 8
WRK_SECONDS, WRK_THREADS = 15, 2
# Before each measured run, the same load for this long: a new database creates its WAL segments
# and a new worker its connections and caches during the first seconds; both endpoints get it.
WRK_WARM_SECONDS = 5
# Each wrk thread numbers its requests; the thread's id keeps two threads' ids apart.
WRK_SCRIPT = """
local n, thread_id = 0, 0
local counter = 0
function setup(thread) counter = counter + 1; thread:set("thread_id", counter) end
function init(args) thread_id = tonumber(wrk.thread:get("thread_id")) or 0 end
function request()
  n = n + 1
  wrk.headers["X-Shopify-Webhook-Id"] = string.format("wrk-%s-%d-%d", run, thread_id, n)
  return wrk.format()
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %f %f %f %d\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, summary.errors.status))
end
"""


def signed(n: int) -> tuple[str, bytes, dict]:
    body = json.dumps({**json.loads(BODY), "id": 10_000_000 + n}).encode()
    return "/webhooks/shopify", body, {
        "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": SHOP, "X-Shopify-Hmac-Sha256": sign(SECRET, body),
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
    }


def wrk(port: int, seconds: int = WRK_SECONDS, run: str = "measured") -> dict:
    """wrk for `seconds` from CONCURRENCY connections on WRK_THREADS threads, one signed body;
    `run` keeps this run's delivery ids apart from another's (a repeated id is a duplicate)."""
    path, body, headers = signed(0)
    with tempfile.TemporaryDirectory() as folder:
        script = f"{folder}/ingress.lua"
        with open(script, "w") as lua:
            lua.write(f"wrk.method = 'POST'\nwrk.body = {_lua_string(body)}\n"
                      f"run = {_lua_string(run.encode())}\n")
            for name, value in headers.items():
                if name != "X-Shopify-Webhook-Id":
                    lua.write(f"wrk.headers[{_lua_string(name.encode())}] = "
                              f"{_lua_string(value.encode())}\n")
            lua.write(WRK_SCRIPT)
        output = subprocess.run(
            ["wrk", f"-t{WRK_THREADS}", f"-c{CONCURRENCY}", f"-d{seconds}s", "-s", script,
             f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    requests, seconds, p50, p99, bad = re.search(r"RESULT (\S+) (\S+) (\S+) (\S+) (\S+)", output).groups()
    return {"requests_per_s": int(requests) / float(seconds), "p50_ms": float(p50),
            "p99_ms": float(p99), "statuses": {"non-2xx": int(bad)} if int(bad) else {200: int(requests)}}


def _lua_string(value: bytes) -> str:
    return '"' + "".join(f"\\{byte}" for byte in value) + '"'


def measure(target: str, env: dict, rate: float | None = None, total: int = TOTAL) -> dict:
    server = Gunicorn(target, free_port(), env)
    try:
        load(server.port, signed, 200, CONCURRENCY)  # warm up
        if rate is None and shutil.which("wrk"):
            wrk(server.port, WRK_WARM_SECONDS, run="warm")
            return wrk(server.port)
        return load(server.port, signed, total, CONCURRENCY, rate)
    finally:
        server.stop()


def main() -> None:
    started = load_note()  # before our own servers add to it
    env = production_env(services()[0])
    bare = measure("bench.bare_app:app", env)
    storeflow = measure("app:create_app()", env)
    paced = measure("app:create_app()", env, rate=100, total=1000)
    ratio = storeflow["requests_per_s"] / bare["requests_per_s"]
    client = (f"wrk, {WRK_SECONDS} s after {WRK_WARM_SECONDS} s of warm-up, {WRK_THREADS} threads"
              if shutil.which("wrk") else f"{TOTAL} deliveries from Python keep-alive clients")
    server = (f"{gunicorn_conf.workers} workers x {gunicorn_conf.threads} threads, "
              f"{'preloaded' if gunicorn_conf.preload_app else 'not preloaded'}, workers replaced "
              f"after {gunicorn_conf.max_requests} requests")
    record("Webhook ingress (bench/ingress.py)", [
        started, "",
        f"Signed `orders/create` deliveries (Shopify's published sample, unique delivery ids), "
        f"{client}, {CONCURRENCY} connections; bare and Storeflow each on gunicorn with "
        f"app/gunicorn_conf.py ({server}); each Storeflow request verifies the HMAC, stores the "
        "inbox row in PostgreSQL and signals its store's drain job in Redis (one SET NX; the "
        "delivery that finds no drain queued queues one).",
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
