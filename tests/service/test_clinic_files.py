"""A clinic's own files on both backends: interactions, column mappings, batch warnings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.errors import RejectLimitError, SchemaError
from core.identifiers import npi_check_digit
from data.models import ClinicSite, LoadBatch, Provider, ReferralEvent
from data.models.prospecting import Interaction
from service.ingest.batches import list_batches
from service.ingest.ingest import ingest_records, ingest_referral_events
from service.ingest.interactions import ingest_interactions
from service.ingest.sites import load_sites
from tests.paths import FIXTURES

SERVICE = FIXTURES / "service"


def npi(n: int) -> str:
    """A valid NPI (check digit right) that no fixture file holds."""
    first9 = f"{900000000 + n:09d}"
    return first9 + npi_check_digit(first9)


def add_providers(ctx, count: int = 2) -> list[tuple[int, str]]:
    """``count`` golden records, as ``(id, npi)``."""
    with ctx.sessions.begin() as s:
        rows = [
            Provider(
                cluster_key=f"c{i}", npi=npi(i), entity_type="individual", display_name=f"DR {i}"
            )
            for i in range(count)
        ]
        s.add_all(rows)
        s.flush()
        return [(p.id, p.npi) for p in rows]


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stored(ctx) -> list[tuple]:
    with ctx.sessions() as s:
        return [
            (i.external_id, i.provider_id, i.kind, i.occurred_at, i.liaison, i.summary)
            for i in s.scalars(select(Interaction).order_by(Interaction.id))
        ]


def tolerant(ctx, rate: float = 0.9) -> None:
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"max_reject_rate": rate}))


def test_interactions_load_by_npi_or_id_and_a_second_load_adds_nothing(ctx, tmp_path) -> None:
    (p1, npi1), (p2, _) = add_providers(ctx)
    path = write(
        tmp_path / "crm.csv",
        "external_id,date,npi,provider_id,kind,liaison,note",
        f"CRM-1,2024-06-03,{npi1},,visit,Ana,Met the office manager",
        f",06/04/2024,,{p2},Call,Ben,",
        f',2024-06-05T10:30:00+02:00,{npi1},{p1},email,,"two\nlines"',
    )
    report = ingest_interactions(ctx, path)
    assert (report.inserted, report.unchanged, report.rejected) == (3, 0, 0)
    assert report.warnings == []  # every column is a field
    rows = stored(ctx)
    assert rows[0] == (
        "CRM-1",
        p1,
        "visit",
        datetime(2024, 6, 3, tzinfo=UTC),
        "Ana",
        "Met the office manager",
    )
    assert rows[1][1:] == (p2, "call", datetime(2024, 6, 4, tzinfo=UTC), "Ben", None)
    assert rows[2][3] == datetime(2024, 6, 5, 8, 30, tzinfo=UTC) and rows[2][5] == "two\nlines"
    assert rows[1][0].startswith("row:") and rows[1][0] != rows[2][0]  # keys made from content
    with ctx.sessions() as s:
        assert s.scalar(select(Interaction.source).limit(1)) == f"batch {report.batch_id}"
    # the same rows again, reordered and under another name: nothing added, nothing changed
    lines = path.read_text(encoding="utf-8").split("\n")
    again = write(tmp_path / "crm-copy.csv", lines[0], lines[3], lines[4], lines[2], lines[1])
    second = ingest_interactions(ctx, again)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 3)
    assert stored(ctx) == rows


def test_a_changed_row_updates_its_interaction(ctx, tmp_path) -> None:
    ((_, npi1),) = add_providers(ctx, 1)
    header = "external_id,occurred_at,npi,kind,note"
    ingest_interactions(ctx, write(tmp_path / "a.csv", header, f"X1,2024-06-03,{npi1},visit,old"))
    report = ingest_interactions(
        ctx, write(tmp_path / "b.csv", header, f"X1,2024-06-03,{npi1},visit,new")
    )
    assert (report.inserted, report.updated) == (0, 1)
    assert [r[5] for r in stored(ctx)] == ["new"]


def test_bad_interaction_rows_are_rejected_with_file_line_and_field(ctx, tmp_path) -> None:
    ((p1, npi1),) = add_providers(ctx, 1)
    tolerant(ctx)
    path = write(
        tmp_path / "crm.csv",
        "Date,NPI,Provider ID,Kind,Note",
        f"2024-06-03,{npi(77)},,visit,unknown NPI",
        f"2024-13-45,{npi1},,visit,bad date",
        f"2024-06-03,{npi1},,fax,unknown kind",
        f"2024-06-03,,{p1 + 1000},call,unknown provider id",
        f"2024-06-03,{npi1},,visit,good",
        f"2024-06-03,{npi1},,visit,good",
    )
    report = ingest_interactions(ctx, path, reject_dir=tmp_path / "rejects")
    faults = {(p["file"], p["line"], p.get("field")) for p in report.rejects}
    assert faults == {
        ("crm.csv", 2, "NPI"),
        ("crm.csv", 3, "Date"),
        ("crm.csv", 4, "Kind"),
        ("crm.csv", 5, "Provider ID"),
        ("crm.csv", 7, None),  # the same interaction as line 6
    }
    assert "visit, call, email" in next(p["message"] for p in report.rejects if p["line"] == 4)
    assert "line 6" in next(p["message"] for p in report.rejects if p["line"] == 7)
    assert (report.inserted, report.rejected) == (1, 5)
    assert Path(report.reject_file).read_text(encoding="utf-8").count("\n") == 6
    assert [r[5] for r in stored(ctx)] == ["good"]


def test_an_interactions_file_over_the_reject_limit_stores_nothing(ctx, tmp_path) -> None:
    ((_, npi1),) = add_providers(ctx, 1)
    path = write(
        tmp_path / "crm.csv",
        "date,npi,kind,Owner",
        f"2024-06-03,{npi1},visit,Ana",
        f"2024-06-03,{npi1},meeting,Ana",
    )
    with pytest.raises(RejectLimitError):
        ingest_interactions(ctx, path)
    assert stored(ctx) == []
    (batch,) = list_batches(ctx)  # failed, and its warning kept
    assert batch.status == "failed" and batch.source == "interactions"
    assert [w.columns for w in batch.warnings] == [["Owner"]]


def test_an_interactions_header_without_kind_or_provider_is_refused(ctx, tmp_path) -> None:
    path = write(tmp_path / "crm.csv", "date,liaison", "2024-06-03,Ana")
    with pytest.raises(SchemaError) as info:
        ingest_interactions(ctx, path)
    assert {p.field for p in info.value.problems} == {"kind", "npi"}


def test_a_referral_file_with_site_id_loads_with_its_site(ctx, tmp_path) -> None:
    path = write(
        tmp_path / "referrals.csv",
        "external_id,referral_date,referrer_npi,site_id",
        f"E1,2024-01-05,{npi(1)},TX1",
    )
    report = ingest_referral_events(ctx, path)
    with ctx.sessions() as s:
        assert s.scalar(select(ReferralEvent.site_code)) == "TX1"
    assert report.inserted == 1 and report.warnings == []


def test_a_column_no_field_takes_is_a_warning_stored_with_the_batch(ctx, tmp_path) -> None:
    path = write(
        tmp_path / "referrals.csv",
        "external_id,referral_date,referrer_npi,Clinic,foo",
        f"E1,2024-01-05,{npi(1)},TX1,bar",
    )
    report = ingest_referral_events(ctx, path)
    (warning,) = report.warnings
    assert warning.code == "columns_ignored" and warning.columns == ["Clinic", "foo"]
    assert warning.file == "referrals.csv" and "columns ignored: Clinic, foo" in warning.message
    with ctx.sessions() as s:
        batch = s.get(LoadBatch, report.batch_id)
        assert batch.warnings == [warning.model_dump()]
        assert s.scalar(select(ReferralEvent.site_code)) is None
    # mapped, the column loads and the warning names only the other one
    again = ingest_referral_events(ctx, path, mapping={"site_code": "Clinic"})
    assert again.updated == 1 and [w.columns for w in again.warnings] == [["foo"]]
    with ctx.sessions() as s:
        assert s.scalar(select(ReferralEvent.site_code)) == "TX1"
    assert [b.warnings[0].columns for b in list_batches(ctx)] == [["foo"], ["Clinic", "foo"]]


def test_sites_take_a_mapping_and_warn_of_the_columns_left(ctx, tmp_path) -> None:
    path = write(
        tmp_path / "sites.csv",
        "Site ID,Clinic name,Service line,City,Latitude,Longitude,Manager",
        "TX1,Sugar Land Imaging,MRI,Sugar Land,29.5994,-95.6142,Pat",
    )
    report = load_sites(ctx, path, mapping={"site_code": "Site ID", "name": "Clinic name"})
    assert (report.source, report.inserted) == ("sites", 1)
    assert [w.columns for w in report.warnings] == [["Manager"]]
    with ctx.sessions() as s:
        site = s.scalars(select(ClinicSite)).one()
        assert (site.site_code, site.name, site.lat) == ("TX1", "Sugar Land Imaging", 29.5994)
    again = load_sites(ctx, path, mapping={"site_code": "Site ID", "name": "Clinic name"})
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)


def test_a_mapping_that_does_not_fit_lists_the_fields_or_the_headers(ctx, tmp_path) -> None:
    path = write(tmp_path / "sites.csv", "code,name,service_line", "TX1,Clinic,MRI")
    with pytest.raises(SchemaError) as info:
        load_sites(ctx, path, mapping={"colour": "name", "city": "Town"})
    by_field = {p.field: p.message for p in info.value.problems}
    assert "site_code, name, service_line" in by_field["colour"]
    assert "its columns are: code, name, service_line" in by_field["city"]
    with ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ClinicSite)) == 0


def test_a_referrer_list_warns_of_its_unused_columns(ctx, tmp_path) -> None:
    src = (SERVICE / "referrers_small.csv").read_text(encoding="utf-8").splitlines()
    path = write(
        tmp_path / "referrers.csv",
        src[0] + ",Referrals YTD",
        *(line + ",3" for line in src[1:]),
    )
    report = ingest_records(ctx, path, source="referrer_list")
    assert report.inserted == len(src) - 1
    assert [w.columns for w in report.warnings] == [["Referrals YTD"]]
