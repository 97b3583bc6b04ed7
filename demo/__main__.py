"""``python -m demo OUT_DIR [--providers N] [--seed S] [--as-of YYYY-MM-DD] [--cache-dir DIR]``."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from core.errors import ServiceError
from demo.generator import generate_demo


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, generate the demo files, print a one-line summary per file."""
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--providers", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 1))
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="where the parsed road network is cached (recommended: var/cache)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int | None) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {stage} ({done}/{total})", file=sys.stderr)

    try:
        manifest = generate_demo(
            args.out_dir,
            providers=args.providers,
            seed=args.seed,
            as_of=args.as_of,
            cache_dir=args.cache_dir,
            progress=progress,
        )
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for role, name in manifest.files.items():
        print(f"{args.out_dir / name}: {manifest.rows[role]} rows")
    print(manifest.note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
