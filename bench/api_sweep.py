"""Concurrency sweep of the API: throughput, latency and what every request got, step by step.

    python -m bench.api_sweep [--connections 1 8 32 128 512] [--seconds 20] [--workers 1 2]
                              [--postgis postgresql+psycopg://...] [--providers 3000]

For each backend (the embedded demo database, built if missing, and PostGIS
when ``--postgis`` is given; the demo is loaded into it when it holds no
providers) and each worker count, ``prm serve`` runs the API with the rate
limit out of the way and the shipped queue settings; then, step by step, a
load generator in a process of its own (:mod:`bench.loadgen`) holds that many
keep-alive connections for ``--seconds`` over keyed, audited endpoints
(a bootstrap key and a stored key, looked up in the database on every
request). Meanwhile this process asks ``/v1/health`` twice a second on a
connection of its own; 2 s after the step it asks ``/v1/health`` and a keyed
endpoint once more.

Per step it prints requests per second, p50/p95/p99 latency of answered
requests, counts of 200, 503, other 5xx, timeouts (no answer within
``--timeout``, 30 s) and connection errors, and health timings during and
after. Targets (issue 14): no timeout and no 500 from 1 to 128 connections
with health under 1 s; at 512 every connection gets an answer or a 503 within
30 s and health answers within 5 s.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import threading
import time

from bench.api_load import REPO, _ensure_database
from bench.loadgen import LoadResult, Request, run_load
from bench.server import serve_command

KEY = "bench-sweep-admin-key-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, key: str | None = None, timeout: float = 30) -> tuple[int, float]:
    start = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path, headers={"X-API-Key": key} if key else {})
        response = conn.getresponse()
        response.read()
        status = response.status
    except OSError:
        status = 0
    return status, (time.perf_counter() - start) * 1000


def _stored_key(database: str) -> str:
    from core.settings import load_settings
    from service.context import open_context
    from service.security.keys import create_key

    ctx = open_context(load_settings(database_url=database))
    try:
        return create_key(
            ctx, name="bench sweep", person="bench", role="viewer", days=1, created_by="bench"
        ).key
    finally:
        ctx.close()


def _requests(port: int, key: str, n: int) -> list[Request]:
    import json

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/v1/sites", headers={"X-API-Key": key})
    sites = json.loads(conn.getresponse().read())
    code = sites[0]["site_code"] if sites else "NONE"
    paths = [
        Request("/v1/sites"),
        Request("/v1/prospects", {"limit": 50}),
        Request("/v1/prospects", {"site": code, "min_score": 40, "limit": 50}),
        Request("/v1/providers", {"limit": 50}),
        Request("/v1/providers", {"q": "SMITH", "limit": 20}),
        Request(f"/v1/sites/{code}/catchments"),
    ]
    return [paths[i % len(paths)] for i in range(n)]


def _load(
    port: int,
    requests: list[Request],
    clients: int,
    headers: list[dict[str, str]],
    seconds: float,
    timeout: float,
) -> LoadResult:
    return run_load(
        "127.0.0.1",
        port,
        requests,
        clients=clients,
        headers=headers,
        seconds=seconds,
        timeout=timeout,
    )


def _step(port: int, clients: int, seconds: float, timeout: float, keys: list[str]) -> None:
    requests = _requests(port, keys[0], 2_000_000)
    health: list[tuple[int, float]] = []
    done = threading.Event()

    def probe() -> None:
        while not done.wait(0.5):
            health.append(_get(port, "/v1/health", timeout=30))

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    headers = [{"X-API-Key": k} for k in keys]
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # the generator has a core to itself
        result: LoadResult = pool.apply(_load, (port, requests, clients, headers, seconds, timeout))
    done.set()
    prober.join()
    time.sleep(2)
    after_health = _get(port, "/v1/health")
    after_keyed = _get(port, "/v1/sites", keys[0])
    s = result.statuses
    other_5xx = sum(v for k, v in s.items() if isinstance(k, int) and k >= 500 and k != 503)
    ok_health = [ms for status, ms in health if status == 200]
    bad_health = sum(1 for status, _ in health if status != 200)
    print(
        f"  {clients:>5} {result.throughput:>8.1f} {result.percentile(50):>8.1f} "
        f"{result.percentile(95):>8.1f} {result.percentile(99):>8.1f} {s.get(200, 0):>8} "
        f"{s.get(503, 0):>7} {other_5xx:>5} {s.get('timeout', 0):>8} "
        f"{s.get('connect error', 0) + s.get('connection lost', 0):>6} "
        f"{statistics.median(ok_health) if ok_health else float('nan'):>8.1f} "
        f"{max(ok_health, default=float('nan')):>8.1f} {bad_health:>4} "
        f"{after_health[0]}/{after_health[1]:.0f}ms {after_keyed[0]}",
        flush=True,
    )
    other = {
        k: v
        for k, v in s.items()
        if k not in (200, 503, "timeout", "connect error", "connection lost")
    }
    if other:
        print(f"        other outcomes: {dict(other)}; first failures: {result.failures[:2]}")


def _stop_under_load(
    server: subprocess.Popen, port: int, clients: int, timeout: float, keys: list[str]
) -> str:
    """SIGTERM while ``clients`` connections keep asking: seconds until the server exits."""
    requests = _requests(port, keys[0], 2_000_000)
    headers = [{"X-API-Key": k} for k in keys]
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pending = pool.apply_async(_load, (port, requests, clients, headers, 30.0, timeout))
        time.sleep(3)  # the load is under way
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            return "did not exit within 60 s (killed)"
        elapsed = time.monotonic() - started
        pending.get(timeout=120)
    return f"exited in {elapsed:.1f} s (code {server.returncode})"


def _serve(database: str, workers: int) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = os.environ | {
        "PRM_DATABASE_URL": database,
        "PRM_ADMIN_API_KEY": KEY,
        "PRM_VIEWER_API_KEY": KEY + "-viewer",
        "PRM_RATE_LIMIT_PER_SECOND": "1000000",
        "PRM_RATE_LIMIT_BURST": "1000000",
    }
    server = subprocess.Popen(serve_command(port, workers), cwd=REPO, env=env)
    deadline = time.monotonic() + 180
    while _get(port, "/health", timeout=2)[0] != 200:
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise SystemExit("server did not start")
        time.sleep(0.3)
    return server, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8, 32, 128, 512])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--database", default=f"sqlite:///{REPO / 'var' / 'demo' / 'demo.sqlite'}")
    parser.add_argument(
        "--postgis", default=None, help="also sweep this PostgreSQL + PostGIS database"
    )
    parser.add_argument("--providers", type=int, default=3000)
    args = parser.parse_args()

    databases = [args.database] + ([args.postgis] if args.postgis else [])
    for database in databases:
        _ensure_database(database, args.providers)
        stored = _stored_key(database)
        for workers in args.workers:
            server, port = _serve(database, workers)
            try:
                for _ in range(200):  # warm: the road graph, caches, pooled connections
                    _get(port, "/v1/sites", KEY)
                print(
                    f"\n{database.split('://')[0]}, {workers} worker(s), {args.seconds:g} s per step, "
                    f"request timeout {args.timeout:g} s; keys: bootstrap + stored"
                )
                print(
                    f"  {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
                    f"{'200':>8} {'503':>7} {'5xx':>5} {'timeouts':>8} {'conn':>6} "
                    f"{'health50':>8} {'healthmx':>8} {'hbad':>4} {'after (health, keyed)'}"
                )
                for clients in args.connections:
                    _step(port, clients, args.seconds, args.timeout, [KEY, stored])
                clients = max(args.connections)
                stopped = _stop_under_load(server, port, clients, args.timeout, [KEY, stored])
                print(f"  SIGTERM under {clients} connections: {stopped} (target: within 10 s)")
            finally:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()


if __name__ == "__main__":
    main()
