"""Webhook ingress: signed Shopify deliveries per second and latency through gunicorn, against a
bare Flask endpoint on the same server config in the same run.

The load comes from wrk (Debian's package) when it is installed, so the client takes less of the
cores the server shares: one signed body, a new X-Shopify-Webhook-Id per request (the delivery's
key; Shopify signs the body only). Without wrk, Python keep-alive clients send the same.

Both servers stay up and are measured alternately for a few rounds; the report lists every round
with the load average at its start, and the median of the rounds' ratios. Beside each run, the
CPU each process took per request (user + system from /proc, by process kind: the gunicorn
workers, the PostgreSQL backends, its WAL writer and other processes, Redis, wrk, and the rest of
the machine): figures the other work on these shared cores moves far less than req/s.
`python -m bench.ingress [--rounds N] [--seconds S]`.

Targets (issue 9): at least half the bare endpoint's throughput; p99 under 100 ms at 100/s.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import uuid
from collections import Counter
from pathlib import Path

from app import gunicorn_conf
from app.demo.published import SAMPLES
from bench.harness import SECRET, SHOP, Gunicorn, load, load_note, production_env, record, services
from connectors.shopify.webhooks import sign
from tests.smtp import free_port

BODY = (SAMPLES / "shopify/orders_create.json").read_bytes()
TOTAL, CONCURRENCY = 3000, 8
WRK_THREADS = 2
# Bare and Storeflow measured alternately, this many rounds of this many seconds each: on two
# cores shared with other work, bare Flask alone moved 1,691-2,456 req/s from one run to the
# next, so one pair of numbers could put the ratio anywhere in 0.40-0.58.
ROUNDS, ROUND_SECONDS = 3, 10
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


def wrk(port: int, seconds: int, run: str) -> dict:
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


# Per request, the CPU of each kind of process (the rest of the machine, other helpers' work
# included, last); PostgreSQL's own helper processes by their titles.
KINDS = ("gunicorn workers", "postgres backends", "postgres walwriter", "postgres other", "redis",
         "wrk", "rest of the machine")
POSTGRES_HELPERS = ("checkpointer", "background writer", "autovacuum", "logical replication",
                    "archiver", "stats", "io worker")
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_ticks(server: int, config) -> Counter:
    """CPU ticks (user + system) used so far, by kind of process: `server`'s gunicorn,
    `config`'s PostgreSQL and Redis, our wrk (a child this process reaped), and the machine in all
    ("machine"). A process counts its reaped children, so a worker replaced meanwhile
    (max_requests), or a PostgreSQL backend closed, still counts."""
    processes = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after the command's name: state, ppid...
        own, reaped = sum(map(int, fields[11:13])), sum(map(int, fields[13:15]))
        processes[int(entry.name)] = (int(fields[1]), own, reaped, command)
    postmasters = {pid for pid, (*_, command) in processes.items()
                   if f"-D {config.home / 'postgres'} " in command}
    redis_socket = config.redis_url.removeprefix("unix://")
    ticks = Counter()
    for pid, (parent, own, reaped, command) in processes.items():
        kind = _kind(pid, parent, command, server, postmasters, redis_socket)
        if kind:
            ticks[kind] += own
            # PostgreSQL's closed children were backends (its helpers live as long as it).
            ticks["postgres backends" if pid in postmasters else kind] += reaped
    ours = os.times()
    ticks["wrk"] = round((ours.children_user + ours.children_system) * TICKS_PER_S)
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _wait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    ticks["machine"] = user + nice + system + irq + softirq + steal
    return ticks


def _kind(pid: int, parent: int, command: str, server: int, postmasters: set[int],
          redis_socket: str) -> str | None:
    if server in (pid, parent):
        return "gunicorn workers"
    if pid in postmasters:
        return "postgres other"
    if parent in postmasters:
        title = command.removeprefix("postgres: ")
        if title.startswith("walwriter"):
            return "postgres walwriter"
        return "postgres other" if title.startswith(POSTGRES_HELPERS) else "postgres backends"
    if redis_socket in command:
        return "redis"
    return None


def cpu_per_request(before: Counter, after: Counter, requests: int) -> dict[str, float]:
    """Milliseconds of CPU per request by kind, between two `cpu_ticks`."""
    spent = {kind: after[kind] - before[kind] for kind in (*KINDS[:-1], "machine")}
    spent["rest of the machine"] = spent.pop("machine") - sum(spent.values())
    return {kind: ticks * 1000 / TICKS_PER_S / requests for kind, ticks in spent.items()}


def run(server: Gunicorn, config, seconds: int, name: str) -> dict:
    """One measured stretch of load on a running server: wrk for `seconds`, else TOTAL
    deliveries from the Python clients; with the CPU each kind of process took per request."""
    before = cpu_ticks(server.process.pid, config)
    if shutil.which("wrk"):
        measured = wrk(server.port, seconds, run=name)
    else:
        measured = load(server.port, signed, TOTAL, CONCURRENCY)
    requests = sum(measured["statuses"].values())
    measured["cpu_ms"] = cpu_per_request(before, cpu_ticks(server.process.pid, config), requests)
    return measured


def rounds(servers: dict[str, Gunicorn], config, count: int, seconds: int) -> list[dict]:
    """`count` rounds, each bare and Storeflow back to back, their order swapped every round, so
    a drift in the other load on the cores falls on both alike; each round notes the load."""
    measured = []
    for n in range(count):
        order = ("bare", "storeflow") if n % 2 == 0 else ("storeflow", "bare")
        row = {"round": n + 1, "load": os.getloadavg()[0]}
        for target in order:
            row[target] = run(servers[target], config, seconds, f"{target}-{n}")
        row["ratio"] = row["storeflow"]["requests_per_s"] / row["bare"]["requests_per_s"]
        measured.append(row)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--seconds", type=int, default=ROUND_SECONDS,
                        help="each endpoint's load per round (wrk)")
    args = parser.parse_args()
    started = load_note()  # before our own servers add to it
    config = services()[0]
    env = production_env(config)
    with contextlib.ExitStack() as stack:
        servers = {}
        for target, app in (("bare", "bench.bare_app:app"), ("storeflow", "app:create_app()")):
            server = servers[target] = Gunicorn(app, free_port(), env)
            stack.callback(server.stop)
            load(server.port, signed, 200, CONCURRENCY)  # pools, caches, the first WAL segments
            if shutil.which("wrk"):
                wrk(server.port, WRK_WARM_SECONDS, run=f"warm-{target}")
        measured = rounds(servers, config, args.rounds, args.seconds)
        paced = load(servers["storeflow"].port, signed, 1000, CONCURRENCY, rate=100)
    record("Webhook ingress (bench/ingress.py)", report(started, measured, paced, args.seconds))


def report(started: str, measured: list[dict], paced: dict, seconds: int) -> list[str]:
    ratio = statistics.median(row["ratio"] for row in measured)
    client = (f"wrk, {WRK_THREADS} threads, {seconds} s per endpoint per round after "
              f"{WRK_WARM_SECONDS} s of warm-up each" if shutil.which("wrk")
              else f"{TOTAL} deliveries per endpoint per round from Python keep-alive clients")
    server = (f"{gunicorn_conf.workers} workers x {gunicorn_conf.threads} threads, "
              f"{'preloaded' if gunicorn_conf.preload_app else 'not preloaded'}, workers replaced "
              f"after {gunicorn_conf.max_requests} requests")
    lines = [
        started, "",
        f"Signed `orders/create` deliveries (Shopify's published sample, unique delivery ids), "
        f"{client}, {CONCURRENCY} connections; bare and Storeflow each on gunicorn with "
        f"app/gunicorn_conf.py ({server}), both servers up throughout and measured alternately, "
        "their order swapped every round; each Storeflow request verifies the HMAC, stores the "
        "inbox row in PostgreSQL (a durable commit) and signals its store's drain job in Redis "
        "(one SET NX; the delivery that finds no drain queued queues one).",
        "",
        "| round | load (1 min) | bare req/s | bare p99 ms | Storeflow req/s | Storeflow p50 ms "
        "| Storeflow p99 ms | ratio | answers (bare; Storeflow) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in measured:
        bare, ours = row["bare"], row["storeflow"]
        lines.append(
            f"| {row['round']} | {row['load']:.2f} | {bare['requests_per_s']:.0f} | "
            f"{bare['p99_ms']:.1f} | {ours['requests_per_s']:.0f} | {ours['p50_ms']:.1f} | "
            f"{ours['p99_ms']:.1f} | {row['ratio']:.2f} | {bare['statuses']}; {ours['statuses']} |")
    lines += [
        f"| paced at 100/s | | | | {paced['requests_per_s']:.0f} | {paced['p50_ms']:.1f} | "
        f"{paced['p99_ms']:.1f} | | {paced['statuses']} |",
        "",
        f"Throughput ratio Storeflow / bare, median of {len(measured)} rounds: **{ratio:.2f}** "
        f"(rounds {', '.join(format(row['ratio'], '.2f') for row in measured)}; target ≥ 0.5). "
        f"p99 at 100/s: **{paced['p99_ms']:.1f} ms** (target < 100 ms). Load average at the end: "
        f"{os.getloadavg()[0]:.2f} (1 min).",
        "",
        "CPU per request by kind of process, ms (user + system from /proc over each measured "
        "run; each round's figure, then their median):",
        "",
        "| process | bare | Storeflow |",
        "|---|---|---|",
    ]
    for kind in (*KINDS, "total"):
        lines.append(f"| {kind} | " + " | ".join(_cpu_cell(measured, target, kind)
                                                 for target in ("bare", "storeflow")) + " |")
    return lines


def _cpu_cell(measured: list[dict], target: str, kind: str) -> str:
    figures = [sum(row[target]["cpu_ms"].values()) if kind == "total"
               else row[target]["cpu_ms"][kind] for row in measured]
    rounds_ = ", ".join(f"{figure:.3f}" for figure in figures)
    return f"{rounds_}: **{statistics.median(figures):.3f}**"


if __name__ == "__main__":
    main()
