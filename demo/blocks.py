"""The demo's providers generated and written a block at a time, so memory does not grow with size.

A *block* is the generator's unit of randomness and of memory: a fixed number
of NPPES rows (:data:`BLOCK_PROVIDERS`, the last block taking the remainder)
with its own organisations, buildings, individuals, referrers and referral
events, drawn from its own child of ``numpy.random.SeedSequence(seed)`` (spawn
key ``FIRST_BLOCK_KEY + k``).  Block ``k``'s rows therefore depend only on the
seed, ``k`` and the block's size: not on how many blocks come before or after,
and not on how the writers batch rows.  NPIs of different blocks never collide
(each block draws in its own lane, see :func:`demo.npi.draw_npis`).

A block holds all the structure the demo is known for (group practices sharing
a building, one person with two NPIs, deactivated NPIs and their replacements,
every tier of referrer); practices simply do not span blocks.  A demo of up to
``BLOCK_PROVIDERS`` rows is one block, so the default 6,000-provider demo has
the same structure as before blocks existed.

Referral events are sorted within each block into a temporary file and the
blocks' files merged (:func:`heapq.merge`, stable) into one date-ordered
export, numbered as they are written.
"""

from __future__ import annotations

import csv
import heapq
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from demo.addresses import place_buildings
from demo.nppes import nppes_frame, write_nppes
from demo.population import Population, build_population, plan_counts
from demo.referrals import choose_referrers, referral_events
from demo.referrers import referrer_list

__all__ = [
    "BLOCK_PROVIDERS",
    "EVENT_COLUMNS",
    "FIRST_BLOCK_KEY",
    "NPI_LANES",
    "BlockTruth",
    "block_sizes",
    "merge_events",
    "population_people",
    "referrer_list_size",
    "truth_dict",
    "write_block",
    "write_side_files",
]

BLOCK_PROVIDERS = 20_000
"""Default NPPES rows per block: ~60 MB of working memory each, and large enough
that a block's referrer list reaches its 400-row cap."""
FIRST_BLOCK_KEY = 6
"""Spawn keys 0-5 are the whole-demo streams (sites use 3, the referrer list 5)."""
NPI_LANES = 512
"""Blocks draw NPIs in ``k % NPI_LANES``: up to 512 blocks never share an NPI."""
EVENT_COLUMNS = (
    "external_id",
    "referral_date",
    "referrer_npi",
    "referrer_name",
    "service_line",
    "site_code",
    "patient_ref",
)
_CSV = {"index": False, "lineterminator": "\n", "encoding": "utf-8"}


