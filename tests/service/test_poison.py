"""No poison is stored: every reader refuses, per row, text the database cannot hold or later stages trip on.

A NUL byte, another control character (TAB, LF, CR included: no stored field
of these files is free text), or a value longer than the column it is stored
in or copied into by ``prm link`` is rejected with its file, line and field;
the good rows load, and the whole pipeline then runs (on PostgreSQL such rows
used to make ``prm link`` fail, and every later run with it).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from core.errors import InputError
from core.safetext import text_fault
from data.models import ClinicSite, Provider, ReferralEvent, SourceRecord, Taxonomy
from service.ingest.deactivations import ingest_deactivations
from service.ingest.ingest import ingest_nucc, ingest_records, ingest_referral_events
from service.ingest.sites import load_sites
from service.pipeline import run_pipeline
from tests.paths import FIXTURES

NPPES = FIXTURES / "npidata_pfile_sample_first10_v2024layout.csv"
NUCC = FIXTURES / "nucc_taxonomy_220.csv"
ENRICHMENT = FIXTURES / "enrichment"
SERVICE = FIXTURES / "service"
HUGE = "Z" * 100_000

Cells = dict[tuple[int, str | int], str]  # (data row index, column name or position) -> new value


def poisoned(
    src: Path,
    dst: Path,
    cells: Cells,
    *,
    delimiter: str = ",",
    skip: int = 1,
    encoding: str = "utf-8",
) -> Path:
    """``src`` with some cells replaced; a column is a header name, or a position for files without one."""
    with src.open(newline="", encoding=encoding) as fh:
        rows = list(csv.reader(fh, delimiter=delimiter))
    head, body = rows[:skip], rows[skip:]
    for (i, column), value in cells.items():
        at = column if isinstance(column, int) else head[0].index(column)
        body[i][at] = value
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows([*head, *body])
    dst.write_text(out.getvalue(), encoding=encoding, newline="")
    return dst


def lenient(ctx) -> None:
    """Let a file that is mostly poison load its good rows (the reject-rate rule is tested elsewhere)."""
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"max_reject_rate": 1.0}))


def assert_nothing_unstorable(ctx) -> None:
    """No stored source record, provider or event holds a value the rule refuses."""
    from enrichment.records import record_problems

    with ctx.sessions() as s:
        for (data,) in s.execute(select(SourceRecord.data)):
            assert record_problems(data, file=None, line=None) == []
        for provider in s.scalars(select(Provider)):
            for column in Provider.__table__.columns:
                value = getattr(provider, column.key)
                assert not isinstance(value, str) or text_fault(value) is None, (column.key, value)
        for (name,) in s.execute(select(ReferralEvent.referrer_name)):
            assert name is None or text_fault(name) is None


def faults(report) -> set[tuple[int, str]]:
    return {(p["line"], p["field"]) for p in report.rejects}


# ------------------------------------------------------------------------------------------ NPPES


LAST, ORG = "Provider Last Name (Legal Name)", "Provider Organization Name (Legal Business Name)"
ADDRESS = "Provider First Line Business Practice Location Address"
STATE = "Provider Business Practice Location Address State Name"
OTHER_ORG = "Provider Other Organization Name"


def test_nppes_rejects_poisoned_rows_and_the_pipeline_runs(ctx, tmp_path) -> None:
    lenient(ctx)
    path = poisoned(
        NPPES,
        tmp_path / "npidata_pfile_poison.csv",
        {
            (0, LAST): "WIE\x00BE",  # line 2: a NUL in a name (the PostgreSQL link crash)
            (1, LAST): HUGE,  # line 3: 100 KB in a 100-character column
            (2, ORG): "CUMBERLAND\tCOUNTY",  # line 4: TAB in an organisation name
            (3, STATE): "TEXAS",  # line 5: longer than the golden record's state column
            (
                4,
                ADDRESS,
            ): "1 MAIN ST\r\nSTE 2",  # line 6 (a quoted line break: the row spans lines 6-7)
            (5, OTHER_ORG): "N" * 1001,  # line 8: a payload-only value over the payload limit
        },
    )
    report = ingest_records(ctx, path, source="nppes")
    assert faults(report) == {
        (2, LAST),
        (3, LAST),
        (4, ORG),
        (5, STATE),
        (6, ADDRESS),
        (8, OTHER_ORG),
    }
    assert report.rejected == 6 and report.inserted == 4
    (nul,) = [p for p in report.rejects if p["line"] == 2]
    assert nul["file"] == path.name and nul["value"] == "WIE\\x00BE" and "U+0000" in nul["message"]
    (huge,) = [p for p in report.rejects if p["line"] == 3]
    assert (
        "100000 characters" in huge["message"] and len(huge["value"]) < 200
    )  # the report is not 100 KB
    reject_file = Path(report.reject_file).read_text(encoding="utf-8")
    assert "\x00" not in reject_file and HUGE not in reject_file
    run_pipeline(ctx)
    with ctx.sessions() as s:
        assert sorted(s.scalars(select(Provider.npi))) == sorted(
            ["1932102084", "1841293990", "1750384806", "1669475711"]
        )
    assert_nothing_unstorable(ctx)


def test_nppes_zip_companion_rows_are_checked_too(ctx, tmp_path) -> None:
    from tests.enrichment.test_nppes_zip import COMPANIONS, build_zip, monthly_members

    lenient(ctx)
    members = monthly_members()
    pl = poisoned(
        ENRICHMENT / COMPANIONS["pl"],
        tmp_path / "pl.csv",
        {(0, "Provider Secondary Practice Location Address - City Name"): "JACKSON\x00VILLE"},
    )
    endpoint = poisoned(
        ENRICHMENT / COMPANIONS["endpoint"],
        tmp_path / "endpoint.csv",
        {(1, "Endpoint"): "https://" + "x" * 1000},
    )
    members[COMPANIONS["pl"]] = pl.read_bytes()
    members[COMPANIONS["endpoint"]] = endpoint.read_bytes()
    archive = build_zip(tmp_path / "NPPES_Data_Dissemination_January_2024.zip", members)
    report = ingest_records(ctx, archive, source="nppes")
    # (the sample companions hold bad rows of their own, on other lines)
    assert {(p["file"], p["line"], p["field"]) for p in report.rejects} >= {
        (COMPANIONS["pl"], 2, "Provider Secondary Practice Location Address - City Name"),
        (COMPANIONS["endpoint"], 3, "Endpoint"),
    }
    assert report.inserted == 10
    run_pipeline(ctx)
    assert_nothing_unstorable(ctx)


# ------------------------------------------------------------------------------- other registries


def test_cms_rejects_the_poisoned_row_alone(ctx, tmp_path) -> None:
    lenient(ctx)
    path = poisoned(
        ENRICHMENT / "cms_dac_current.csv",
        tmp_path / "cms.csv",
        {
            (
                0,
                "Provider First Name",
            ): "DA\x00VID",  # line 2: the NPI's other rows still make its record
            (3, "pri_spec"): "S" * 201,  # line 5: longer than providers.specialty_text
            (4, "City/Town"): "NEW\nYORK",  # line 6 (spans 6-7)
        },
    )
    report = ingest_records(ctx, path, source="cms_dac")
    assert {(2, "Provider First Name"), (5, "pri_spec"), (6, "City/Town")} <= faults(report)
    with ctx.sessions() as s:
        wiebe = s.scalars(select(SourceRecord).where(SourceRecord.npi == "1679576722")).one()
    assert wiebe.data["first_name"] == "DAVID" and wiebe.line == 3
    run_pipeline(ctx)
    assert_nothing_unstorable(ctx)


def test_rpps_and_finess_reject_poisoned_rows(ctx, tmp_path) -> None:
    lenient(ctx)
    rpps = poisoned(
        ENRICHMENT / "PS_LibreAcces_Personne_activite_sample.txt",
        tmp_path / "rpps.txt",
        {
            (0, "Prénom d'exercice"): "Ma\x00rie",
            (2, "Libellé commune (coord. structure)"): "P" * 101,
        },
        delimiter="|",
    )
    report = ingest_records(ctx, rpps, source="rpps")
    assert faults(report) >= {(2, "Prénom d'exercice"), (4, "Libellé commune (coord. structure)")}
    assert report.inserted > 0
    finess = poisoned(
        ENRICHMENT / "etalab-cs1100507-stock-sample.csv",
        tmp_path / "finess.csv",
        {(0, 4): "CENTRE\x00HOSPITALIER", (1, 19): "C" * 201},
        delimiter=";",
    )
    report = ingest_records(ctx, finess, source="finess")
    assert faults(report) >= {(2, "rslongue"), (3, "libcategetab")}
    assert report.inserted > 0
    run_pipeline(ctx)
    assert_nothing_unstorable(ctx)


# ---------------------------------------------------------------------- the clinic's own files


def test_referrer_lists_and_referral_events_reject_poisoned_rows(ctx, tmp_path) -> None:
    lenient(ctx)
    referrers = poisoned(
        SERVICE / "referrers_small.csv",
        tmp_path / "referrers.csv",
        {(0, "Referring Physician"): "Dr. Bin\x00 Sung", (1, "Specialty"): "O" * 201},
    )
    report = ingest_records(ctx, referrers, source="referrer_list")
    assert faults(report) == {(2, "Referring Physician"), (3, "Specialty")} and report.inserted == 0
    events = poisoned(
        SERVICE / "referrals_small.csv",
        tmp_path / "referrals.csv",
        {
            (0, "referrer_name"): "WIEBE,\x1bDAVID",
            (1, "patient_ref"): "p" * 101,
            (2, "referrer_name"): "Dr.\tSung",
            (3, "external_id"): "E" * 101,
        },
    )
    report = ingest_referral_events(ctx, events)
    assert faults(report) == {
        (2, "referrer_name"),
        (3, "patient_ref"),
        (4, "referrer_name"),
        (5, "external_id"),
    }
    assert report.inserted == 1
    ingest_records(ctx, NPPES, source="nppes")
    run_pipeline(ctx)
    assert_nothing_unstorable(ctx)


def test_sites_and_nucc_files_with_poison_are_refused_naming_line_and_field(ctx, tmp_path) -> None:
    sites = poisoned(
        SERVICE / "sites_small.csv", tmp_path / "sites.csv", {(0, "name"): "Sugar\x00Land"}
    )
    with pytest.raises(InputError) as caught:
        load_sites(ctx, sites)
    assert [(p.line, p.field, p.value) for p in caught.value.problems] == [
        (2, "name", "Sugar\\x00Land")
    ]
    nucc = poisoned(
        NUCC,
        tmp_path / "nucc_taxonomy_220.csv",
        {(0, "Classification"): "Multi\x00Specialty", (1, "Section"): "S" * 41},
    )
    with pytest.raises(InputError) as caught:
        ingest_nucc(ctx, nucc)
    assert {(p.line, p.field) for p in caught.value.problems} == {
        (2, "Classification"),
        (3, "Section"),
    }
    with ctx.sessions() as s:  # nothing stored of either file
        assert s.scalars(select(ClinicSite)).all() == [] and s.scalars(select(Taxonomy)).all() == []


def test_a_deactivation_report_cannot_carry_poison_either(ctx, tmp_path) -> None:
    lenient(ctx)
    ingest_records(ctx, NPPES, source="nppes")
    path = tmp_path / "deactivated.csv"
    path.write_text(
        "NPI,NPPES Deactivation Date\n1679576722,05/23/2005\n16795\x0076722,05/23/2005\n"
        f"{'1' * 200},05/23/2005\n",
        encoding="utf-8",
    )
    report = ingest_deactivations(ctx, path)
    assert {p["line"] for p in report.rejects} == {3, 4} and report.updated == 1


@pytest.mark.parametrize("reader", ["nppes", "referrer_list"])
def test_a_surrogate_escaped_byte_refuses_the_file_naming_its_line(ctx, tmp_path, reader) -> None:
    """Undecodable bytes (what ``surrogateescape`` would turn into lone surrogates) are an encoding
    fault: 0x81 is neither UTF-8 nor Windows-1252 (the rule's fallback after ASCII only)."""
    from core.errors import EncodingError

    src = NPPES if reader == "nppes" else SERVICE / "referrers_small.csv"
    text = src.read_text(encoding="utf-8").splitlines(keepends=True)
    text[2] = text[2].replace("7", "\udc81", 1)  # a lone surrogate standing for the byte 0x81
    path = tmp_path / src.name
    path.write_bytes("".join(text).encode("utf-8", "surrogateescape"))
    with pytest.raises(EncodingError) as caught:
        ingest_records(ctx, path, source=reader)
    assert [(p.file, p.line) for p in caught.value.problems] == [(path.name, 3)]
    with ctx.sessions() as s:
        assert s.scalars(select(SourceRecord)).all() == []


def test_inputs_read_through_schemas_refuse_control_characters_except_in_notes() -> None:
    """Sites (CSV and API), expansion candidates (CSV and API) and provider edits share the rule."""
    from pydantic import ValidationError

    from service.planning.schemas import CandidateIn
    from service.schemas import ProviderEdit, SiteCreate, SiteUpdate

    for build in (
        lambda: SiteCreate(site_code="S1", name="North\x00", service_line="MRI"),
        lambda: SiteUpdate(city="Colum\tbus"),
        lambda: CandidateIn(label="Polaris\n", postal_code="43026"),
        lambda: ProviderEdit(last_name="Lee\x1b"),
        lambda: SiteUpdate(name="x\ud800"),
    ):
        with pytest.raises(ValidationError):
            build()
    assert (
        ProviderEdit(note="called twice\nconfirmed").note == "called twice\nconfirmed"
    )  # a note is free text
