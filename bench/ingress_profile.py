"""Where one signed Shopify delivery spends its time: cProfile over deliveries through the Flask
test client (no HTTP server, no load generator) against embedded PostgreSQL and Redis, and the
round trips each delivery makes to them.

`python -m bench.ingress_profile [--deliveries N]` prints the profile's top and appends it to
bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

from app import create_app
from bench.harness import load_note, record, services
from bench.ingress import signed

TOP = 25


def profile(deliveries: int) -> tuple[str, dict[str, float]]:
    """The profile's top by own time, round trips per delivery to PostgreSQL and Redis, and
    this process's CPU per delivery without the profiler."""
    config, _ = services()
    client = create_app(config).test_client()
    # Signed beforehand: building and signing a body is the platform's work, not ours.
    requests = [signed(n) for n in range(50 + 2 * deliveries)]
    for request in requests[:50]:  # warm: pools, imports, caches
        _post(client, request)
    started = time.process_time()
    for request in requests[50:50 + deliveries]:
        _post(client, request)
    cpu_ms = (time.process_time() - started) * 1000 / deliveries
    profiler = cProfile.Profile()
    profiler.enable()
    for request in requests[50 + deliveries:]:
        _post(client, request)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=(out := io.StringIO()))
    stats.sort_stats("tottime").print_stats(TOP)
    calls = {f"{file}:{name}": count for (file, _, name), (_, count, *_) in stats.stats.items()}
    figures = {
        # Each statement is one exchange with PostgreSQL (the pool's ping too), and a transaction
        # adds two, BEGIN and COMMIT; redis-py sends once per command or transaction.
        "postgresql": (_calls(calls, "psycopg/cursor.py:execute")
                       + 2 * _calls(calls, "psycopg/connection.py:commit")) / deliveries,
        "redis": _calls(calls, "redis/connection.py:send_packed_command") / deliveries,
        "cpu_ms": cpu_ms,
    }
    return out.getvalue(), figures


def _calls(calls: dict[str, int], function: str) -> int:
    return sum(n for key, n in calls.items() if key.endswith(function))


def _post(client, request: tuple[str, bytes, dict]) -> None:
    path, body, headers = request
    response = client.post(path, data=body, headers=headers)
    assert response.status_code == 200, response.data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    deliveries = parser.parse_args().deliveries
    top, figures = profile(deliveries)
    lines = top.strip().splitlines()
    record("Webhook ingress profile (bench/ingress_profile.py)", [
        load_note(), "",
        f"{deliveries} signed `orders/create` deliveries through the Flask test client, cProfile, "
        f"top {TOP} by own time. Round trips per delivery: PostgreSQL "
        f"{figures['postgresql']:.1f}, Redis {figures['redis']:.1f}. CPU of this process per "
        f"delivery, one at a time without the profiler (the test client's share included): "
        f"{figures['cpu_ms']:.2f} ms.", "",
        "```", *lines, "```",
    ])


if __name__ == "__main__":
    main()
