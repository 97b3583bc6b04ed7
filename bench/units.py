"""Timings that used to be assertions in unit tests, each beside a baseline run in the same process.

    python -m bench.units [--candidates 1000000] [--addresses 5000] [--repeat 3]

* scoring ``--candidates`` prospects with the shipped MRI profile
  (``prospects.scoring.score_prospects``, no explanations) vs the floor of
  that work: one vectorised weighted sum over the same columns in NumPy;
* geocoding ``--addresses`` street addresses against the bundled Columbus
  street index (``geo.geocode.geocode_frame``) vs an exact-key pandas merge
  of the same rows against a table of their answers (a lookup, no matching).

The unit tests check what these functions return; how long they take on a
shared 2-core machine is reported here, never asserted (a busy machine is not
a bug). Prints the median of ``--repeat`` runs of each.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd


def _median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _candidates(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    codes = np.array(
        ["207X00000X", "207Q00000X", "2085R0202X", "207T00000X", "122300000X"], dtype=object
    )
    classes = np.array(
        ["Orthopaedic Surgery", "Family Medicine", "Radiology", "Dentist"], dtype=object
    )
    return pd.DataFrame(
        {
            "provider_id": np.arange(n),
            "taxonomy_code": rng.choice(codes, n),
            "classification": rng.choice(classes, n),
            "entity_type": rng.choice(np.array(["1", "2"], dtype=object), n),
            "drive_minutes": np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0, 60, n)),
            "distance_km": rng.uniform(0, 40, n),
            "practice_size": rng.integers(1, 30, n),
            "org_referring": rng.random(n) < 0.1,
        }
    )


def bench_scoring(n: int, repeat: int) -> None:
    from prospects.profiles import load_profile
    from prospects.scoring import score_prospects

    frame = _candidates(n)
    profile = load_profile("imaging_mri")
    weights = np.array([0.4, 0.3, 0.2, 0.1])

    def floor() -> np.ndarray:
        cols = np.column_stack(
            [
                np.nan_to_num(frame["drive_minutes"].to_numpy(), nan=30.0) / 60,
                frame["distance_km"].to_numpy() / 40,
                frame["practice_size"].to_numpy() / 30,
                frame["org_referring"].to_numpy(dtype=float),
            ]
        )
        return cols @ weights * 100

    ours = _median_s(lambda: score_prospects(frame, profile, explain=False), repeat)
    base = _median_s(floor, repeat)
    print(
        f"scoring {n:,} candidates: {ours:.2f} s ({n / ours:,.0f}/s); "
        f"NumPy weighted-sum floor {base:.3f} s; ratio {ours / base:.0f}x"
    )


def bench_geocoding(n: int, repeat: int) -> None:
    from core.settings import load_settings
    from geo.geocode import StreetIndex, geocode_frame
    from geo.roads import load_drive_graph

    s = load_settings()
    graph = load_drive_graph(s.osm_file, cache_dir=s.cache_dir, speeds=s.road_speeds_kph)
    index = StreetIndex.from_graph(graph)
    streets = ["N High St", "E Broad St", "Cleveland Ave", "W 5th Ave", "Parsons Ave"]
    df = pd.DataFrame(
        {
            "address_1": [f"{100 + i % 900} {streets[i % len(streets)]}" for i in range(n)],
            "postal_code": ["43215"] * n,
        }
    )
    answers = geocode_frame(df, index)
    extra = answers[[c for c in answers.columns if c not in df.columns]]
    table = pd.concat([df, extra], axis=1).drop_duplicates(["address_1", "postal_code"])
    ours = _median_s(lambda: geocode_frame(df, index), repeat)
    base = _median_s(lambda: df.merge(table, on=["address_1", "postal_code"], how="left"), repeat)
    placed = (answers["geocode_precision"] == "street").mean()
    print(
        f"geocoding {n:,} addresses ({placed:.0%} at street level): {ours:.2f} s ({n / ours:,.0f}/s); "
        f"exact-key merge baseline {base:.3f} s; ratio {ours / base:.0f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--addresses", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bench_scoring(args.candidates, args.repeat)
    bench_geocoding(args.addresses, args.repeat)


if __name__ == "__main__":
    main()
