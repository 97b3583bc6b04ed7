"""Tests of the synthetic Columbus demo-data generator (demo)."""

from __future__ import annotations

import csv
import filecmp
import re
from collections import Counter
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InputError
from core.identifiers import luhn_npi_valid, npi_check_digit
from core.settings import DEFAULT_VAR_DIR, REFERENCE_DIR
from core.text import normalize_street, split_address
from demo import FILE_NAMES, DemoManifest, generate_demo
from demo.addresses import abbreviate_street
from demo.npi import draw_npis
from demo.sites import edge_distance_km
from demo.specialties import nucc_codes
from geo.distance import haversine_km
from geo.geocode import StreetIndex, zip_centroid
from geo.roads import load_drive_graph
from tests.paths import FIXTURES

pytestmark = pytest.mark.slow  # starts servers or processes, or fuzzes: see README

DATA = FIXTURES
AS_OF = date(2026, 11, 1)
PROVIDERS = 300
DATE_RE = re.compile(r"^(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])/(20\d\d)$")


@pytest.fixture(scope="module")
def road():
    """Columbus drive graph (cached under var/cache after the first load) and its street index."""
    G = load_drive_graph(
        REFERENCE_DIR / "osm" / "columbus_oh_otp_2015.osm.bz2", cache_dir=DEFAULT_VAR_DIR / "cache"
    )
    return G, StreetIndex.from_graph(G)


@pytest.fixture(scope="module")
def demo(road, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    manifest = generate_demo(
        out, providers=PROVIDERS, seed=11, as_of=AS_OF, graph=road[0], street_index=road[1]
    )
    return out, manifest


@pytest.fixture(scope="module")
def nppes(demo):
    out, _ = demo
    return pd.read_csv(out / FILE_NAMES["nppes"], dtype=str, keep_default_na=False)


# --- NPI check digit -------------------------------------------------------------------------


def is_valid_npi(npi: str) -> bool:
    """What the generator promises of an NPI: ten digits, starting with 1 or 2, a valid check digit."""
    return npi[:1] in ("1", "2") and luhn_npi_valid(npi)


def test_check_digit_known_values():
    assert npi_check_digit("123456789") == "3"
    real = pd.read_csv(DATA / "npidata_pfile_sample_first10.csv", dtype=str, usecols=["NPI"])["NPI"]
    assert all(is_valid_npi(n) for n in real)
    assert not is_valid_npi("1234567890")
    with pytest.raises(ValueError):
        npi_check_digit("12345678")


@settings(max_examples=200, deadline=None)
@given(st.integers(100_000_000, 299_999_999), st.integers(0, 9), st.integers(1, 9))
def test_check_digit_catches_single_digit_errors(base, pos, delta):
    npi = f"{base}{npi_check_digit(str(base))}"
    assert is_valid_npi(npi)
    digits = list(npi)
    digits[pos] = str((int(digits[pos]) + delta) % 10)
    changed = "".join(digits)
    if changed[0] in "12":
        assert not is_valid_npi(changed)


def test_draw_npis_unique_and_valid():
    got = draw_npis(np.random.default_rng(3), 5000)
    assert len(set(got)) == 5000 and all(is_valid_npi(n) for n in got)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["NORTH", "SOUTH", "EAST", "WEST", ""]),
    st.text(alphabet="ABCDEFGHIJKLMNOPRSTUVWY", min_size=2, max_size=10),
    st.sampled_from(["STREET", "AVENUE", "ROAD", "DRIVE", "BOULEVARD", "LANE", "COURT", "PLACE"]),
)
def test_street_spellings_normalise_alike(direction, core, kind):
    street = " ".join(p for p in (direction, core, kind) if p)
    keys = {
        normalize_street(abbreviate_street(street, style=s)) for s in ("abbr", "suffix", "full")
    }
    assert keys == {normalize_street(street)}


# --- NPPES file --------------------------------------------------------------------------------


def test_nppes_header_and_quoting(demo):
    out, manifest = demo
    columns = (REFERENCE_DIR / "nppes_npidata_columns_v2024.txt").read_text().split("\n")
    columns = [c for c in columns if c]
    raw = (out / FILE_NAMES["nppes"]).read_text(encoding="utf-8").split("\n")
    assert raw[-1] == ""
    lines = raw[:-1]
    assert len(lines) == PROVIDERS + 1 == manifest.rows["nppes"] + 1
    assert next(csv.reader([lines[0]])) == columns and len(columns) == 330
    for line in lines:
        # every value quoted, none containing a quote: exactly 330 quoted fields
        assert line.startswith('"') and line.endswith('"')
        assert line.count('","') == 329 and line.count('"') == 660


