"""prm dedupe's generic fields: date of birth, identifiers (hard and soft), street number,
extra columns; and their mapping's validation."""

from __future__ import annotations

import pandas as pd
import pytest

from core.errors import InputError
from enrichment.dedupe import dedupe_files
from enrichment.dedupe_mapping import read_mapping
from enrichment.link_settings import LinkSettings


def _dedupe(tmp_path, rows: str, mapping: str) -> tuple[dict, pd.DataFrame, pd.Series]:
    src = tmp_path / "people.csv"
    src.write_text(rows, encoding="utf-8")
    path = tmp_path / "map.toml"
    path.write_text(mapping, encoding="utf-8")
    report = dedupe_files(
        [src], mapping=read_mapping(path), settings=LinkSettings.default(), out_dir=tmp_path / "o"
    )
    pairs = pd.read_csv(report["outputs"]["pairs"], dtype=str).set_index(["left_id", "right_id"])
    clusters = pd.read_csv(report["outputs"]["clusters"], dtype=str).set_index("record_id")
    return report, pairs, clusters["cluster_id"]


DOB_ROWS = """rec,first,last,dob,zip
a,Anna,Kowalska,1980-03-04,2000
b,Anna,Kowalska,1980-03-04,2000
c,Anna,Kowalska,1980-04-03,2000
d,Anna,Kowalska,1981-03-04,2000
e,Anna,Kowalska,1980-11-22,2000
"""
DOB_MAP = (
    'id = "rec"\n[columns]\nfirst_name = "first"\nlast_name = "last"\n'
    'date_of_birth = "dob"\npostal_code = "zip"\n'
)


def test_date_of_birth_levels(tmp_path):
    _, pairs, _ = _dedupe(tmp_path, DOB_ROWS, DOB_MAP)
    level = pairs["level_date_of_birth"].astype(int)
    # levels in linking.toml order: exact, day_month_swapped, one_typo, same_year, else
    assert level[("a", "b")] == 0
    assert level[("a", "c")] == 1
    assert level[("a", "d")] == 2  # 1980 -> 1981: one digit
    assert level[("a", "e")] == 3  # same year only
    assert float(pairs.loc[("a", "b"), "match_probability"]) > float(
        pairs.loc[("a", "e"), "match_probability"]
    )


def test_dates_in_another_format_are_detected_and_ambiguity_warned(tmp_path):
    rows = DOB_ROWS.replace("1980-03-04", "04/03/1980").replace("1980-04-03", "03/04/1980")
    rows = rows.replace("1981-03-04", "04/03/1981").replace("1980-11-22", "22/11/1980")
    _, pairs, _ = _dedupe(tmp_path, rows, DOB_MAP)
    assert int(pairs.loc[("a", "b"), "level_date_of_birth"]) == 0
    ambiguous = "a,Ann,Lee,01/02/1980,3000\nb,Ann,Lee,01/02/1980,3000\n"
    report, _, _ = _dedupe(tmp_path, "rec,first,last,dob,zip\n" + ambiguous, DOB_MAP)
    assert any("day-first and month-first" in w for w in report["warnings"])


SOFT_ROWS = """rec,first,last,ssn,zip
a,John,Smith,123456789,4000
b,John,Smith,123456798,4000
c,Jon,Smyth,123456789,5000
d,Mary,Brown,987654321,6000
"""
SOFT_MAP = (
    'id = "rec"\n[columns]\nfirst_name = "first"\nlast_name = "last"\npostal_code = "zip"\n'
    '[identifiers.ssn]\ncolumn = "ssn"\nkind = "soft"\n'
)


def test_a_soft_identifier_tolerates_a_typo(tmp_path):
    _, pairs, _ = _dedupe(tmp_path, SOFT_ROWS, SOFT_MAP)
    level = pairs["level_id_ssn"].astype(int)
    assert level[("a", "b")] == 1  # found by the names; two digits swapped: one typo
    assert level[("a", "c")] == 0  # other names and ZIP: found by the identifier itself
    assert pairs.loc[("a", "c"), "blocking_rule"] == "same_ssn"
    assert ("a", "d") not in pairs.index


