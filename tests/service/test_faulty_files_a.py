"""Registry and clinic files as they really come: each faulty file of ``tests/fixtures/faulty``
loaded through the real ingest path on both backends (see the README there).

A refused load names the file, the line and the field, changes no stored row (checksums of
every data table's contents, not counts) and writes the reject file of the rows it rejected;
a load that goes through names what it should not pass unseen in a warning of its class.
"""

from __future__ import annotations

import csv
import hashlib
import io

import pytest
from sqlalchemy import select

from core.errors import EncodingError, InputError, RejectLimitError, SchemaError, ServiceError
from data.models import Base, LoadBatch, SourceRecord
from service.ingest.uploads import load_file
from tests.paths import FIXTURES

FAULTY = FIXTURES / "faulty"


def checksums(ctx) -> dict[str, str]:
    """SHA-256 of every row of every data table (by primary key), per table.

    ``load_batches`` is left out: a refused load is recorded there as failed, by design.
    """
    out = {}
    with ctx.engine.connect() as conn:
        for name, table in sorted(Base.metadata.tables.items()):
            if name == "load_batches":
                continue
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[name] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
    return out


@pytest.fixture
def loaded(ctx, tmp_path):
    """A database holding a registry file and a site, and its checksums."""
    load_file(ctx, "nppes", FAULTY / "nppes_good.csv")
    site = tmp_path / "sites.csv"  # the title file's table alone
    lines = (FAULTY / "sites_title_above.csv").read_text(encoding="utf-8").splitlines()
    site.write_text("\n".join(lines[2:]) + "\n", encoding="utf-8")
    load_file(ctx, "sites", site)
    return checksums(ctx)


def refused(ctx, kind: str, name: str, error: type[ServiceError], **options) -> ServiceError:
    """Load a faulty file that must be refused; the error (its problems name file and line)."""
    with pytest.raises(error) as info:
        load_file(ctx, kind, FAULTY / name, **options)
    assert info.value.problems, info.value
    for problem in info.value.problems:
        assert problem.file == name and problem.line is not None and problem.field, problem
    return info.value


def last_batch(ctx) -> LoadBatch:
    with ctx.sessions() as s:
        return s.scalars(select(LoadBatch).order_by(LoadBatch.id.desc()).limit(1)).one()


def tolerant(ctx, rate: float = 0.9) -> None:
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"max_reject_rate": rate}))


# -- item 1: a refused batch writes its reject file -----------------------------------------------


def test_a_refused_batch_writes_its_reject_file_and_changes_nothing(ctx, loaded, tmp_path) -> None:
    rejects = tmp_path / "rejected"
    error = refused(
        ctx, "nppes", "nppes_one_bad_row.csv", RejectLimitError, reject_dir=rejects
    )  # 1 row of 4 rejected: above the 5% limit
    (problem,) = error.problems
    assert (problem.line, problem.field) == (3, "Provider Enumeration Date")
    assert checksums(ctx) == loaded
    (written,) = rejects.iterdir()
    assert str(written) in error.detail  # the error (the CLI's, the API's) says where
    rows = list(csv.reader(io.StringIO(written.read_text(encoding="utf-8"))))
    assert rows == [
        ["file", "line", "field", "value", "message"],
        ["nppes_one_bad_row.csv", "3", "Provider Enumeration Date", "13/45/2005", problem.message],
    ]
    batch = last_batch(ctx)
    assert batch.status == "failed" and batch.report["reject_file"] == str(written)


def test_referrer_rows_with_no_name_and_no_npi_are_rejected(ctx, loaded, tmp_path) -> None:
    name = "referrers_no_name_no_npi.csv"
    error = refused(ctx, "referrers", name, RejectLimitError, reject_dir=tmp_path / "r")
    assert [(p.line, p.field) for p in error.problems] == [
        (3, "Referring Physician"),
        (5, "Referring Physician"),
    ]
    assert all("no name and no NPI" in p.message for p in error.problems)
    assert checksums(ctx) == loaded
    assert len(list((tmp_path / "r").iterdir())) == 1
    tolerant(ctx)
    report = load_file(ctx, "referrers", FAULTY / name, reject_dir=tmp_path / "r")
    assert (report.inserted, report.rejected) == (2, 2)  # a name; an NPI alone
    with ctx.sessions() as s:
        kept = s.scalars(select(SourceRecord).where(SourceRecord.source == "referrer_list")).all()
    assert sorted((r.data["last_name"] or "", r.npi or "") for r in kept) == [
        ("", "1999900024"),
        ("Quillfeather", ""),
    ]


# -- item 2: encodings and delimiters --------------------------------------------------------------


def test_a_utf16_registry_loads_and_says_how_it_was_read(ctx, loaded) -> None:
    report = load_file(ctx, "nppes", FAULTY / "nppes_utf16.csv")
    assert (report.rows_read, report.updated, report.unchanged, report.rejected) == (4, 1, 3, 0)
    assert [w.code for w in report.warnings] == ["encoding_detected"]
    assert "UTF-16 (little-endian), by its byte-order mark" in report.warnings[0].message
    with ctx.sessions() as s:
        names = {r.data["first_name"] for r in s.scalars(select(SourceRecord))}
    assert "JOSÉ" in names
    assert last_batch(ctx).warnings[0]["code"] == "encoding_detected"  # kept with the batch
    named = load_file(ctx, "nppes", FAULTY / "nppes_utf16.csv", encoding="utf-16")
    assert named.unchanged == 4 and named.warnings == []  # named: nothing to warn of


