"""Tests of the dissemination-zip reader, built in a tmp dir from the 10 real NPPES rows."""

from __future__ import annotations

import csv
import io
import stat
import zipfile
from pathlib import Path

import pytest

from core.errors import EncodingError, InputError
from enrichment.nppes import iter_nppes
from enrichment.nppes_zip import RATIO_FLOOR_BYTES, open_nppes_zip
from tests.enrichment.readers import combine_results, parse_row
from tests.paths import FIXTURES

DATA = FIXTURES
HERE = FIXTURES / "enrichment"
SAMPLE = DATA / "npidata_pfile_sample_first10_v2024layout.csv"
SPAN = "20050523-20240107"
MAIN = f"npidata_pfile_{SPAN}.csv"
COMPANIONS = {
    "othername": f"othername_pfile_{SPAN}.csv",
    "pl": f"pl_pfile_{SPAN}.csv",
    "endpoint": f"endpoint_pfile_{SPAN}.csv",
}


def _header_line(data: bytes) -> bytes:
    return data.split(b"\n", 1)[0] + b"\n"


def build_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def monthly_members(main: bytes | None = None) -> dict[str, bytes]:
    main = SAMPLE.read_bytes() if main is None else main
    members = {MAIN: main, MAIN.replace(".csv", "_FileHeader.csv"): _header_line(main)}
    for name in COMPANIONS.values():
        data = (HERE / name).read_bytes()
        members[name] = data
        members[name.replace(".csv", "_FileHeader.csv")] = _header_line(data)
    members["NPPES_Data_Dissemination_Readme.pdf"] = b"%PDF-1.4 synthetic readme\n"
    return members


@pytest.fixture(scope="module")
def monthly(tmp_path_factory) -> Path:
    return build_zip(
        tmp_path_factory.mktemp("z") / "NPPES_Data_Dissemination_January_2024.zip",
        monthly_members(),
    )


@pytest.fixture(scope="module")
def reference():
    return combine_results(iter_nppes(SAMPLE))


def test_members_by_role(monthly):
    z = open_nppes_zip(monthly)
    assert z.members == {"main": MAIN, **COMPANIONS}
    assert len(z.headers) == 4 and all(h.endswith("_FileHeader.csv") for h in z.headers)
    assert z.others == ("NPPES_Data_Dissemination_Readme.pdf",)


def test_zip_reads_identically_to_csv(monthly, reference):
    result = combine_results(open_nppes_zip(monthly).iter_main(chunk_rows=50))
    assert result.rejects == [] and result.rows_read == 10
    assert result.records.equals(reference.records)


def test_zip_chunks_have_global_lines(monthly):
    seen = []
    chunks = list(
        open_nppes_zip(monthly).iter_main(4, progress=lambda s, d, t: seen.append((s, d)))
    )
    assert [c.rows_read for c in chunks] == [4, 4, 2]
    assert chunks[0].records["line"].tolist() == [2, 3, 4, 5]
    assert chunks[2].records["line"].tolist() == [10, 11]
    assert seen == [("nppes", 4), ("nppes", 8), ("nppes", 10)]


def test_rejects_name_the_member(tmp_path):
    lines = SAMPLE.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b'"1588667638"', b'"1588667630"', 1)
    z = open_nppes_zip(build_zip(tmp_path / "w.zip", {MAIN: b"\n".join(lines)}))
    result = combine_results(z.iter_main(3))
    assert [(p.file, p.line, p.field) for p in result.rejects] == [(MAIN, 3, "NPI")]
    assert result.rows_read == 10 and len(result.records) == 9


def test_weekly_zip_without_companions(tmp_path):
    weekly = "npidata_pfile_20240101-20240107.csv"
    z = open_nppes_zip(build_zip(tmp_path / "weekly.zip", {weekly: SAMPLE.read_bytes()}))
    assert z.members == {"main": weekly}
    assert len(combine_results(z.iter_main()).records) == 10
    empty = z.read_companion("pl")
    assert empty.rows_read == 0 and empty.records.empty and "postal_code" in empty.records


