"""Entity-resolution quality and speed on labelled synthetic records.

    python -m bench.linkage --records 100000 1000000     # scaling table + quality per size
    python -m bench.linkage --records 50000 --quality-only

For each size a child process generates the records (:mod:`bench.linkage_data`,
not timed) and writes them to CSV; a fresh child process then runs the whole
generic pipeline (:func:`enrichment.dedupe.dedupe_files`: read CSV, features,
blocking, comparisons, EM, clustering, writing ``clusters.csv`` and
``pairs.csv``), timed, with its peak resident memory. The baseline, measured
in the same run on the same file, is an exact-key deduplication (same NPI, or
same lower-cased first name, last name and ZIP: ``pandas`` group-by plus
connected components), for both speed and quality.

Quality against the known truth: pair precision / recall / F1 of the clusters
(every pair inside a predicted cluster), overall and on the pairs that share
no identifier (no common NPI); precision of the auto-merge decisions on scored
candidate pairs without a shared identifier; and cluster precision / recall
(predicted clusters equal to a true one / true clusters reproduced exactly).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.linkage_metrics import cluster_metrics, pair_metrics

MAPPING = {
    "id": "source_key",
    "columns": {
        c: c
        for c in (
            "entity_type",
            "first_name",
            "last_name",
            "organization_name",
            "address_1",
            "address_2",
            "state",
            "postal_code",
            "phone",
            "taxonomy_code",
            "npi",
        )
    },
}


def scored_pair_metrics(pairs: pd.DataFrame, truth: pd.Series, ident: pd.Series) -> dict:
    """Auto-merge precision/recall on scored candidate pairs that share no identifier."""
    lt = truth.loc[list(zip(pairs["left_source"], pairs["left_id"]))].to_numpy()
    rt = truth.loc[list(zip(pairs["right_source"], pairs["right_id"]))].to_numpy()
    li = ident.loc[list(zip(pairs["left_source"], pairs["left_id"]))].to_numpy()
    ri = ident.loc[list(zip(pairs["right_source"], pairs["right_id"]))].to_numpy()
    noid = ~(pd.notna(li) & (li == ri))
    same = lt == rt
    merge = (pairs["decision"] == "merge").to_numpy()
    review = (pairs["decision"] == "review").to_numpy()
    return {
        "auto_merge_precision": float(same[noid & merge].mean()) if (noid & merge).any() else 1.0,
        "auto_merge_pairs": int((noid & merge).sum()),
        "review_pairs": int((noid & review).sum()),
        "review_true_share": float(same[noid & review].mean()) if (noid & review).any() else 0.0,
    }


def baseline(path: Path) -> tuple[np.ndarray, float]:
    """Exact-key dedupe (same NPI, or same first/last/ZIP5): clusters and seconds."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    t = time.perf_counter()
    df = pd.read_csv(path, dtype=str, engine="pyarrow")
    n = len(df)
    key = (
        df["first_name"].str.lower().str.strip()
        + "|"
        + df["last_name"].str.lower().str.strip()
        + "|"
        + df["postal_code"].str[:5]
    )
    key = key.fillna(df["organization_name"].str.lower() + "|" + df["postal_code"].str[:5])
    edges = []
    for col in (df["npi"], key):
        codes = pd.factorize(col, use_na_sentinel=True)[0]
        ok = codes >= 0
        first = pd.Series(np.flatnonzero(ok)).groupby(codes[ok]).transform("first").to_numpy()
        edges.append((first, np.flatnonzero(ok)))
    left = np.concatenate([e[0] for e in edges])
    right = np.concatenate([e[1] for e in edges])
    graph = coo_matrix((np.ones(len(left), np.int8), (left, right)), shape=(n, n))
    labels = connected_components(graph, directed=False)[1]
    return labels, time.perf_counter() - t


def _generate(n: int, work: str, seed: int) -> None:
    from bench.linkage_data import generate

    generate(n, seed=seed).to_csv(Path(work) / f"records_{n}.csv", index=False)


