"""A generated world for the app benchmarks: ``n`` providers and prospects over a metro area.

Built once per size and kept under ``var/bench/`` (``world-50000.sqlite``): the
providers and their prospects are written directly with bulk inserts
(:func:`bench.prospecting.fill`, spread over the map with ``scatter_km``), not
through the pipeline. Honest for what the app benchmarks measure (reading,
filtering, serialising and drawing prospects), and quick: the pipeline at
500,000 providers (registry parsing, linkage, road-network drive times)
measures other things, in ``python -m bench``.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.prospecting import fill

__all__ = ["SCATTER_KM", "world_url"]

REPO = Path(__file__).resolve().parent.parent

#: Spread of the providers around the metro centre (standard deviation, km).
SCATTER_KM = 8.0


def world_url(n: int, *, cache: Path | None = None) -> str:
    """The SQLite URL of a world of ``n`` providers and prospects, built if not cached yet.

    Built under a temporary name and renamed once complete, so an interrupted build
    is never taken for a cached world.
    """
    cache = cache or REPO / "var" / "bench"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"world-{n}.sqlite"
    if not path.exists():
        part = path.with_suffix(".building")
        for stale in cache.glob(part.name + "*"):
            stale.unlink()
        t = time.perf_counter()
        print(f"  building a world of {n:,} providers + prospects in {path} ...", flush=True)
        fill(f"sqlite:///{part}", n, scatter_km=SCATTER_KM)
        if Path(f"{part}-wal").exists():  # the last connection closed folds the WAL in
            raise RuntimeError(f"{part}-wal left behind: the world is not complete")
        part.rename(path)
        print(f"  built in {time.perf_counter() - t:.1f} s", flush=True)
    return f"sqlite:///{path}"
