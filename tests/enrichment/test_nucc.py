"""Tests of the NUCC taxonomy reader."""

from __future__ import annotations

import pytest

from core.errors import InputError, SchemaError
from enrichment.nucc import NUCC_COLUMNS, nucc_version, read_nucc
from tests.paths import FIXTURES

NUCC = FIXTURES / "nucc_taxonomy_220.csv"


@pytest.fixture(scope="module")
def nucc():
    return read_nucc(NUCC)


def test_reads_all_codes(nucc):
    assert len(nucc) == 868
    assert list(nucc.columns) == list(NUCC_COLUMNS)
    assert nucc["code"].is_unique


def test_known_code(nucc):
    row = nucc.set_index("code").loc["207RC0000X"]
    assert row["classification"] == "Internal Medicine"
    assert row["specialization"] == "Cardiovascular Disease"
    assert row["section"] == "Individual"
    top = nucc.set_index("code").loc["207R00000X"]
    assert top["specialization"] is None  # missing is None, not ""


def test_classifications_map(nucc):
    classes = nucc.set_index("code")["classification"]
    assert classes["207RH0003X"] == "Internal Medicine"
    assert classes["251G00000X"].startswith("Hospice Care")


def test_bom_stripped_and_crlf(tmp_path):
    data = NUCC.read_bytes()
    path = tmp_path / "nucc_taxonomy_230.csv"
    path.write_bytes(b"\xef\xbb\xbf" + data)
    assert len(read_nucc(path)) == 868


def test_wrong_header(tmp_path):
    path = tmp_path / "nucc_taxonomy_220.csv"
    path.write_text("Kode,Grouping,Classification,Definition,Extra\r\n", encoding="utf-8")
    with pytest.raises(SchemaError) as err:
        read_nucc(path)
    fields = {p.field for p in err.value.problems}
    assert fields == {"Code", "Specialization", "Kode", "Extra"}


def test_bad_code_rows_listed(tmp_path):
    path = tmp_path / "nucc_taxonomy_220.csv"
    path.write_text(
        "Code,Grouping,Classification,Specialization,Definition\r\n"
        "207R00000X,A,Internal Medicine,,d\r\nnot-a-code,A,B,,d\r\n207R00000X,A,B,,d\r\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        read_nucc(path)
    assert [(p.line, p.field) for p in err.value.problems] == [(3, "Code"), (4, "Code")]


@pytest.mark.parametrize(
    ("name", "version"), [("nucc_taxonomy_220.csv", "22.0"), ("a/nucc_taxonomy_251.csv", "25.1")]
)
def test_version(name, version):
    assert nucc_version(name) == version


def test_version_unknown():
    with pytest.raises(InputError):
        nucc_version("taxonomy.csv")
