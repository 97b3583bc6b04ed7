"""The app's viewport endpoint under 50 concurrent connections, /health probed meanwhile.

    python -m bench.viewport [--providers 50000] [--clients 50] [--requests 1000]
                             [--timeout 10] [--baseline-tree /tmp/prm-main]

Serves a generated world (:mod:`bench.world`) with ``prm serve`` (one worker, as
documented for a 2-core machine's share) and sends ``--requests``
``GET /v1/prospects/viewport`` from ``--clients`` keep-alive connections
(:mod:`bench.loadgen`), each request answered within ``--timeout`` seconds or
counted as a timeout. The requests are what the app sends: the whole metro
(the first view, 2,000 rows, capped), zoomed-in views and filters (site, minimum
score, drive time), with ``Accept-Encoding: gzip`` as a browser sends. Meanwhile
a probe asks ``GET /health`` twice a second. Printed: p50/p95 of the viewport
answers, timeouts and statuses, and the probe's p50/max and failures.

``--baseline-tree`` serves another checkout (``git worktree add /tmp/prm-main main``)
first, on the same database and requests: the before and after in one run.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from bench.loadgen import Request, run_load
from bench.server import free_port, serving
from bench.world import world_url

KEY = "bench-viewer-key-0123456789abcdef"
ENV = {
    "PRM_VIEWER_API_KEY": KEY,
    "PRM_ADMIN_API_KEY": "bench-admin-key-0123456789abcdef",
    "PRM_RATE_LIMIT_PER_SECOND": "1000000",
    "PRM_RATE_LIMIT_BURST": "1000000",
}

#: The metro the world lies in (degrees): the app's first view.
METRO = (-83.25, 39.75, -82.75, 40.05)


def viewport_requests(n: int, *, seed: int = 3) -> list[Request]:
    """What the app sends: a third the first view, the rest zoomed in or filtered."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        params: dict[str, object] = {}
        west, south, east, north = METRO
        if i % 3:  # a zoomed-in view somewhere in the metro
            w = float(rng.uniform(0.03, 0.2))
            h = w / 1.5
            cx, cy = rng.uniform(west + w, east - w), rng.uniform(south + h, north - h)
            west, south, east, north = cx - w, cy - h, cx + w, cy + h
        if i % 4 == 1:
            params["min_score"] = int(rng.integers(10, 80))
        if i % 5 == 2:
            params["site"] = f"S{int(rng.integers(1, 5))}"
        if i % 7 == 3:
            params["max_drive_minutes"] = int(rng.integers(10, 40))
        params |= {"west": round(west, 5), "south": round(south, 5)}
        params |= {"east": round(east, 5), "north": round(north, 5)}
        out.append(Request("/v1/prospects/viewport", params))
    return out


def _probe(base: str, stop: threading.Event, out: list[tuple[float, int | str]]) -> None:
    """``GET /health`` every half second until ``stop``: latency (ms) and status."""
    with httpx.Client(base_url=base, timeout=10) as client:
        while not stop.is_set():
            t = time.perf_counter()
            try:
                status: int | str = client.get("/health").status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            out.append(((time.perf_counter() - t) * 1000, status))
            stop.wait(0.5)


def measure(label: str, base: str, args: argparse.Namespace) -> None:
    """One load run against ``base``, printed as one block."""
    port = int(base.rsplit(":", 1)[1])
    headers = {"X-API-Key": KEY, "Accept-Encoding": "gzip"}
    size = httpx.get(
        base + "/v1/prospects/viewport", headers=headers, timeout=60
    ).num_bytes_downloaded
    plain = len(
        httpx.get(base + "/v1/prospects/viewport", headers={"X-API-Key": KEY}, timeout=60).content
    )
    run_load("127.0.0.1", port, viewport_requests(60, seed=9), clients=2, headers=headers)  # warm
    probes: list[tuple[float, int | str]] = []
    stop = threading.Event()
    prober = threading.Thread(target=_probe, args=(base, stop, probes))
    prober.start()
    try:
        result = run_load(
            "127.0.0.1",
            port,
            viewport_requests(args.requests),
            clients=args.clients,
            headers=headers,
            timeout=args.timeout,
        )
    finally:
        stop.set()
        prober.join()
    ok = [ms for ms, status in probes if status == 200]
    bad = len(probes) - len(ok)
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result.statuses.items(), key=str))
    print(f"  [{label}] whole-metro answer {size / 1024:.0f} KB gzip ({plain / 1024:.0f} KB plain)")
    print(
        f"  [{label}] {args.clients} connections, {args.requests} viewport requests in "
        f"{result.seconds:.1f} s: p50 {result.percentile(50):.0f} ms  p95 "
        f"{result.percentile(95):.0f} ms  timeouts (> {args.timeout:g} s) "
        f"{result.statuses.get('timeout', 0)}  [{statuses}]"
    )
    print(
        f"  [{label}] /health meanwhile: {len(probes)} probes, {bad} failed, p50 "
        f"{statistics.median(ok) if ok else float('nan'):.0f} ms, max "
        f"{max(ok) if ok else float('nan'):.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--baseline-tree", type=Path, default=None)
    args = parser.parse_args()
    print(
        f"prm bench.viewport: {args.providers:,} providers, {args.clients} connections, "
        f"{args.requests} requests, timeout {args.timeout:g} s"
    )
    env = ENV | {"PRM_DATABASE_URL": world_url(args.providers)}
    runs = (
        [("before: " + str(args.baseline_tree), args.baseline_tree)] if args.baseline_tree else []
    )
    for label, tree in [*runs, ("this checkout", None)]:
        with serving(env, port=free_port(), tree=tree) as base:
            measure(label, base, args)


if __name__ == "__main__":
    main()