def test_companions_read_from_zip(monthly):
    z = open_nppes_zip(monthly)
    endpoints = z.read_companion("endpoint", npis={"1588667638"})
    assert endpoints.records["channel"].tolist() == ["direct"]
    names = z.read_companion("othername")
    assert {p.file for p in names.rejects} == {COMPANIONS["othername"]}


def test_encoding_error_names_member_and_line(tmp_path):
    data = SAMPLE.read_bytes().replace(b"PILCHER", "PILCH\u00c9R".encode(), 1)
    data = data.replace(b"SMITSON", b"SMITS\xd6N", 1)  # UTF-8 text, then a Latin-1 byte
    z = open_nppes_zip(build_zip(tmp_path / "latin.zip", {MAIN: data}))
    with pytest.raises(EncodingError) as err:
        list(z.iter_main())
    (problem,) = err.value.problems
    assert (problem.file, problem.line, problem.value) == (MAIN, 5, "d6")
    latin = SAMPLE.read_bytes().replace(b"PILCHER", b"PILCH\xc9R", 1)
    z = open_nppes_zip(build_zip(tmp_path / "latin1.zip", {MAIN: latin}))
    ok = combine_results(z.iter_main(encoding="latin-1"))
    assert "PILCHÉR" in ok.records["last_name"].tolist()
    detected = combine_results(z.iter_main())  # Latin-1 after ASCII only: read as cp1252
    assert "PILCHÉR" in detected.records["last_name"].tolist()
    assert [w.code for w in detected.warnings] == ["encoding_detected"]


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["../evil.csv", "/etc/evil.csv", "sub/../../evil.csv", "C:/evil.csv"]
)
def test_unsafe_member_names_refused(tmp_path, bad):
    path = build_zip(tmp_path / "unsafe.zip", {**monthly_members(), bad: b"x"})
    with pytest.raises(InputError) as err:
        open_nppes_zip(path)
    assert [p.field for p in err.value.problems] == [bad]
    assert bad in str(err.value)


def test_symlink_member_refused(tmp_path):
    path = tmp_path / "link.zip"
    build_zip(path, monthly_members())
    info = zipfile.ZipInfo("npidata_link.csv")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(InputError) as err:
        open_nppes_zip(path)
    (problem,) = err.value.problems
    assert problem.field == "npidata_link.csv" and "symbolic link" in problem.message


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    zeros = b"0" * (4 * RATIO_FLOOR_BYTES)
    members = {**monthly_members(), f"othername_pfile_{SPAN}_bomb.txt": zeros}
    return build_zip(tmp_path_factory.mktemp("b") / "bomb.zip", members)


def test_zip_bomb_refused_with_member_named(bomb):
    with pytest.raises(InputError) as err:
        open_nppes_zip(bomb)
    (problem,) = err.value.problems
    assert problem.field == f"othername_pfile_{SPAN}_bomb.txt"
    assert "compression ratio" in problem.message


def test_ratio_and_total_limits_are_configurable(bomb):
    z = open_nppes_zip(bomb, max_ratio=100_000)  # the same archive passes a laxer ratio
    assert f"othername_pfile_{SPAN}_bomb.txt" in z.others
    with pytest.raises(InputError) as err:
        open_nppes_zip(bomb, max_ratio=100_000, max_total_bytes=RATIO_FLOOR_BYTES)
    assert "total uncompressed size" in err.value.problems[0].message


def test_small_compressible_member_not_ratio_checked(tmp_path):
    path = build_zip(tmp_path / "small.zip", {**monthly_members(), "blank.txt": b" " * 100_000})
    assert "blank.txt" in open_nppes_zip(path).others


def test_zip_without_main_member_lists_contents(tmp_path):
    members = {k: v for k, v in monthly_members().items() if not k.startswith("npidata_pfile_2")}
    members[MAIN.replace(".csv", "_FileHeader.csv")] = b'"NPI"\n'
    with pytest.raises(InputError) as err:
        open_nppes_zip(build_zip(tmp_path / "nomain.zip", members))
    (problem,) = err.value.problems
    assert "no npidata_pfile" in problem.message
    assert COMPANIONS["pl"] in problem.message and "Readme.pdf" in problem.message


