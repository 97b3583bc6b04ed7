"""Prospect scoring and the prospect-list endpoint at 1,000,000 providers.

    python -m bench.prospecting [--providers 1000000] [--requests 800] [--postgis URL]

1. Scoring: ``prospects.scoring.score_prospects`` (with explanations) over
   ``--providers`` generated candidates; baseline in the same run: the bare
   numpy weighted sum of the same component values (no fit lookup, no
   explanation), the floor any implementation pays. Target < 30 s.
2. Prospect list over HTTP: a fresh database (SQLite file, and PostGIS when
   ``--postgis`` is given) filled with bulk inserts (``data.bulk``:
   executemany / COPY) with ``--providers`` providers and one prospect each,
   served by ``prm serve`` on loopback (``--workers``: 1, 2 and 4 worker
   processes by default, each on a socket of its own; one load run each) and
   warmed with 1,000 requests (each worker's connections, page caches,
   statement templates and, on PostgreSQL, prepared plans); 8 keep-alive clients (``bench.loadgen``,
   asyncio, tens of microseconds per request) send ``--requests``
   ``GET /v1/prospects`` with filters varied per request (site, min score,
   segment, specialty, drive time, sort) and a page of 50, ``Cache-Control:
   no-cache``. Baselines in the same run, under the same load: ``GET /health``
   (no key) and ``GET /v1/sites`` (keyed and audited like the list: the cost of
   the stack around a trivial query).
   Target p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.server import serve_command

CODES = np.array(
    [
        "207Q00000X",
        "207X00000X",
        "2084N0400X",
        "207R00000X",
        "2085R0202X",
        "363LF0000X",
        "208D00000X",
        "111N00000X",
    ]
)
CLASSES = np.array(
    [
        "Family Medicine",
        "Orthopaedic Surgery",
        "Psychiatry & Neurology",
        "Internal Medicine",
        "Radiology",
        "Nurse Practitioner",
        "General Practice",
        "Chiropractor",
    ]
)
SITES = ["S1", "S2", "S3", "S4"]


def candidates(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    k = rng.integers(0, len(CODES), n)
    return pd.DataFrame(
        {
            "provider_id": np.arange(1, n + 1),
            "taxonomy_code": CODES[k],
            "classification": CLASSES[k],
            "entity_type": np.where(rng.random(n) < 0.1, "2", "1"),
            "drive_minutes": np.where(rng.random(n) < 0.1, np.nan, rng.uniform(1, 45, n)),
            "distance_km": rng.uniform(0.2, 40, n),
            "practice_size": rng.integers(1, 30, n),
            "org_referring": rng.random(n) < 0.2,
            "days_since_contact": np.where(rng.random(n) < 0.7, np.nan, rng.uniform(0, 400, n)),
        }
    )


def bench_scoring(n: int) -> None:
    from prospects.profiles import load_profile
    from prospects.scoring import score_prospects

    profile = load_profile("imaging_mri")
    cand = candidates(n)
    t = time.perf_counter()
    scored = score_prospects(cand, profile, explain=True)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    fit = np.asarray(scored["specialty_fit"], float)
    prox = np.exp(-np.log(2) * np.nan_to_num(cand["drive_minutes"].to_numpy(), nan=30.0) / 15.0)
    pot = 0.5 * (cand["practice_size"].to_numpy() - 1) / (cand["practice_size"].to_numpy() + 3)
    _ = 100 * (0.45 * fit + 0.3 * prox + 0.15 * pot + 0.1)
    base = time.perf_counter() - t
    print(
        f"  score {n:,} candidates (with explanations) {ours:8.2f} s  target < 30 s "
        f"({'ok' if ours < 30 else 'SLOWER THAN TARGET'})"
    )
    print(
        f"    baseline: bare numpy weighted sum      {base:8.3f} s  ours/baseline = {ours / base:.0f}x"
    )


def fill(url: str, n: int, *, scatter_km: float = 0.0) -> None:
    """A migrated database with ``n`` providers, 4 sites and ``n`` prospects (bulk inserts).

    Every provider sits at one point (39.9, -83.0), unless ``scatter_km`` > 0: then
    providers are spread around it (normal, that standard deviation in km, rounded to
    1e-5 degree as geocoded addresses are) and the sites 10 km apart, as a map needs.
    """
    from core.settings import Settings
    from data.bulk import bulk_insert
    from data.models import ClinicSite, Prospect, Provider
    from geo.h3grid import latlng_to_cells
    from service.context import open_context
    from service.prospecting.prospect_writes import PROSPECT_VALUES

    ctx = open_context(Settings(database_url=url))
    rng = np.random.default_rng(2)
    cand = candidates(n)
    comps = json.dumps(
        [
            {"name": "specialty", "value": 0.7, "weight": 0.45, "points": 31.5, "reason": "fit"},
            {"name": "proximity", "value": 0.5, "weight": 0.3, "points": 15.0, "reason": "10 min"},
        ]
    )
    segments = np.array(
        ["high-potential GP nearby", "distant specialist", "moderate-fit nearby", "low-fit distant"]
    )
    step = 100_000
    deg = scatter_km / 111.0  # km to degrees of latitude (longitude: times 1/cos 40 deg)
    lats = np.round(39.9 + rng.normal(0, deg, n), 5) if deg else np.full(n, 39.9)
    lons = np.round(-83.0 + rng.normal(0, deg * 1.3, n), 5) if deg else np.full(n, -83.0)
    h3_r7 = latlng_to_cells(lats, lons, 7)  # the map's views find providers by their cells
    with ctx.sessions.begin() as s:
        for i, code in enumerate(SITES, start=1):
            s.add(
                ClinicSite(
                    id=i,
                    site_code=code,
                    name=code,
                    service_line="MRI",
                    lat=39.9 + ((i - 2.5) * 0.09 if deg else i / 100),
                    lon=-83.0 + (0.1 * (-1) ** i if deg else 0.0),
                )
            )
        s.flush()
        for lo in range(0, n, step):
            part = cand.iloc[lo : lo + step]
            ids = part["provider_id"].to_numpy()
            bulk_insert(
                s,
                Provider.__table__,
                [
                    "id",
                    "cluster_key",
                    "npi",
                    "entity_type",
                    "display_name",
                    "taxonomy_code",
                    "classification",
                    "postal_code",
                    "city",
                    "is_active",
                    "geocode_precision",
                    "lat",
                    "lon",
                    "h3_r7",
                ],
                [
                    (
                        int(i),
                        f"c{i}",
                        f"{1000000000 + i:010d}",
                        "individual",
                        f"DOCTOR {i}",
                        tc,
                        cl,
                        f"43{i % 300:03d}",
                        "COLUMBUS",
                        bool(i % 50),
                        "street",
                        la,
                        lo_,
                        h3,
                    )
                    for i, tc, cl, la, lo_, h3 in zip(
                        ids.tolist(),
                        part["taxonomy_code"],
                        part["classification"],
                        lats[lo : lo + step].tolist(),
                        lons[lo : lo + step].tolist(),
                        h3_r7[lo : lo + step].tolist(),
                        strict=True,
                    )
                ],
            )
            score = np.round(rng.uniform(0, 100, len(part)), 1)
            segment = segments[rng.integers(0, len(segments), len(part))]  # independent of the site
            dm = part["drive_minutes"].to_numpy()
            bulk_insert(
                s,
                Prospect.__table__,
                ["site_id", "provider_id", *PROSPECT_VALUES],
                [
                    (
                        int(i % 4) + 1,
                        int(i),
                        "imaging_mri@1.1.0",
                        float(sc),
                        seg,
                        tc,
                        cl,
                        None if np.isnan(d) else float(d),
                        float(km),
                        bool(np.isnan(d)),
                        bool(km <= 5.0),  # in_catchment: as a 5 km radius catchment has it
                        comps,
                    )
                    for i, sc, seg, tc, cl, d, km in zip(
                        ids.tolist(),
                        score.tolist(),
                        segment.tolist(),
                        part["taxonomy_code"],
                        part["classification"],
                        dm.tolist(),
                        part["distance_km"].tolist(),
                        strict=True,
                    )
                ],
            )
    with ctx.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    ctx.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load(port: int, path_params: list[tuple[str, dict]], clients: int) -> np.ndarray:
    """Latencies (ms) of ``path_params`` sent by ``clients`` keep-alive connections (bench.loadgen)."""
    from bench.loadgen import Request, run_load

    result = run_load(
        "127.0.0.1",
        port,
        [Request(path, params) for path, params in path_params],
        clients=clients,
        headers={"X-API-Key": "bench-viewer", "Cache-Control": "no-cache"},
    )
    if set(result.statuses) != {200}:
        raise RuntimeError(f"non-200 answers {dict(result.statuses)}: {result.failures}")
    return result.latencies_ms


def requests(n: int, seed: int = 5) -> list[tuple[str, dict]]:
    rng = np.random.default_rng(seed)
    segs = ["high-potential GP nearby", "distant specialist", "moderate-fit nearby", None]
    out = []
    for _ in range(n):
        p: dict = {"limit": 50, "site": SITES[rng.integers(4)]}
        if rng.random() < 0.6:
            p["min_score"] = int(rng.integers(0, 90))
        seg = segs[rng.integers(len(segs))]
        if seg:
            p["segment"] = seg
        if rng.random() < 0.3:
            p["specialty"] = str(CLASSES[rng.integers(len(CLASSES))])
        if rng.random() < 0.4:
            p["max_drive_minutes"] = int(rng.integers(5, 40))
        p["sort"] = ["-score", "-score", "drive_minutes", "distance_km"][rng.integers(4)]
        out.append(("/v1/prospects", p))
    return out


def bench_http(label: str, url: str, n: int, n_requests: int, workers: list[int]) -> None:
    t = time.perf_counter()
    fill(url, n)
    print(
        f"  [{label}] generated {n:,} providers + prospects with bulk inserts in {time.perf_counter() - t:.1f} s"
    )
    t = time.perf_counter()
    os.sync()  # the fill's gigabyte of dirty pages, written back now rather than during the load runs
    print(f"  [{label}] flushed to disk (os.sync) in {time.perf_counter() - t:.1f} s")
    for count in workers:
        serve_and_load(
            f"{label}, {count} worker{'s' if count > 1 else ''}", url, n, n_requests, count
        )


def serve_and_load(label: str, url: str, n: int, n_requests: int, workers: int) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PRM_DATABASE_URL": url,
        "PRM_VIEWER_API_KEY": "bench-viewer",
        "PRM_ADMIN_API_KEY": "bench-admin",
        # one key sends every request: the per-key rate limit would answer 429, not measure the list
        "PRM_RATE_LIMIT_PER_SECOND": "1000000",
        "PRM_RATE_LIMIT_BURST": "1000000",
    }
    server = subprocess.Popen(serve_command(port, workers), env=env)
    try:
        import httpx

        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        load(
            port, requests(1000, seed=1), 8
        )  # warm-up: every worker's pool, page cache and statements
        health = load(port, [("/health", {})] * n_requests, 8)
        sites = load(port, [("/v1/sites", {})] * n_requests, 8)
        lat = load(port, requests(n_requests), 8)
        p50, p95 = np.percentile(lat, [50, 95])
        h95, s95 = np.percentile(health, 95), np.percentile(sites, 95)
        print(
            f"  [{label}] GET /v1/prospects, 8 clients, {n_requests} requests, varied filters, page 50: "
            f"p50 {p50:.1f} ms  p95 {p95:.1f} ms  target p95 < 50 ms ({'ok' if p95 < 50 else 'SLOWER THAN TARGET'})"
        )
        print(
            f"  [{label}]   baseline GET /health same load (no key; SELECT 1, "
            f"counts of {n:,} providers cached 30 s): p95 {h95:.1f} ms  "
            f"prospects/health p95 = {p95 / h95:.1f}x"
        )
        print(
            f"  [{label}]   baseline GET /v1/sites same load (keyed, audited, 4 rows): p95 {s95:.1f} ms  "
            f"prospects/sites p95 = {p95 / s95:.1f}x"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument(
        "--postgis", default=None, help="Empty PostGIS database URL (schema is reset)."
    )
    parser.add_argument("--skip-scoring", action="store_true")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2, 4],
        help="uvicorn worker processes to serve with (one load run each)",
    )
    args = parser.parse_args()
    print(f"prm bench.prospecting: {args.providers:,} providers")
    if not args.skip_scoring:
        bench_scoring(args.providers)
    work = Path(tempfile.mkdtemp(prefix="prm-bench-prospects-"))
    bench_http(
        "sqlite", f"sqlite:///{work / 'bench.sqlite'}", args.providers, args.requests, args.workers
    )
    if args.postgis:
        from sqlalchemy import create_engine, text

        engine = create_engine(args.postgis)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        bench_http("postgis", args.postgis, args.providers, args.requests, args.workers)


if __name__ == "__main__":
    main()