def _run(n: int, work: str, queue: mp.Queue) -> None:
    from enrichment.dedupe import dedupe_files
    from enrichment.link_settings import LinkSettings

    report = dedupe_files(
        [Path(work) / f"records_{n}.csv"],
        mapping=MAPPING,
        settings=LinkSettings.default(),
        out_dir=Path(work) / f"out_{n}",
        # the merge and review pairs, as this bench has always written and timed
        # (the command's default writes every scored pair)
        min_probability=0.5,
    )
    report["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(report)


def run_size(n: int, work: Path, seed: int) -> dict:
    ctx = mp.get_context("spawn")
    p = ctx.Process(target=_generate, args=(n, str(work), seed))
    p.start(), p.join()
    queue = ctx.Queue()
    p = ctx.Process(target=_run, args=(n, str(work), queue))
    p.start()
    report = queue.get()
    p.join()
    path = work / f"records_{n}.csv"
    truth_df = pd.read_csv(path, dtype=str, engine="pyarrow")
    key = pd.MultiIndex.from_arrays([np.full(len(truth_df), path.name), truth_df["source_key"]])
    truth = pd.Series(truth_df["entity_id"].to_numpy(), index=key)
    ident = pd.Series(truth_df["npi"].to_numpy(dtype=object), index=key)
    clusters = pd.read_csv(work / f"out_{n}" / "clusters.csv", dtype={"record_id": str})
    pred = clusters["cluster_id"].to_numpy()
    order = pd.MultiIndex.from_arrays([clusters["source"], clusters["record_id"]])
    t_arr, i_arr = truth.loc[order].to_numpy(), ident.loc[order].to_numpy()
    pairs = pd.read_csv(work / f"out_{n}" / "pairs.csv", dtype={"left_id": str, "right_id": str})
    base_labels, base_s = baseline(path)
    return {
        "n": n,
        "report": report,
        "baseline_s": base_s,
        "pairs": pair_metrics(pred, t_arr, i_arr),
        "clusters": cluster_metrics(pred, t_arr),
        "scored": scored_pair_metrics(pairs, truth, ident),
        "baseline_quality": pair_metrics(
            base_labels, truth_df["entity_id"].to_numpy(), truth_df["npi"].to_numpy(dtype=object)
        ),
    }


def _show(res: dict) -> None:
    r, q = res["report"], res["pairs"]
    print(f"\n== {res['n']:,} records: {r['pairs']:,} candidate pairs, {r['clusters']:,} clusters")
    print(
        f"  time: read {r['read_s']:.1f}s features {r['features_s']:.1f}s blocking {r['blocking_s']:.1f}s"
        f" comparisons {r['comparisons_s']:.1f}s EM {r['em_s']:.2f}s clustering"
        f" {r['clustering_s']:.2f}s write {r['write_s']:.1f}s = total {r['total_s']:.1f}s,"
        f" peak {r['peak_mb']:.0f} MB"
    )
    print(
        f"  baseline exact-key dedupe {res['baseline_s']:.1f}s; engine / baseline ="
        f" {r['total_s'] / res['baseline_s']:.1f}x"
    )
    for scope in ("all", "no_identifier"):
        m, b = q[scope], res["baseline_quality"][scope]
        print(
            f"  pairs {scope:<14} P {m['precision']:.4f} R {m['recall']:.4f} F1 {m['f1']:.4f}"
            f"   (baseline F1 {b['f1']:.4f})"
        )
    s, c = res["scored"], res["clusters"]
    print(
        f"  auto-merge precision (no-identifier pairs) {s['auto_merge_precision']:.4f} over"
        f" {s['auto_merge_pairs']:,} pairs; review queue {s['review_pairs']:,}"
        f" ({s['review_true_share']:.0%} true)"
    )
    print(f"  clusters exact: precision {c['precision']:.4f} recall {c['recall']:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="prm-linkage-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"prm linkage bench, workdir {work}")
    results = []
    for n in args.records:
        res = run_size(n, work, args.seed)
        _show(res)
        results.append(res)
    print("\nscaling: records | total s | records/s | peak MB | pairs")
    for res in results:
        r = res["report"]
        print(
            f"  {res['n']:>12,} | {r['total_s']:7.1f} | {res['n'] / r['total_s']:9,.0f} |"
            f" {r['peak_mb']:7.0f} | {r['pairs']:,}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
