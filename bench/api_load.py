"""Loopback load test of the main read endpoints: throughput, p50/p95 latency, server memory.

    python -m bench.api_load [--seconds 60] [--requests 20000] [--concurrency 8] [--workers 1]
                             [--database sqlite:///var/demo/demo.sqlite] [--providers 3000]

Serves the API with uvicorn on 127.0.0.1 (a child process, ``--workers`` of
them), with the rate limit raised out of the way, against ``--database`` (the
``./dev demo`` database by default; built with ``--providers`` synthetic
providers when it does not exist yet). ``--concurrency`` client threads then
cycle through the endpoints below until ``--seconds`` have passed or
``--requests`` were sent, whichever comes first (both bounded). Every request
is a real authenticated, audited request.

Prints, per endpoint, requests, errors, requests per second and p50/p95
latency; overall throughput; and the server's resident memory sampled every
second (first, peak, last; last minute vs first minute), to show memory stays
flat over a long run (``--seconds 600``).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

from bench.server import serve_command

REPO = Path(__file__).resolve().parent.parent
KEY = "bench-admin-key-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _tree(pid: int) -> list[int]:
    """The server process and its children (uvicorn workers)."""
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for child in children:
            pids += _tree(int(child))
    except OSError:
        pass
    return pids


def _ensure_database(url: str, providers: int) -> None:
    """Build the demo into ``url`` when it is a missing SQLite file or a database with no providers."""
    from datetime import date

    from sqlalchemy import func, select

    from core.settings import load_settings
    from data.models import Provider
    from demo.build import build_demo
    from service.context import open_context

    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if path.exists():
            return
        files = path.parent / "files"
    else:
        files = REPO / "var" / "bench-demo-files"
    settings = load_settings().model_copy(update={"database_url": url, "as_of": date(2026, 11, 1)})
    ctx = open_context(settings)
    try:
        with ctx.sessions() as session:
            if session.scalar(select(func.count()).select_from(Provider)):
                return
        print(
            f"building a demo database of {providers:,} providers in {url.split('@')[-1]} ...",
            flush=True,
        )
        build_demo(ctx, files, providers=providers, seed=7, as_of=settings.as_of)
    finally:
        ctx.close()


def _endpoints(client: httpx.Client) -> list[tuple[str, str]]:
    sites = client.get("/v1/sites").json()
    code = sites[0]["site_code"] if sites else "NONE"
    first = client.get("/v1/providers", params={"limit": 20}).json()["items"]
    pid = first[len(first) // 2]["id"] if first else 1
    return [
        ("providers search", "/v1/providers?limit=50"),
        ("providers by name", "/v1/providers?q=SMITH&limit=20"),
        ("provider detail", f"/v1/providers/{pid}"),
        ("prospects page", "/v1/prospects?limit=50"),
        ("prospects of a site", f"/v1/prospects?site={code}&min_score=40&limit=50"),
        ("sites", "/v1/sites"),
        ("site catchments (GeoJSON)", f"/v1/sites/{code}/catchments"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database", default=f"sqlite:///{REPO / 'var' / 'demo' / 'demo.sqlite'}")
    parser.add_argument("--providers", type=int, default=3000)
    args = parser.parse_args()
    if not 0 < args.seconds <= 3600 or not 0 < args.requests <= 10_000_000:
        parser.error("--seconds must be in (0, 3600] and --requests in (0, 10,000,000]")

    _ensure_database(args.database, args.providers)
    port = _free_port()
    env = os.environ | {
        "PRM_DATABASE_URL": args.database,
        "PRM_ADMIN_API_KEY": KEY,
        "PRM_VIEWER_API_KEY": KEY + "-viewer",
        "PRM_RATE_LIMIT_PER_SECOND": "1000000",
        "PRM_RATE_LIMIT_BURST": "1000000",
    }
    server = subprocess.Popen(serve_command(port, args.workers, access_log=True), cwd=REPO, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.3)
        _run(args, base, server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _run(args: argparse.Namespace, base: str, server_pid: int) -> None:
    headers = {"X-API-Key": KEY}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as probe:
        endpoints = _endpoints(probe)
        for _, path in endpoints:  # warm caches (road graph for the map layers, SQLite pages)
            probe.get(path)
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    sent = [0]
    stop_at = time.monotonic() + args.seconds
    memory: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        t0 = time.monotonic()
        while not done.is_set():
            memory.append((time.monotonic() - t0, _rss_mb(_tree(server_pid))))
            done.wait(1.0)

    def worker(offset: int) -> None:
        i = offset
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            while time.monotonic() < stop_at:
                with lock:
                    if sent[0] >= args.requests:
                        return
                    sent[0] += 1
                name, path = endpoints[i % len(endpoints)]
                i += 1
                t = time.perf_counter()
                try:
                    ok = client.get(path).status_code == 200
                except httpx.HTTPError:
                    ok = False
                dt = time.perf_counter() - t
                with lock:
                    latencies[name].append(dt)
                    if not ok:
                        errors[name] += 1

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()

    print(
        f"prm API load test: {base}, {args.workers} worker(s), {args.concurrency} client threads, "
        f"{elapsed:.1f} s, database {args.database.split('://')[0]}"
    )
    print(
        f"  {'endpoint':<28} {'requests':>9} {'errors':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}"
    )
    total = 0
    for name, _ in endpoints:
        lat = sorted(latencies[name])
        if not lat:
            continue
        total += len(lat)
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
        print(
            f"  {name:<28} {len(lat):>9,} {errors[name]:>7} {len(lat) / elapsed:>8.1f} "
            f"{statistics.median(lat) * 1000:>8.1f} {p95 * 1000:>8.1f}"
        )
    print(f"  {'all':<28} {total:>9,} {sum(errors.values()):>7} {total / elapsed:>8.1f}")
    if memory:
        rss = [m for _, m in memory]
        first = [m for t, m in memory if t <= 60] or rss[:1]
        last = [m for t, m in memory if t >= memory[-1][0] - 60] or rss[-1:]
        print(
            f"  server RSS: first {rss[0]:.0f} MB, peak {max(rss):.0f} MB, last {rss[-1]:.0f} MB; "
            f"mean first minute {statistics.mean(first):.0f} MB, last minute {statistics.mean(last):.0f} MB"
        )


if __name__ == "__main__":
    main()
