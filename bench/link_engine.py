"""The link stage's dedupe engine alone on a bench database: time per step and memory.

    python -m bench --providers 1000000 --workdir /tmp/b1m      # makes /tmp/b1m/bench.sqlite
    python -m bench.link_engine /tmp/b1m/bench.sqlite --budget-mb 256

Reads the linker's input as the link stage does, runs
:func:`enrichment.linker.link_records` (no golden records written) and prints
the resident memory after the read, the engine's report (candidate pairs,
merges, seconds per step) and the process's peak. Run at two sizes with a
small budget, the difference of the figures is the engine's memory per record
(docs/production.md, "Scale").
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.__main__ import peak_mb, rss_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, help="a bench SQLite file (python -m bench)")
    parser.add_argument("--budget-mb", type=int, default=2048, help="PRM_MEMORY_BUDGET_MB")
    args = parser.parse_args()

    from core.settings import load_settings
    from enrichment.linker import link_records
    from service.context import open_context
    from service.ingest.taxonomy import classification_map
    from service.linkage.frames import load_link_input, pairs_per_chunk, records_per_chunk
    from service.linkage.resolve import link_settings

    settings = load_settings().model_copy(
        update={"database_url": f"sqlite:///{args.database}", "memory_budget_mb": args.budget_mb}
    )
    ctx = open_context(settings)
    started = time.perf_counter()
    with ctx.sessions() as session:
        link_input = load_link_input(session, chunk_rows=records_per_chunk(args.budget_mb))
        classes = classification_map(session)
    print(
        f"read {len(link_input.frame):,} records in {time.perf_counter() - started:.1f} s,"
        f" resident {rss_mb():.0f} MB"
    )
    started = time.perf_counter()
    result = link_records(
        link_input.frame,
        settings=link_settings(ctx),
        classes=classes or None,
        keep_non_matches=False,
        pair_chunk=pairs_per_chunk(args.budget_mb),
    )
    print(f"link_records {time.perf_counter() - started:.1f} s, process peak {peak_mb():.0f} MB")
    print(result.report)


if __name__ == "__main__":
    main()