def test_nppes_dates_npis_and_entities(nppes):
    date_cols = [
        "Provider Enumeration Date",
        "Last Update Date",
        "NPI Deactivation Date",
        "Certification Date",
    ]
    for col in date_cols:
        filled = nppes[col][nppes[col] != ""]
        assert len(filled) > 0 and filled.str.match(DATE_RE).all(), col
    assert nppes["NPI"].is_unique and nppes["NPI"].map(is_valid_npi).all()
    types = nppes["Entity Type Code"].value_counts()
    active = types["1"] + types["2"]
    assert 0.84 < types["1"] / active < 0.92
    enum = pd.to_datetime(nppes["Provider Enumeration Date"], format="%m/%d/%Y", errors="coerce")
    upd = pd.to_datetime(nppes["Last Update Date"], format="%m/%d/%Y", errors="coerce")
    ok = enum.notna()
    assert (enum[ok] <= upd[ok]).all() and (upd[ok] <= pd.Timestamp(AS_OF)).all()


def test_deactivated_rows_are_mostly_blank(nppes, demo):
    _, manifest = demo
    dead = nppes[nppes["NPI Deactivation Date"] != ""]
    assert 0.02 <= len(dead) / len(nppes) <= 0.05
    assert set(dead["NPI"]) == set(manifest.truth["deactivated"])
    assert (dead["Entity Type Code"] == "").all() and (
        dead["Provider Last Name (Legal Name)"] == ""
    ).all()
    assert dead["NPI Deactivation Reason Code"].isin(["DT", "DB", "FR", "OT"]).all()
    filled = (dead != "").sum(axis=1)
    assert (filled <= 4).all()
    repl = dead.loc[dead["Replacement NPI"] != "", "Replacement NPI"]
    assert len(repl) >= 1 and repl.isin(nppes["NPI"]).all()


def test_taxonomy_slots(nppes):
    active = nppes[nppes["Entity Type Code"] != ""]
    switches = active[[f"Healthcare Provider Primary Taxonomy Switch_{j}" for j in range(1, 16)]]
    assert ((switches == "Y").sum(axis=1) == 1).all()
    not_first = (switches.iloc[:, 0] != "Y").mean()
    assert 0.15 < not_first < 0.45
    known = nucc_codes(REFERENCE_DIR / "nucc_taxonomy_220.csv")
    codes = (
        active[[f"Healthcare Provider Taxonomy Code_{j}" for j in range(1, 4)]].to_numpy().ravel()
    )
    assert {c for c in codes if c} <= known
    ind = active[active["Entity Type Code"] == "1"]
    primary_lic_state = [
        r[f"Provider License Number State Code_{switches.columns.get_loc(c) + 1}"]
        for (_, r), c in zip(ind.iterrows(), (switches.loc[ind.index] == "Y").idxmax(axis=1))
    ]
    assert Counter(primary_lic_state)["OH"] == len(ind)
    assert ind["Provider Sex Code"].isin(["M", "F"]).all()
    phones = active["Provider Business Practice Location Address Telephone Number"]
    assert phones.str.match(r"^(614|380)\d{7}$").all()


def test_individuals_share_practice_addresses(nppes):
    ind = nppes[nppes["Entity Type Code"] == "1"]
    key = ind[
        [
            "Provider First Line Business Practice Location Address",
            "Provider Second Line Business Practice Location Address",
            "Provider Business Practice Location Address Telephone Number",
        ]
    ].agg("|".join, axis=1)
    sizes = key.value_counts()
    assert sizes.max() >= 5 and (sizes == 1).sum() >= 3  # group practices and solo practices


def test_addresses_geocode_back(nppes, demo, road):
    out, manifest = demo
    _, index = road
    truth = pd.read_csv(out / FILE_NAMES["locations"], dtype={"npi": str, "zip5": str})
    truth = truth.set_index("npi")
    rows = nppes[nppes["Entity Type Code"] != ""].sample(120, random_state=1)
    errors, zip_only = [], 0
    for _, r in rows.iterrows():
        number, street = split_address(r["Provider First Line Business Practice Location Address"])
        t = truth.loc[r["NPI"]]
        near = zip_centroid(r["Provider Business Practice Location Address Postal Code"])
        assert near is not None
        if t["zip_only"]:
            zip_only += 1
            assert street not in index
            continue
        got = index.locate(street, number, near=near)
        assert got is not None, street
        errors.append(haversine_km(got[0], got[1], t["lat"], t["lon"])[0] * 1000)
    assert max(errors) < 20.0
    assert set(manifest.truth["zip_only_npis"]) <= set(truth.index)
    assert 0 < len(manifest.truth["zip_only_npis"]) < 0.06 * PROVIDERS


# --- other files ------------------------------------------------------------------------------


