"""Per-stage throughput and peak memory of the whole pipeline at a chosen size.

    python -m bench --providers 100000
    python -m bench --providers 100000 --database-url postgresql+psycopg://u@host/empty_db

Generates a synthetic Columbus registry of that size (same generator as the
demo), loads it into a fresh embedded database (a SQLite file in the work
directory) or into the empty database ``--database-url`` names (migrated as the
app does, by :func:`service.context.open_context`; a database already holding
tables is refused, so a bench never writes into real data), runs every stage and prints,
for each, wall time, rows per second and the peak resident memory *during that
stage* (a sampling thread reads ``/proc/self/statm`` every 5 ms; the process's
lifetime peak, ``ru_maxrss``, would hide a lean stage behind an earlier fat one)
together with the resident memory the stage started from.
Baselines measured in the same run, on the same file and graph:

* ingest NPPES vs ``pandas.read_csv(dtype=str)`` of the file in the ingest's chunks (parsing alone);
* catchments vs ``osmnx``-style ``networkx.ego_graph`` on the same road graph
  for the same sites and cutoff.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import threading
import time
from pathlib import Path

_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    """The process's lifetime peak resident memory."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """The process's resident memory now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE_MB


class StagePeak:
    """Peak resident memory while a block runs, sampled by a thread (every 5 ms)."""

    def __enter__(self) -> StagePeak:
        self.start = self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


# tables a database may hold before the first migration: PostGIS's own reference table
_EXTENSION_TABLES = frozenset({"spatial_ref_sys"})


def check_empty(url: str) -> None:
    """Refuse a database that already holds tables (other than PostGIS's own).

    Raises
    ------
    SystemExit
        Naming the database and a few of its tables.
    """
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url

    engine = create_engine(url)
    try:
        tables = sorted(set(inspect(engine).get_table_names()) - _EXTENSION_TABLES)
    finally:
        engine.dispose()
    if tables:
        shown = ", ".join(tables[:5]) + (" ..." if len(tables) > 5 else "")
        safe = make_url(url).render_as_string(hide_password=True)
        raise SystemExit(
            f"bench: {safe} is not empty ({len(tables)} tables: {shown}); "
            "give the bench a database of its own (created empty, with the postgis extension)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--database-url",
        default=None,
        help="an EMPTY database to bench on (e.g. postgresql+psycopg://...); "
        "default: a fresh SQLite file in the work directory",
    )
    parser.add_argument(
        "--until-link", action="store_true", help="stop after the link stage (its figures alone)"
    )
    args = parser.parse_args()

    import networkx as nx
    import pandas as pd

    from core.settings import load_settings
    from demo import generate_demo
    from service.context import open_context
    from service.ingest.ingest import ingest_nucc, ingest_records, ingest_referral_events
    from service.ingest.sites import load_sites
    from service.linkage.resolve import resolve_providers
    from service.placement.catchments import build_catchments
    from service.placement.locate import geocode_providers
    from service.prospecting.referrals import compute_referrer_stats
    from service.prospecting.scoring import score_sites

    work = args.workdir or Path(tempfile.mkdtemp(prefix="prm-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    base = load_settings()
    url = args.database_url or f"sqlite:///{work / 'bench.sqlite'}"
    check_empty(url)
    settings = base.model_copy(update={"database_url": url})
    ctx = open_context(settings)
    rows: list[tuple[str, float, int, str]] = []

    def stage(name: str, n: int, fn, note: str = ""):  # noqa: ANN001, ANN202
        with StagePeak() as mem:
            t = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t
        rows.append((name, dt, n, note))
        print(
            f"  {name:<28} {dt:8.2f} s  {n / dt if dt else 0:>12,.0f} rows/s"
            f"  stage peak {mem.peak:7.0f} MB (from {mem.start:6.0f})  {note}",
            flush=True,
        )
        return out

    backend = ctx.engine.dialect.name
    print(f"prm bench: {args.providers:,} providers, {backend}, workdir {work}")
    graph = stage("load road graph", 1, lambda: ctx.graph)
    stage("street index", 1, lambda: ctx.street_index)
    manifest = stage(
        "generate synthetic files",
        args.providers,
        lambda: generate_demo(
            work / "files",
            providers=args.providers,
            seed=args.seed,
            graph=graph,
            street_index=ctx.street_index,
        ),
    )
    files = {k: work / "files" / v for k, v in manifest.files.items()}
    n_rows = manifest.rows["nppes"]
    base_t = time.perf_counter()
    # streamed as the ingest streams it: a whole-file read_csv would set the process's peak
    for _ in pd.read_csv(
        files["nppes"], dtype=str, keep_default_na=False, chunksize=settings.chunk_rows
    ):
        pass
    baseline = time.perf_counter() - base_t
    stage("ingest NUCC", 868, lambda: ingest_nucc(ctx, settings.nucc_file))
    stage(
        "ingest NPPES",
        n_rows,
        lambda: ingest_records(ctx, files["nppes"], source="nppes"),
        f"baseline pandas.read_csv {baseline:.2f} s",
    )
    ratio = rows[-1][1] / baseline
    print(f"  {'':<28} ingest / read_csv = {ratio:.1f}x")
    stage(
        "ingest referrer list",
        manifest.rows["referrers"],
        lambda: ingest_records(ctx, files["referrers"], source="referrer_list"),
    )
    stage("ingest sites", manifest.rows["sites"], lambda: load_sites(ctx, files["sites"]))
    stage(
        "ingest referral events",
        manifest.rows["referrals"],
        lambda: ingest_referral_events(ctx, files["referrals"]),
    )
    linked = stage("link (dedupe + golden)", n_rows, lambda: resolve_providers(ctx)).detail
    # the candidate pairs per record say how dense the blocks of this world are: the
    # comparison work grows with them, not with the records alone
    print(
        f"  {'':<28} {linked['pairs']:,} candidate pairs ({linked['pairs'] / n_rows:.0f} per record),"
        f" {linked['merge_pairs']:,} merges, {linked['golden']:,} golden records"
    )
    if args.until_link:
        print(f"  {'':<28} process peak {peak_mb():.0f} MB")
        return
    stage("geocode + H3", n_rows, lambda: geocode_providers(ctx))
    sites = pd.read_csv(files["sites"])
    t = time.perf_counter()
    nodes = ctx.router.snap(sites["lat"].to_numpy(), sites["lon"].to_numpy())["node"]
    for node in nodes:
        nx.ego_graph(graph, node, radius=max(settings.drive_minutes) * 60, distance="travel_time")
    ego = time.perf_counter() - t
    stage(
        "catchments",
        len(sites),
        lambda: build_catchments(ctx),
        f"baseline nx.ego_graph {ego:.2f} s",
    )
    stage("tiers", manifest.rows["referrals"], lambda: compute_referrer_stats(ctx))
    stage("score", n_rows, lambda: score_sites(ctx))
    total = sum(r[1] for r in rows)
    print(f"  {'total':<28} {total:8.2f} s  process peak {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
