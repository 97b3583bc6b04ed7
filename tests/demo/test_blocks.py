"""The demo generator in blocks (demo.blocks): bytes independent of write batching and of later blocks,
and the known structure (second NPIs, deactivations, tiers) in every block."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date, timedelta

import pandas as pd
import pytest

from core.errors import InputError
from core.settings import DEFAULT_VAR_DIR, REFERENCE_DIR
from demo import FILE_NAMES, generate_demo
from demo.blocks import block_sizes
from geo.geocode import StreetIndex
from geo.roads import load_drive_graph

pytestmark = pytest.mark.slow  # loads the road graph: see README

AS_OF = date(2026, 11, 1)
BLOCK = 150


@pytest.fixture(scope="module")
def road():
    G = load_drive_graph(
        REFERENCE_DIR / "osm" / "columbus_oh_otp_2015.osm.bz2", cache_dir=DEFAULT_VAR_DIR / "cache"
    )
    return G, StreetIndex.from_graph(G)


def _make(road, out, providers: int, **kw):
    G, index = road
    return generate_demo(
        out,
        providers=providers,
        seed=5,
        as_of=AS_OF,
        graph=G,
        street_index=index,
        block_providers=BLOCK,
        **kw,
    )


def _digests(out) -> dict[str, str]:
    return {
        name: hashlib.sha256((out / name).read_bytes()).hexdigest()
        for name in sorted(FILE_NAMES.values())
    }


@pytest.fixture(scope="module")
def blocks(road, tmp_path_factory):
    out = tmp_path_factory.mktemp("blocks")
    return out, _make(road, out, 3 * BLOCK + 40)


def test_block_sizes_sum_and_last_takes_the_remainder():
    assert block_sizes(6000, 20_000) == [6000]
    assert block_sizes(100, 50) == [50, 50]
    assert block_sizes(149, 50) == [50, 99]
    assert sum(block_sizes(1_234_567, 20_000)) == 1_234_567


def test_same_bytes_whatever_the_write_batch(road, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _make(road, a, 2 * BLOCK + 10, nppes_batch=7)
    _make(road, b, 2 * BLOCK + 10, nppes_batch=5000)
    assert _digests(a) == _digests(b)
    assert not any(p.name.endswith(".part") for p in a.iterdir())  # temporary event files gone


def test_a_block_does_not_depend_on_the_blocks_after_it(road, tmp_path, blocks):
    short = tmp_path / "short"
    _make(road, short, 2 * BLOCK)
    head = (short / FILE_NAMES["nppes"]).read_bytes()
    longer = (blocks[0] / FILE_NAMES["nppes"]).read_bytes()
    assert longer.startswith(head) and len(longer) > len(head)


def test_every_block_keeps_the_known_structure(blocks):
    out, manifest = blocks
    nppes = pd.read_csv(out / FILE_NAMES["nppes"], dtype=str, keep_default_na=False)
    assert len(nppes) == 3 * BLOCK + 40 == manifest.rows["nppes"]
    assert nppes["NPI"].is_unique  # blocks draw NPIs in disjoint lanes
    truth = manifest.truth
    counts = truth["counts"]
    assert sum(counts.values()) == len(nppes)
    # deactivated NPIs: 3 blocks' worth, blank rows, replacements present in the file
    dead = nppes[nppes["NPI Deactivation Date"] != ""]
    assert set(dead["NPI"]) == set(truth["deactivated"]) and len(dead) == counts["deactivated"]
    assert len(truth["replacements"]) >= 2 * 3
    assert set(truth["replacements"].values()) <= set(nppes["NPI"])
    # one person, two NPIs: same name and practice address, one pair per block at least
    by_npi = nppes.set_index("NPI")
    assert len(truth["same_person"]) == counts["duplicates"] >= 3
    for a, b in truth["same_person"]:
        ra, rb = by_npi.loc[a], by_npi.loc[b]
        assert (ra["Provider First Name"], ra["Provider Last Name (Legal Name)"]) == (
            rb["Provider First Name"],
            rb["Provider Last Name (Legal Name)"],
        )
        assert (
            ra["Provider Business Practice Location Address Telephone Number"]
            == (rb["Provider Business Practice Location Address Telephone Number"])
        )
    # every tier, and the NPI-carrying counts the truth promises
    ev = pd.read_csv(out / FILE_NAMES["referrals"], dtype=str, keep_default_na=False)
    assert len(ev) == manifest.rows["referrals"] and ev["external_id"].is_unique
    assert ev["referral_date"].is_monotonic_increasing  # blocks merged in date order
    refs = truth["referrers"]
    assert {"A", "B", "C"} <= set(Counter(v["tier"] for v in refs.values()))
    window = ev[pd.to_datetime(ev["referral_date"]) > pd.Timestamp(AS_OF - timedelta(days=365))]
    by_npi_count = window[window["referrer_npi"] != ""]["referrer_npi"].value_counts()
    for npi, v in refs.items():
        assert by_npi_count.get(npi, 0) == v["count_365_npi"]
    listed = pd.DataFrame(truth["referrer_list"])
    assert listed.loc[listed["kind"] != "not_in_nppes", "npi"].isin(set(nppes["NPI"])).all()
    locations = pd.read_csv(out / FILE_NAMES["locations"], dtype={"npi": str})
    assert len(locations) == manifest.rows["locations"] and locations["npi"].is_unique


def test_block_arguments_are_checked(tmp_path):
    with pytest.raises(InputError) as info:
        generate_demo(
            tmp_path,
            providers=1_000_000,
            block_providers=50,
            nppes_batch=0,
            graph=object(),
            street_index=object(),
        )
    assert {p.field for p in info.value.problems} == {"block_providers", "nppes_batch"}
    assert not any(tmp_path.iterdir())