def test_a_windows_1252_registry_loads_with_a_warning(ctx, loaded) -> None:
    report = load_file(ctx, "nppes", FAULTY / "nppes_cp1252.csv")
    assert (report.updated, report.unchanged) == (1, 3)
    (warning,) = report.warnings
    assert warning.code == "encoding_detected" and "Windows-1252" in warning.message
    assert "line 4" in warning.message and "--encoding" in warning.message


def test_a_file_mixing_encodings_is_refused_at_its_line(ctx, loaded) -> None:
    error = refused(ctx, "nppes", "nppes_mixed_encoding.csv", EncodingError)
    (problem,) = error.problems
    assert (problem.line, problem.field, problem.value) == (4, "encoding", "c9")
    assert "--encoding" in str(error) and "encoding=" not in str(error)
    assert checksums(ctx) == loaded


def test_a_byte_order_mark_contradicting_the_encoding_named_is_refused(ctx, loaded) -> None:
    error = refused(ctx, "nppes", "nppes_utf16.csv", EncodingError, encoding="cp1252")
    (problem,) = error.problems
    assert (problem.line, problem.field) == (1, "encoding")
    assert checksums(ctx) == loaded


def test_an_unknown_encoding_name_is_refused_before_any_batch(ctx, loaded) -> None:
    with pytest.raises(InputError) as info:
        load_file(ctx, "nppes", FAULTY / "nppes_good.csv", encoding="klingon")
    assert [p.field for p in info.value.problems] == ["encoding"]
    with ctx.sessions() as s:
        assert s.scalar(select(LoadBatch.id).where(LoadBatch.status == "failed")) is None


@pytest.mark.parametrize(
    ("kind", "name", "found", "expected"),
    [
        ("nppes", "nppes_semicolon.csv", "';' (semicolon)", "',' (comma)"),
        ("cms", "cms_tab.csv", "'\\t' (tab)", "',' (comma)"),
        ("rpps", "rpps_comma.txt", "',' (comma)", "'|' (pipe)"),
        ("finess", "finess_comma.csv", "',' (comma)", "';' (semicolon)"),
    ],
)
def test_a_wrong_delimiter_is_one_problem_naming_it(ctx, loaded, kind, name, found, expected):
    error = refused(ctx, kind, name, SchemaError)
    (problem,) = error.problems  # not one "missing column" per column of the layout
    assert (problem.line, problem.field) == (1, "delimiter")
    assert f"separated by {found}, not {expected}" in problem.message
    assert checksums(ctx) == loaded


# -- item 1: warnings of files that load -----------------------------------------------------------


def test_a_header_only_file_loads_nothing_and_says_so(ctx, loaded) -> None:
    report = load_file(ctx, "nppes", FAULTY / "nppes_header_only.csv")
    assert (report.rows_read, report.inserted, report.updated) == (0, 0, 0)
    assert [w.code for w in report.warnings] == ["header_only"]
    assert checksums(ctx) == loaded


@pytest.mark.parametrize(
    ("kind", "name", "column"),
    [
        ("nppes", "nppes_extra_column.csv", "Favourite Colour"),
        ("cms", "cms_extra_column.csv", "Notes"),
    ],
)
def test_a_registry_file_with_an_unknown_column_loads_with_a_warning(ctx, kind, name, column):
    report = load_file(ctx, kind, FAULTY / name)
    assert report.rows_read > 0 and report.inserted == 4 and report.rejected == 0
    (warning,) = report.warnings
    assert (warning.code, warning.columns) == ("columns_ignored", [column])


# -- item 3: the CMS file unsorted ------------------------------------------------------------------


def test_an_unsorted_cms_file_folds_each_npi_once(ctx, tmp_path) -> None:
    report = load_file(ctx, "cms", FAULTY / "cms_unsorted.csv")
    assert (report.rows_read, report.inserted, report.rejected) == (8, 4, 0)
    with ctx.sessions() as s:
        stored = {r.source_key: r.data for r in s.scalars(select(SourceRecord))}
    assert all(len(d["identifiers"]["groups"]) == 2 for d in stored.values())
    # the same rows sorted by NPI give the same records: nothing changes
    text = (FAULTY / "cms_unsorted.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    ordered = tmp_path / "cms_sorted.csv"
    ordered.write_text(text[0] + "".join(sorted(text[1:])), encoding="utf-8")
    again = load_file(ctx, "cms", ordered)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)


# -- item 5: the clinic's files --------------------------------------------------------------------


def test_a_file_named_xlsx_that_is_not_one_is_refused_clearly(ctx, loaded) -> None:
    error = refused(ctx, "referrers", "referrers_not_really.xlsx", InputError)
    (problem,) = error.problems
    assert (problem.line, problem.field) == (1, "file")
    assert "not an Excel workbook" in error.detail and "name it .csv" in error.detail
    assert checksums(ctx) == loaded


@pytest.mark.parametrize(
    ("kind", "name", "line"),
    [
        ("referrals", "referrals_title_above.csv", 4),
        ("sites", "sites_title_above.csv", 3),
        ("referrers", "referrers_merged_title.xlsx", 3),
    ],
)
def test_a_header_below_a_title_is_found(ctx, kind, name, line) -> None:
    report = load_file(ctx, kind, FAULTY / name)
    assert report.inserted > 0 and report.rejected == 0
    (warning,) = report.warnings
    assert warning.code == "header_not_first" and f"header found on line {line}" in warning.message
