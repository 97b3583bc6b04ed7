"""Tests of the FINESS etalab reader on synthetic extractions (UTF-8 and Windows-1252)."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import EncodingError, SchemaError
from enrichment.finess import (
    OVERSEAS_DEPARTEMENTS,
    finess_crs,
    insee_commune_code,
    iter_finess,
    read_finess_header,
    to_wgs84,
)
from enrichment.records import SOURCE_RECORD_COLUMNS
from geo.distance import haversine_km
from tests.enrichment.readers import read_whole, rejected_lines
from tests.paths import FIXTURES

DATA = FIXTURES / "enrichment"
SAMPLE = DATA / "etalab-cs1100507-stock-sample.csv"
SAMPLE_CP1252 = DATA / "etalab-cs1100507-stock-sample-cp1252.csv"
KEYS = ["010000024", "030000012", "970100012", "2A0000014", "750000010"]

# GRS80, the ellipsoid of RGF93 and RGAF09.
_A = 6378137.0
_F = 1 / 298.257222101
_E2 = _F * (2 - _F)


def meridian_arc_m(lat_deg: float) -> float:
    """Meridian arc length from the equator, by numerical integration (independent of pyproj)."""
    phi = np.linspace(0.0, math.radians(lat_deg), 20001)
    integrand = _A * (1 - _E2) / (1 - _E2 * np.sin(phi) ** 2) ** 1.5
    return float(np.trapezoid(integrand, phi))


@pytest.fixture(scope="module")
def sample():
    return read_whole(iter_finess, SAMPLE)


def test_header_gives_extract_date_and_encoding():
    header = read_finess_header(SAMPLE)
    assert (header.number, header.extract_date, header.encoding) == (100, date(2024, 7, 1), "utf-8")
    assert read_finess_header(SAMPLE_CP1252).encoding == "cp1252"


def test_records_and_rejects(sample):
    assert list(sample.records.columns) == list(SOURCE_RECORD_COLUMNS)
    assert sample.records["source_key"].tolist() == KEYS
    assert sample.rows_read == 11
    assert set(sample.records["entity_type"]) == {"organization"}
    assert set(sample.records["source"]) == {"finess"}
    assert rejected_lines(sample) == [7, 12]
    by_line = {(p.line, p.field) for p in sample.rejects}
    assert by_line == {(7, "commune"), (7, "datemaj"), (12, "sourcecoordet")}


def test_first_establishment_fields(sample):
    r = sample.records.iloc[0]
    assert r.organization_name == "CENTRE HOSPITALIER DE BOURG-EN-BRESSE FLEYRIAT"
    assert r.specialty_text == "Centre Hospitalier (C.H.)"
    assert (r.address_1, r.address_2) == ("900 RTE DE PARIS", "CS 90401")
    assert (r.postal_code, r.city, r.phone) == ("01440", "VIRIAT", "+33474454647")
    assert r.identifiers["insee"] == "01451"
    assert r.identifiers["siret"] == "26010004500012"
    assert r.identifiers["finess_ej"] == "010780054"
    assert r.identifiers["categetab"] == "355"
    assert r.enumeration_date == date(1979, 2, 13) and r.last_update_date == date(2024, 5, 4)
    assert {"channel": "fax", "value": "+33474454114", "use": "work"} in r.contacts
    # the documented example point lands on Viriat (GeoNames 46.2548, 5.2157)
    assert haversine_km(r.lat, r.lon, 46.2548, 5.2157) < 5


def test_lambert93_false_origin_is_3e_46_5n(sample):
    # EPSG:2154: lat_0 = 46.5, lon_0 = 3, x_0 = 700000, y_0 = 6600000.
    r = sample.records.iloc[1]
    assert r.lat == pytest.approx(46.5, abs=1e-7) and r.lon == pytest.approx(3.0, abs=1e-7)
    assert r.address_1 == "10 B R DE LA GRAVIÈRE" and r.identifiers["insee"] == "03190"


def test_antilles_utm20n_point_on_central_meridian(sample):
    # UTM 20N: central meridian -63, k0 0.9996, x_0 500000; northing = k0 * meridian arc.
    northing = 1768935.376
    assert northing == pytest.approx(0.9996 * meridian_arc_m(16.0), abs=0.01)
    r = sample.records.iloc[2]
    assert r.lat == pytest.approx(16.0, abs=1e-6) and r.lon == pytest.approx(-63.0, abs=1e-9)
    assert r.identifiers["insee"] == "97120" and r.identifiers["departement"] == "971"
    assert (r.postal_code, r.city) == ("97159", "POINTE A PITRE CEDEX")
    assert r.organization_name.endswith("POINTE-À-PITRE / ABYMES")


def test_corsica_and_bad_crs_establishment(sample):
    corsica = sample.records.iloc[3]
    assert corsica.identifiers["insee"] == "2A004"
    assert haversine_km(corsica.lat, corsica.lon, 41.92, 8.74) < 5
    no_coords = sample.records.iloc[4]
    assert no_coords.lat is None and no_coords.lon is None


def test_cp1252_variant_decodes_to_the_same_records(sample):
    other = read_whole(iter_finess, SAMPLE_CP1252)
    assert other.records["record_hash"].tolist() == sample.records["record_hash"].tolist()
    assert other.records.iloc[3].organization_name == "CLINIQUE DE L'ŒIL AJACCIENNE"
    with pytest.raises(EncodingError):
        read_whole(iter_finess, SAMPLE_CP1252, encoding="utf-8")


def test_undecodable_file_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"finess;etalab;1;2024-01-01\nstructureet;\x81\x8d\xff\n")
    with pytest.raises(EncodingError) as info:
        read_whole(iter_finess, path)
    assert "utf-8" in str(info.value) and "cp1252" in str(info.value)


def test_bad_first_line_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("finess;other;x;2024-02-30\n", encoding="utf-8")
    with pytest.raises(SchemaError) as info:
        read_whole(iter_finess, path)
    assert {p.field for p in info.value.problems} == {"header", "number", "date"}


def test_orphan_and_duplicate_geolocations_rejected(tmp_path):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    geo = next(row for row in lines if row.startswith("geolocalisation;010000024"))
    path = tmp_path / "dup.csv"
    extra = [geo, geo.replace("010000024", "999999999")]
    path.write_text("\n".join(lines + extra) + "\n", encoding="utf-8")
    result = read_whole(iter_finess, path)
    assert rejected_lines(result) == [7, 12, 13, 14]
    assert result.records.iloc[0].lat == pytest.approx(46.2223, abs=1e-3)


def test_chunks_keep_global_lines():
    chunks = list(iter_finess(SAMPLE, chunk_rows=4))
    assert [c.rows_read for c in chunks] == [4, 4, 3]
    assert [k for c in chunks for k in c.records["source_key"]] == KEYS


def test_crs_parsing_and_transform_guards():
    assert finess_crs("1,ATLASANTE,96,BAN,EPSG:2154 RGF93 / Lambert-93 (Métropole)") == 2154
    assert finess_crs("EPSG:2975 RGR92 / UTM 40S (Réunion)") == 2975
    for bad in ("EPSG:9999", "BAN sans CRS", "EPSG:4326 WGS 84"):
        with pytest.raises(ValueError):
            finess_crs(bad)
    with pytest.raises(ValueError):
        to_wgs84(700000, 6600000, epsg=2975)  # a Lambert-93 point read as Réunion
    lat, lon = to_wgs84(500000, 10_000_000 - 0.9996 * meridian_arc_m(21.0), epsg=2975)
    assert lat == pytest.approx(-21.0, abs=1e-6) and lon == pytest.approx(57.0, abs=1e-9)


def test_insee_examples():
    assert insee_commune_code("01", "451") == "01451"
    assert insee_commune_code("9A", "101") == "97101"
    assert insee_commune_code("9D", "411") == "97411"
    assert insee_commune_code("2B", "033") == "2B033"
    for dept, commune in (("20", "004"), ("96", "001"), ("9G", "101"), ("01", "45"), ("01", "4a1")):
        with pytest.raises(ValueError):
            insee_commune_code(dept, commune)


_MAINLAND = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"]


@given(
    st.sampled_from(_MAINLAND + sorted(OVERSEAS_DEPARTEMENTS)),
    st.integers(min_value=0, max_value=999),
)
def test_insee_derivation_is_total_for_valid_codes(dept, number):
    commune = f"{number:03d}"
    code = insee_commune_code(dept, commune)
    assert len(code) == 5 and code.endswith(commune[1:])
    if dept in OVERSEAS_DEPARTEMENTS:
        assert code == "97" + commune
        assert code.startswith("97")
    else:
        assert code == dept + commune