def test_sites(demo, road):
    out, _ = demo
    sites = pd.read_csv(out / FILE_NAMES["sites"], dtype={"postal_code": str})
    assert list(sites.columns) == [
        "site_code",
        "name",
        "service_line",
        "address",
        "city",
        "state",
        "postal_code",
        "lat",
        "lon",
    ]
    assert len(sites) == 4 and sites["site_code"].is_unique
    for s in sites.itertuples():
        assert edge_distance_km(s.lat, s.lon) >= 6.0
        number, street = split_address(s.address)
        got = road[1].locate(street, number, near=zip_centroid(s.postal_code))
        assert haversine_km(got[0], got[1], s.lat, s.lon)[0] < 0.02


def test_referral_events_and_tiers(demo):
    out, manifest = demo
    ev = pd.read_csv(out / FILE_NAMES["referrals"], dtype=str, keep_default_na=False)
    assert list(ev.columns) == [
        "external_id",
        "referral_date",
        "referrer_npi",
        "referrer_name",
        "service_line",
        "site_code",
        "patient_ref",
    ]
    assert ev["external_id"].is_unique and ev["patient_ref"].str.match(r"^P[0-9a-f]{16}$").all()
    dates = pd.to_datetime(ev["referral_date"], format="%Y-%m-%d")
    assert dates.max() <= pd.Timestamp(AS_OF)
    assert dates.min() <= pd.Timestamp(AS_OF - timedelta(days=396))  # 13+ months of history
    text = (ev["referrer_npi"] == "").mean()
    assert 0.15 < text < 0.45
    refs = manifest.truth["referrers"]
    tiers = Counter(v["tier"] for v in refs.values())
    assert tiers["A"] >= 1 and tiers["B"] >= 1 and tiers["C"] >= 1
    window = ev[dates > pd.Timestamp(AS_OF - timedelta(days=365))]
    by_npi = window[window["referrer_npi"] != ""]["referrer_npi"].value_counts()
    for npi, v in refs.items():
        assert by_npi.get(npi, 0) == v["count_365_npi"]
    recent = set(ev.loc[dates > pd.Timestamp(AS_OF - timedelta(days=92)), "referrer_npi"])
    lapsed = [n for n, v in refs.items() if v["lapsed"]]
    assert lapsed and not recent & set(lapsed)
    n_ind = manifest.truth["counts"]["individuals"]
    assert 0.05 < len(refs) / n_ind < 0.12


def test_referrer_list(demo, nppes):
    out, manifest = demo
    table = pd.read_csv(out / FILE_NAMES["referrers"], dtype=str, keep_default_na=False)
    assert list(table.columns)[:3] == ["Referrer ID", "Referring Physician", "Specialty"]
    truth = pd.DataFrame(manifest.truth["referrer_list"])
    assert len(truth) == len(table) == manifest.rows["referrers"]
    assert {"referrer", "duplicate", "not_in_nppes"} <= set(truth["kind"])
    written = table["NPI"] != ""
    assert (table.loc[written, "NPI"].to_numpy() == truth.loc[written, "npi"].to_numpy()).all()
    assert 0.2 < 1 - written.mean() < 0.7
    assert table["Phone"].str.match(r"^(\(\d{3}\) \d{3}-\d{4}|\d{3}[-.]\d{3}[.-]\d{4})$").all()
    known = set(nppes["NPI"])
    assert truth.loc[truth["kind"] != "not_in_nppes", "npi"].isin(known).all()
    assert (truth.loc[truth["kind"] == "not_in_nppes", "npi"] == "").all()
    # names differ from the registry spelling (title case, not the NPPES upper case)
    assert not table["Referring Physician"].str.isupper().any()


def test_manifest_says_synthetic(demo):
    out, manifest = demo
    again = DemoManifest.read(out / FILE_NAMES["manifest"])
    assert again == manifest and again.synthetic is True and "SYNTHETIC" in again.note
    assert all("SYNTHETIC" in name for role, name in again.files.items())


def test_deterministic_and_seed_sensitive(road, tmp_path):
    G, index = road
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, 5), (b, 5), (c, 6)):
        generate_demo(out, providers=120, seed=seed, as_of=AS_OF, graph=G, street_index=index)
    names = sorted(FILE_NAMES.values())
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert match == names and not mismatch and not errors
    assert not filecmp.cmp(a / FILE_NAMES["nppes"], c / FILE_NAMES["nppes"], shallow=False)
    # sites come from their own random stream: same seed, same sites whatever the size
    assert filecmp.cmp(a / FILE_NAMES["sites"], b / FILE_NAMES["sites"], shallow=False)


def test_argument_validation(tmp_path):
    with pytest.raises(InputError) as info:
        generate_demo(tmp_path, providers=10, seed=-1, graph=object(), street_index=object())
    assert {p.field for p in info.value.problems} == {"providers", "seed"}
    with pytest.raises(InputError) as info:  # wrong types too, before anything is written
        generate_demo(tmp_path, providers="many", seed=True, as_of="2026-11-01")
    assert {p.field for p in info.value.problems} == {"providers", "seed", "as_of"}
    assert not any(tmp_path.iterdir())