def block_sizes(providers: int, block: int) -> list[int]:
    """Rows of each block: ``block`` each, the last one taking the remainder (< 2 blocks).

    Parameters
    ----------
    providers
        NPPES rows in all.
    block
        Rows per block.

    Returns
    -------
    list of int
        One size per block, summing to ``providers``.
    """
    n = max(1, providers // block)
    return [block] * (n - 1) + [providers - block * (n - 1)]


@dataclass
class BlockTruth:
    """The ground truth of a block, compact (NPIs and numbers), for the manifest."""

    rows: int = 0
    locations: int = 0
    events: int = 0
    referrers: list[pd.DataFrame] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    replacements: dict[str, str] = field(default_factory=dict)
    same_person: list[list[str]] = field(default_factory=list)
    zip_only_npis: list[str] = field(default_factory=list)


def _use_zip_only(buildings: pd.DataFrame, pop: Any, rng: np.random.Generator) -> pd.DataFrame:
    """Swap building rows so that every ZIP-only address is one a practice actually uses.

    Buildings are exchangeable random draws, so swapping two rows changes no
    distribution; it only guarantees the ZIP fallback is exercised in small runs.
    """
    used = np.union1d(pop.orgs["building"].to_numpy(), pop.individuals["building"].to_numpy())
    fake = np.flatnonzero(buildings["zip_only"].to_numpy())
    unused_fake = fake[~np.isin(fake, used)]
    targets = np.setdiff1d(used, fake)
    if unused_fake.size == 0 or targets.size == 0:
        return buildings
    swap_with = rng.choice(targets, size=min(unused_fake.size, targets.size), replace=False)
    order = np.arange(len(buildings))
    order[unused_fake[: swap_with.size]], order[swap_with] = (
        swap_with,
        unused_fake[: swap_with.size],
    )
    return buildings.iloc[order].reset_index(drop=True)


def _locations(pop: Population, buildings: pd.DataFrame) -> pd.DataFrame:
    """Where each active NPI of the block practises (the truth file), sorted by NPI."""
    ind, org = pop.individuals, pop.orgs
    npi = np.concatenate([ind["npi"].to_numpy(), org["npi"].to_numpy()])
    entity = np.concatenate([np.full(len(ind), "1", dtype=object), np.full(len(org), "2")])
    b = buildings.iloc[np.concatenate([ind["building"].to_numpy(), org["building"].to_numpy()])]
    out = pd.DataFrame(
        {
            "npi": npi,
            "entity_type": entity,
            "lat": b["lat"].round(6).to_numpy(),
            "lon": b["lon"].round(6).to_numpy(),
            "zip5": b["zip5"].to_numpy(),
            "zip_only": b["zip_only"].to_numpy(),
        }
    )
    return out.sort_values("npi", kind="stable")


def write_block(
    k: int,
    size: int,
    *,
    seed: int,
    ctx: dict[str, Any],
    out: dict[str, Path],
    truth: BlockTruth,
    referrer_list_size: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Generate block ``k`` of ``size`` NPPES rows and append its rows to the files.

    Parameters
    ----------
    k, size
        Block number and its NPPES rows.
    seed
        The demo's seed.
    ctx
        Shared inputs: ``segments``, ``street_index``, ``sites``, ``columns``,
        ``as_of``, ``nucc_file``, ``referrer_share``, ``tier_a_min``,
        ``tier_b_min``, ``list_rng`` and ``nppes_batch`` (rows per write).
    out
        Paths: ``nppes``, ``locations`` (appended; the first block writes the
        header) and ``events`` (this block's sorted referral events).
    truth
        Accumulates the block's ground truth.
    referrer_list_size
        When given, the clinic's referrer list of that many rows is drawn from
        this block's people and returned as ``(table, truth)``.

    Returns
    -------
    tuple of pandas.DataFrame or None
        The referrer list and its truth, when ``referrer_list_size`` is given.
    """
    streams = np.random.SeedSequence(int(seed), spawn_key=(FIRST_BLOCK_KEY + k,)).spawn(4)
    r_pop, r_addr, r_nppes, r_ref = (np.random.default_rng(s) for s in streams)
    pop, n_buildings = build_population(r_pop, size, npi_lane=k % NPI_LANES, npi_lanes=NPI_LANES)
    buildings = _use_zip_only(
        place_buildings(ctx["segments"], ctx["street_index"], r_addr, n_buildings), pop, r_addr
    )
    first = k == 0
    frame = nppes_frame(pop, buildings, r_nppes, as_of=ctx["as_of"])
    truth.rows += write_nppes(
        frame, out["nppes"], ctx["columns"], append=not first, batch_rows=ctx["nppes_batch"]
    )
    del frame
    locations = _locations(pop, buildings)
    locations.to_csv(out["locations"], mode="w" if first else "a", header=first, **_CSV)
    truth.locations += len(locations)
    truth.zip_only_npis += locations.loc[locations["zip_only"], "npi"].tolist()

    people = pop.individuals[pop.individuals["dup_of"] == ""].reset_index(drop=True)
    b_idx = people["building"].to_numpy()
    lat, lon = buildings["lat"].to_numpy()[b_idx], buildings["lon"].to_numpy()[b_idx]
    sites = ctx["sites"]
    referrers = choose_referrers(
        people,
        lat,
        lon,
        sites,
        r_ref,
        share=ctx["referrer_share"],
        tier_a_min=ctx["tier_a_min"],
        tier_b_min=ctx["tier_b_min"],
    )
    events, ref_truth = referral_events(
        referrers, people, lat, lon, sites, r_ref, as_of=ctx["as_of"]
    )
    events.to_csv(out["events"], header=False, **_CSV)
    truth.events += len(events)
    truth.referrers.append(
        ref_truth[
            [
                "npi",
                "tier",
                "count_365",
                "count_365_npi",
                "events_total",
                "lapsed",
                "last_date",
                "dist_km",
            ]
        ]
    )
    dup = pop.individuals[pop.individuals["dup_of"] != ""]
    truth.same_person += [
        sorted([a, b]) for a, b in zip(dup["dup_of"].tolist(), dup["npi"].tolist())
    ]
    d = pop.deactivated
    truth.deactivated += d["npi"].tolist()
    truth.replacements.update(
        {a: b for a, b in zip(d["npi"].tolist(), d["replacement"].tolist()) if b}
    )
    if referrer_list_size is None:
        return None
    return referrer_list(
        people,
        pop.orgs,
        buildings,
        referrers["row"].to_numpy(),
        ctx["list_rng"],
        nucc_file=ctx["nucc_file"],
        size=referrer_list_size,
    )


def _rows(path: Path) -> Iterator[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        yield from csv.reader(fh)


def merge_events(parts: list[Path], path: Path) -> int:
    """Merge the blocks' sorted event files into one export numbered in date order.

    Parameters
    ----------
    parts
        Per-block files (no header; columns as :data:`EVENT_COLUMNS` without
        ``external_id``), each sorted by date, NPI and name.  Deleted afterwards.
    path
        The referral-event export to write.

    Returns
    -------
    int
        Events written.
    """
    n = 0
    with ExitStack() as stack, open(path, "w", encoding="utf-8", newline="") as fh:
        stack.callback(lambda: [p.unlink(missing_ok=True) for p in parts])
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(EVENT_COLUMNS)
        readers = [_rows(p) for p in parts]
        for row in heapq.merge(*readers, key=lambda r: (r[0], r[1], r[2])):
            n += 1
            w.writerow([f"RF{row[0][:4]}-{n:07d}", *row])
    return n


def population_people(sizes: list[int]) -> int:
    """Active individual people (one per person, second NPIs excluded) in all blocks."""
    return sum(plan_counts(s)["individuals"] for s in sizes)


def referrer_list_size(people: int) -> int:
    """Rows of the clinic's referrer list for ``people`` active individuals (15 to 400)."""
    return min(400, max(15, round(people * 0.076)))


def write_side_files(
    out_dir: Path, table: pd.DataFrame, sites: pd.DataFrame, names: dict[str, str]
) -> None:
    """The referrer list and the sites, small files written whole."""
    table.to_csv(out_dir / names["referrers"], **_CSV)
    sites.to_csv(out_dir / names["sites"], **_CSV)


def truth_dict(truth: BlockTruth) -> dict[str, Any]:
    """The manifest's per-NPI truth of all blocks."""
    refs = pd.concat(truth.referrers, ignore_index=True)
    return {
        "referrers": {
            r.npi: {
                "tier": r.tier,
                "count_365": int(r.count_365),
                "count_365_npi": int(r.count_365_npi),
                "events_total": int(r.events_total),
                "lapsed": bool(r.lapsed),
                "last_date": r.last_date,
                "dist_km": float(r.dist_km),
            }
            for r in refs.itertuples(index=False)
        },
        "deactivated": sorted(truth.deactivated),
        "replacements": dict(sorted(truth.replacements.items())),
        "same_person": sorted(truth.same_person),
        "zip_only_npis": sorted(truth.zip_only_npis),
    }
