"""A newer registry file updates what changed, keeps the old values, never undoes manual edits."""

from __future__ import annotations

from sqlalchemy import select

from data.models import Provider, SourceRecord, SourceRecordHistory
from service.ingest.ingest import ingest_nucc, ingest_records
from service.linkage.providers import edit_provider
from service.linkage.resolve import resolve_providers
from service.placement.locate import geocode_providers
from service.schemas import ProviderEdit
from tests.service.test_ingest import DATA, NPPES, rewrite, snapshot

WIEBE, PILCHER = "1679576722", "1588667638"


def newer_file(tmp_path):
    def change(header, body):
        npi = header.index("NPI")
        phone = header.index("Provider Business Practice Location Address Telephone Number")
        city = header.index("Provider Business Practice Location Address City Name")
        for row in body:
            if row[npi] == WIEBE:
                row[phone] = "3085550199"
            if row[npi] == PILCHER:
                row[city] = "NEW CITY"
        return header, body

    return rewrite(NPPES, tmp_path / "npidata_next_month.csv", transform=change)


def provider(ctx, npi: str) -> Provider:
    with ctx.sessions() as s:
        return s.scalars(select(Provider).where(Provider.npi == npi)).one()


def test_refresh_keeps_history_and_manual_edits(ctx, tmp_path) -> None:
    ingest_nucc(ctx, DATA / "nucc_taxonomy_220.csv")
    ingest_records(ctx, NPPES, source="nppes")
    resolve_providers(ctx)
    geocode_providers(ctx)
    wiebe = provider(ctx, WIEBE)
    old_phone = wiebe.phone
    edited = edit_provider(
        ctx, wiebe.id, ProviderEdit(phone="3085550100", note="called the office"), edited_by="test"
    )
    assert edited.phone == "+13085550100" and edited.lineage["phone"].startswith("manual:")
    assert [o.field for o in edited.overrides] == ["phone"]

    report = ingest_records(ctx, newer_file(tmp_path), source="nppes")
    assert (report.updated, report.unchanged, report.inserted) == (2, 8, 0)
    with ctx.sessions() as s:
        history = s.execute(
            select(
                SourceRecord.source_key, SourceRecordHistory.data, SourceRecordHistory.file_name
            ).join(SourceRecord, SourceRecord.id == SourceRecordHistory.source_record_id)
        ).all()
    assert {k for k, _, _ in history} == {WIEBE, PILCHER}
    old = {k: d for k, d, _ in history}
    assert old[WIEBE]["phone"] == old_phone and old[PILCHER]["city"] != "NEW CITY"
    assert {f for _, _, f in history} == {NPPES.name}

    resolve_providers(ctx)
    assert provider(ctx, WIEBE).phone == "+13085550100"  # the manual value survives the refresh
    assert provider(ctx, PILCHER).city == "NEW CITY"  # registry changes still flow in
    before = snapshot(ctx)
    resolve_providers(ctx)
    geocode_providers(ctx, only_missing=True)
    assert snapshot(ctx) == before