def test_two_main_members_refused(tmp_path):
    members = {**monthly_members(), "npidata_pfile_20240101-20240107.csv": b"x"}
    with pytest.raises(InputError, match="several main members"):
        open_nppes_zip(build_zip(tmp_path / "two.zip", members))


def test_not_a_zip(tmp_path):
    path = tmp_path / "fake.zip"
    path.write_bytes(b"PK not really")
    with pytest.raises(InputError, match="not a zip"):
        open_nppes_zip(path)
    with pytest.raises(InputError):
        open_nppes_zip(tmp_path / "missing.zip")


def test_limits_must_be_positive_finite_numbers(tmp_path):
    # NaN compared false with 0 and switched the zip-bomb ratio check off
    with pytest.raises(InputError) as info:
        open_nppes_zip(tmp_path / "x.zip", max_ratio=float("nan"), max_total_bytes=True)
    assert [p.field for p in info.value.problems] == ["max_ratio", "max_total_bytes"]


# --- iter_nppes on streams and the new record fields -----------------------------------------


def test_iter_nppes_accepts_text_and_binary_streams(reference):
    text = SAMPLE.read_text(encoding="utf-8")
    from_text = combine_results(iter_nppes(io.StringIO(text, newline=""), name="t.csv"))
    from_bytes = combine_results(iter_nppes(io.BytesIO(b"\xef\xbb\xbf" + text.encode())))
    assert from_text.records.equals(reference.records)
    assert from_bytes.records.equals(reference.records)
    with pytest.raises(InputError, match="empty"):
        list(iter_nppes(io.BytesIO(b"\r\n  \r\n"), name="blank.csv"))
    with pytest.raises(TypeError):
        list(iter_nppes(42))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with SAMPLE.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_country_and_identifiers(reference, rows):
    rec = reference.records.set_index("npi")
    assert set(rec["country"]) == {"US"}
    ids = rec.loc["1497758544", "identifiers"]
    assert "ein" not in ids  # <UNAVAIL>
    assert ids["other"][0] == {
        "identifier": "3401562",
        "type_code": "05",
        "state": "NC",
        "issuer": None,
    }
    assert ids["other_names"] == [
        {"name": "CAPE FEAR VALLEY HOME HEALTH AND HOSPICE", "type_code": "3"}
    ]
    assert rec.loc["1841293990", "identifiers"] == {
        "other": [
            {"identifier": "M72081", "type_code": "04", "state": "NY", "issuer": "PROVIDER NUMBER"}
        ]
    }
    row = dict(rows[1], **{"Employer Identification Number (EIN)": "_________"})
    for slot in range(1, 51):
        row[f"Other Provider Identifier_{slot}"] = ""
    record, _ = parse_row(row, line=2)
    assert record["identifiers"] is None  # masked EIN dropped, nothing else
    record, _ = parse_row(
        dict(row, **{"Employer Identification Number (EIN)": "59-1234567"}), line=2
    )
    assert record["identifiers"] == {"ein": "59-1234567"}


def test_foreign_practice_country_keeps_postal_code(rows):
    country = "Provider Business Practice Location Address Country Code (If outside U.S.)"
    postal = "Provider Business Practice Location Address Postal Code"
    record, problems = parse_row(dict(rows[0], **{country: "de", postal: "10115"}), line=2)
    assert problems == [] and record["country"] == "DE" and record["postal_code"] == "10115"
    # one the golden record's postal_code column cannot hold is refused, not stored to fail the link stage
    record, problems = parse_row(dict(rows[0], **{country: "ca", postal: "M5V 2T6"}), line=2)
    assert record is None and [(p.field, p.value) for p in problems] == [(postal, "M5V 2T6")]
    record, _ = parse_row(dict(rows[0], **{country: ""}), line=2)
    assert record["country"] == "US"


def test_corrupt_member_is_input_error_naming_it(tmp_path):
    path = tmp_path / "crc.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(MAIN, SAMPLE.read_bytes())
    raw = bytearray(path.read_bytes())
    at = raw.index(b"PILCHER")
    raw[at : at + 7] = b"PILCHEX"  # same length, wrong CRC
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError) as err:
        list(open_nppes_zip(path).iter_main())
    assert err.value.problems[0].file == MAIN and "corrupt" in str(err.value)