def test_hard_identifiers_are_never_joined_even_through_another_record(tmp_path):
    rows = """rec,first,last,zip,addr,ssn
a,Maria,Garcia,2000,1 High St,111
b,Maria,Garcia,2000,1 High St,
c,Maria,Garcia,2000,1 High St,222
"""
    mapping = (
        'id = "rec"\n[columns]\nfirst_name = "first"\nlast_name = "last"\npostal_code = "zip"\n'
        'address_1 = "addr"\n[identifiers.ssn]\ncolumn = "ssn"\nkind = "hard"\n'
    )
    _, _, clusters = _dedupe(tmp_path, rows, mapping)
    assert clusters["a"] != clusters["c"]


def test_street_number_and_extra_columns(tmp_path):
    rows = """rec,first,last,no,street,zip,email
a,Lea,Martin,12,Rue de la Paix,75002,lea@example.org
b,Lea,Martin,12,rue de la paix,75002,LEA@example.org
c,Lea,Martin,14,Rue de la Paix,75002,other@example.org
"""
    mapping = (
        'id = "rec"\ncountry = "FR"\n[columns]\nfirst_name = "first"\nlast_name = "last"\n'
        'street_number = "no"\naddress_1 = "street"\npostal_code = "zip"\n'
        '[extra.email]\ncolumn = "email"\ncomparison = "exact"\n'
    )
    _, pairs, _ = _dedupe(tmp_path, rows, mapping)
    assert pairs.loc[("a", "b"), ["level_location", "level_x_email"]].astype(int).tolist() == [0, 0]
    assert int(pairs.loc[("a", "c"), "level_x_email"]) == 1  # else
    assert int(pairs.loc[("a", "c"), "level_location"]) > 0  # another house


def test_mapping_declarations_are_checked_all_at_once(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[columns]\nfirst_name = "f"\n'
        '[identifiers.ssn]\ncolumn = "s"\nkind = "fuzzy"\n'
        '[identifiers.npi]\ncolumn = "n"\n'
        '[identifiers.Bad-Name]\ncolumn = "b"\n'
        '[extra.email]\ncomparison = "exact"\n'
        '[formats]\nphone = "%d"\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        read_mapping(bad)
    assert {p.field for p in err.value.problems} == {
        "identifiers.ssn",
        "identifiers.npi",
        "identifiers.Bad-Name",
        "extra.email",
        "formats.phone",
    }


def test_explanations_cover_the_generic_fields(tmp_path):
    from enrichment.dedupe import read_inputs
    from enrichment.dedupe_mapping import settings_for_mapping
    from enrichment.linker import link_records

    src = tmp_path / "people.csv"
    src.write_text(SOFT_ROWS, encoding="utf-8")
    path = tmp_path / "map.toml"
    path.write_text(SOFT_MAP, encoding="utf-8")
    mapping = read_mapping(path)
    frame, _ = read_inputs([src], mapping)
    result = link_records(frame, settings=settings_for_mapping(LinkSettings.default(), mapping))
    pairs = result.pairs.reset_index(drop=True)
    row = int(pairs.index[(pairs["left_pos"] == 0) & (pairs["right_pos"] == 1)][0])
    steps = {s["comparison"]: s for s in result.explain(row)["steps"]}
    assert steps["id_ssn"]["level"] == "one_edit"
    assert steps["date_of_birth"]["level"] == "null"  # not in this file: weight 0
    total = sum(s["weight"] for s in steps.values())
    assert abs(total - result.explain(row)["match_weight"]) < 1e-6


def test_date_of_birth_and_initials_in_either_order_find_a_swap_with_a_typo(tmp_path):
    rows = "rec,first,last,dob,zip\na,John,Smith,1970-05-06,2000\nb,Smiht,John,1970-05-06,3999\n"
    _, pairs, _ = _dedupe(tmp_path, rows, DOB_MAP)
    assert pairs.loc[("a", "b"), "blocking_rule"] == "dob_initials_either_order"
    assert int(pairs.loc[("a", "b"), "level_first_name"]) == 2  # swapped (with a typo)
