"""Free-text referrer linking, per note pattern: linked right, linked wrong, right NPI in review.

    python -m bench.freetext --seeds 5
    python -m bench.freetext --seeds 5 --before a720f6e   # the matcher of that commit too

Each seed draws a metro and its referral notes (:mod:`bench.freetext_data`),
links the notes with :func:`enrichment.freetext.match_free_text` and prints, per
pattern of :data:`bench.freetext_data.PATTERNS` and over all rows, the mean over
seeds and a 95% interval (t over the seed means) of: the share of rows linked to
the true provider, the share linked to another one, and among the rows sent to
review the share whose true provider is among the top 3 candidates. ``--before``
loads ``enrichment/freetext.py`` as it was at a git revision and measures it on the
same notes, so the two columns compare like with like.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from bench.freetext_data import PATTERNS, generate_world

Matcher = Callable[..., list]


def outcomes(rows: pd.DataFrame, matches: list, *, top: int = 3) -> pd.DataFrame:
    """Per row: ``right`` / ``wrong`` (linked), ``review_hit`` / ``review_miss`` (true
    provider among the first ``top`` candidates or not)."""
    kinds = []
    for truth, m in zip(rows["provider_id"], matches, strict=True):
        if m.provider_id is not None:
            kinds.append("right" if m.provider_id == truth else "wrong")
        else:
            hit = truth in [pid for pid, _ in m.alternatives[:top]]
            kinds.append("review_hit" if hit else "review_miss")
    return rows.assign(outcome=kinds)


def rates(scored: pd.DataFrame) -> pd.DataFrame:
    """Per pattern (and ``ALL``): ``n``, ``linked_right``, ``wrong``, ``review_top3``."""
    frames = [scored.assign(pattern="ALL"), scored]
    both = pd.concat(frames, ignore_index=True)
    counts = pd.crosstab(both["pattern"], both["outcome"])
    for kind in ("right", "wrong", "review_hit", "review_miss"):
        if kind not in counts:
            counts[kind] = 0
    n = counts.sum(axis=1)
    review = counts["review_hit"] + counts["review_miss"]
    return pd.DataFrame(
        {
            "n": n,
            "linked_right": counts["right"] / n,
            "wrong": counts["wrong"] / n,
            "review_top3": (counts["review_hit"] / review.where(review > 0)),
        }
    )


def measure(matcher: Matcher, seeds: list[int], *, providers: int = 4000) -> list[pd.DataFrame]:
    """:func:`rates` of one matcher on each seed's world."""
    out = []
    for seed in seeds:
        world = generate_world(seed=seed, providers=providers)
        matches = matcher(pd.Series(world.rows["text"], dtype=object), world.golden, top=3)
        out.append(rates(outcomes(world.rows, matches)))
    return out


def _summary(per_seed: list[pd.DataFrame], column: str) -> pd.Series:
    """``mean ± half-width`` of a rate over seeds (95% t interval; ``±0`` for one seed)."""
    table = pd.concat([r[column] for r in per_seed], axis=1)
    mean = table.mean(axis=1)
    k = table.notna().sum(axis=1)
    half = table.std(axis=1, ddof=1) * stats.t.ppf(0.975, np.maximum(k - 1, 1)) / np.sqrt(k)
    return (100 * mean).map("{:5.1f}".format) + " ±" + (100 * half.fillna(0)).map("{:4.1f}".format)


def _load_revision(revision: str) -> Matcher:
    """``match_free_text`` of ``enrichment/freetext.py`` as committed at ``revision``."""
    source = subprocess.run(
        ["git", "show", f"{revision}:enrichment/freetext.py"],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "freetext_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("freetext_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["freetext_before"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.match_free_text


def report(matchers: dict[str, Matcher], seeds: list[int], *, providers: int = 4000) -> str:
    """The per-pattern table of every matcher, side by side."""
    columns = {}
    n = None
    for label, matcher in matchers.items():
        per_seed = measure(matcher, seeds, providers=providers)
        n = per_seed[0]["n"]
        for col in ("linked_right", "wrong", "review_top3"):
            columns[f"{label} {col}"] = _summary(per_seed, col)
    table = pd.DataFrame(columns)
    table.insert(0, "rows/seed", n)
    order = [*PATTERNS, "ALL"]
    return table.reindex(order).to_string()


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--seeds``, ``--providers``, ``--before REVISION``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--providers", type=int, default=4000)
    parser.add_argument("--before", help="git revision whose matcher is measured too")
    args = parser.parse_args(argv)
    from enrichment.freetext import match_free_text

    matchers: dict[str, Matcher] = {}
    if args.before:
        matchers["before"] = _load_revision(args.before)
    matchers["after"] = match_free_text
    seeds = list(range(1, args.seeds + 1))
    print(f"seeds {seeds}, {args.providers} providers per seed, rates in % (mean ± 95% CI)")
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(report(matchers, seeds, providers=args.providers))


if __name__ == "__main__":
    main()
