"""Tests of the Annuaire Santé (RPPS) reader on synthetic files in the documented layout."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InputError, SchemaError
from core.text import header_key
from enrichment.records import SOURCE_RECORD_COLUMNS
from enrichment.rpps import (
    RPPS_COLUMNS,
    iter_rpps,
    parse_rpps_row,
)
from tests.enrichment.readers import read_whole, rejected_lines
from tests.paths import FIXTURES

DATA = FIXTURES / "enrichment"
SAMPLE = DATA / "PS_LibreAcces_Personne_activite_sample.txt"
REORDERED = DATA / "PS_LibreAcces_Personne_activite_reordered.txt"
NO_SAVOIR_FAIRE = DATA / "PS_LibreAcces_Personne_activite_no_savoirfaire.txt"
KEYS = [
    "810000000017:R10000000017001",
    "810000000017:26750045200011",
    "810000000025:none",
    "810000000033:26690027400017",
]


@pytest.fixture(scope="module")
def sample():
    return read_whole(iter_rpps, SAMPLE)


def test_documented_layout_has_56_columns():
    assert len(RPPS_COLUMNS) == 56
    header = SAMPLE.read_text(encoding="utf-8").splitlines()[0]
    assert header.endswith("|") and header.split("|")[:-1] == list(RPPS_COLUMNS)


def test_one_record_per_practitioner_and_structure(sample):
    assert list(sample.records.columns) == list(SOURCE_RECORD_COLUMNS)
    assert sample.records["source_key"].tolist() == KEYS
    assert sample.rows_read == 6
    # line 4 repeats line 2's practitioner and structure: skipped, not rejected
    assert sample.records["line"].tolist() == [2, 3, 5, 7]
    assert set(sample.records["source"]) == {"rpps"}
    assert set(sample.records["entity_type"]) == {"individual"}
    assert set(sample.records["country"]) == {"FR"}


def test_bad_line_is_rejected_with_every_problem(sample):
    assert rejected_lines(sample) == [6]
    fields = {p.field for p in sample.rejects}
    assert fields == {
        "Identification nationale PP",
        "Nom d'exercice",
        "Adresse e-mail (coord. structure)",
    }
    assert all(p.file == SAMPLE.name for p in sample.rejects)


def test_first_record_fields(sample):
    r = sample.records.iloc[0]
    assert (r.name_prefix, r.first_name, r.last_name, r.gender) == (
        "Docteur",
        "Marie",
        "DUPONT",
        "F",
    )
    assert r.specialty_text == "Médecine Générale"
    assert r.organization_name == "CABINET DU DR DUPONT"
    assert (r.address_1, r.address_2) == ("12 B Rue de la Paix", "Bâtiment A")
    assert (r.postal_code, r.city, r.phone) == ("75002", "Paris", "+33142600000")
    assert r.identifiers["rpps"] == "10000000017"
    assert r.identifiers["profession"] == "10"
    assert r.identifiers["savoir_faire"] == "SM54"
    assert r.identifiers["mode_exercice"] == "L"
    assert r.identifiers["insee"] == "75102"
    assert {"channel": "email", "value": "m.dupont@example.fr", "use": "work"} in r.contacts
    assert {"channel": "fax", "value": "+33142600001", "use": "work"} in r.contacts
    assert r.npi is None and r.lat is None


def test_structure_identifiers_and_fallback_key(sample):
    hospital = sample.records.iloc[1]
    assert hospital.identifiers["siret"] == "26750045200011"
    assert hospital.identifiers["siren"] == "267500452"
    assert hospital.identifiers["finess"] == "750100042"
    assert hospital.identifiers["finess_ej"] == "750712184"
    assert hospital.phone == "+33149282000"
    nurse = sample.records.iloc[2]
    assert nurse.specialty_text == "Infirmier" and nurse.organization_name is None
    assert nurse.phone == "+33612345678" and nurse.gender == "M"
    lyon = sample.records.iloc[3]
    assert lyon.specialty_text == "Cardiologie et maladies vasculaires"
    assert lyon.city == "LYON CEDEX 02" and lyon.address_2 == "BP 2251"
    assert lyon.last_name == "LEFÈVRE"


def test_reordered_columns_with_extra_column_give_the_same_records(sample):
    other = read_whole(iter_rpps, REORDERED)
    assert other.records["record_hash"].tolist() == sample.records["record_hash"].tolist()
    assert rejected_lines(other) == rejected_lines(sample)


def test_absent_savoir_faire_columns_fall_back_to_profession(sample):
    other = read_whole(iter_rpps, NO_SAVOIR_FAIRE)
    assert other.records["source_key"].tolist() == KEYS
    assert other.records["specialty_text"].tolist() == [
        "Médecin",
        "Médecin",
        "Infirmier",
        "Médecin",
    ]
    assert "savoir_faire" not in other.records.iloc[0].identifiers
    assert other.records["first_name"].tolist() == sample.records["first_name"].tolist()


def test_missing_required_columns_listed(tmp_path):
    cols = [c for c in RPPS_COLUMNS if c not in ("Nom d'exercice", "Code profession")]
    path = tmp_path / "bad.txt"
    path.write_text("|".join(cols) + "|\n" + "|" * len(cols) + "\n", encoding="utf-8")
    with pytest.raises(SchemaError) as info:
        read_whole(iter_rpps, path)
    assert {p.field for p in info.value.problems} == {"Nom d'exercice", "Code profession"}
    assert all(p.line == 1 for p in info.value.problems)


def test_wrong_field_count_rejected(tmp_path):
    text = SAMPLE.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "short.txt"
    path.write_text("\n".join([text[0], text[1], "a|b|c|"]) + "\n", encoding="utf-8")
    result = read_whole(iter_rpps, path)
    assert len(result.records) == 1 and rejected_lines(result) == [3]


def test_chunks_keep_global_lines():
    chunks = list(iter_rpps(SAMPLE, chunk_rows=2))
    assert [c.rows_read for c in chunks] == [2, 2, 2]
    assert [line for c in chunks for line in c.records["line"]] == [2, 3, 5, 7]
    with pytest.raises(InputError) as info:
        next(iter_rpps(SAMPLE, chunk_rows="2"))  # type: ignore[arg-type]
    assert [p.field for p in info.value.problems] == ["chunk_rows"]


def test_parse_row_from_mapping():
    record, problems = parse_rpps_row(
        {
            "Identification nationale PP": "810000000041",
            "Nom d'exercice": "ROUX",
            "Code profession": "10",
            "Libellé profession": "Médecin",
        },
        line=9,
    )
    assert problems == [] and record["source_key"] == "810000000041:none"
    assert record["first_name"] is None and record["specialty_text"] == "Médecin"


@given(st.sampled_from(RPPS_COLUMNS), st.sampled_from(["upper", "lower", "ascii"]))
def test_fold_header_ignores_case_and_accents(column, variant):
    import unicodedata

    changed = {
        "upper": column.upper(),
        "lower": column.lower(),
        "ascii": "".join(
            c for c in unicodedata.normalize("NFKD", column) if not unicodedata.combining(c)
        ),
    }[variant]
    assert header_key(changed, compact=True) == header_key(column, compact=True)
