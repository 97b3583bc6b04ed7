"""Ingestion through the service layer on both backends: batches, idempotency, bad input."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select, text

from core.errors import EncodingError, RejectLimitError, SchemaError
from data.models import LoadBatch, SourceRecord
from service.ingest.ingest import ingest_records
from tests.paths import FIXTURES

DATA = FIXTURES
NPPES = DATA / "npidata_pfile_sample_first10_v2024layout.csv"
DATA_TABLES = (
    "source_records",
    "providers",
    "organizations",
    "referral_events",
    "taxonomy",
    "clinic_sites",
    "catchments",
    "catchment_cells",
    "prospects",
    "referrer_stats",
    "source_record_history",
    "provider_overrides",
)


def snapshot(ctx) -> dict[str, list]:
    """Every row of every data table, in a stable order."""
    meta = MetaData()
    meta.reflect(ctx.engine, only=DATA_TABLES)
    out = {}
    with ctx.engine.connect() as conn:
        for name in DATA_TABLES:
            table = meta.tables[name]
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[name] = [tuple(r) for r in rows]
    return out


def rewrite(src: Path, dst: Path, *, reverse: bool = False, transform=None) -> Path:
    with src.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    if reverse:
        body = body[::-1]
    if transform:
        header, body = transform(header, body)
    with dst.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows([header, *body])
    return dst


def test_load_reports_counts_and_provenance(ctx) -> None:
    report = ingest_records(ctx, NPPES, source="nppes")
    assert report.rows_read == 10 and report.inserted == 10 and report.rejected == 0
    assert report.file_hash == hashlib.sha256(NPPES.read_bytes()).hexdigest()
    with ctx.sessions() as s:
        recs = s.scalars(select(SourceRecord)).all()
        batch = s.get(LoadBatch, report.batch_id)
    assert {r.line for r in recs} == set(range(2, 12))
    assert all(r.file_name == NPPES.name and r.batch_id == report.batch_id for r in recs)
    assert (
        batch.status == "committed" and batch.inserted == 10 and batch.file_hash == report.file_hash
    )


def test_reload_reordered_under_another_name_changes_no_data(ctx, tmp_path) -> None:
    ingest_records(ctx, NPPES, source="nppes")
    before = snapshot(ctx)
    again = rewrite(NPPES, tmp_path / "renamed_npidata.csv", reverse=True)
    report = ingest_records(ctx, again, source="nppes")
    assert report.unchanged == 10 and report.inserted == report.updated == 0
    assert snapshot(ctx) == before


def test_missing_column_refused_and_tables_unchanged(ctx, tmp_path) -> None:
    ingest_records(ctx, NPPES, source="nppes")
    before = snapshot(ctx)

    def drop_npi(header, body):
        i = header.index("Entity Type Code")
        return header[:i] + header[i + 1 :], [r[:i] + r[i + 1 :] for r in body]

    bad = rewrite(NPPES, tmp_path / "bad_layout.csv", reverse=True, transform=drop_npi)
    with pytest.raises(SchemaError) as info:
        ingest_records(ctx, bad, source="nppes")
    assert "bad_layout.csv" in str(info.value) and "Entity Type Code" in str(info.value)
    assert snapshot(ctx) == before
    with ctx.sessions() as s:
        batches = s.execute(
            select(LoadBatch.status, LoadBatch.file_hash).order_by(LoadBatch.id)
        ).all()
    assert [status for status, _ in batches] == ["committed", "failed"]
    assert batches[1].file_hash == hashlib.sha256(bad.read_bytes()).hexdigest()  # which file failed


def test_wrong_encoding_refused(ctx, tmp_path) -> None:
    # 0x81: not UTF-8, and not Windows-1252 either (what a byte after ASCII only is read as)
    raw = NPPES.read_bytes().replace(b"SUGAR LAND", b"SUGAR L\x81ND", 1)
    assert raw != NPPES.read_bytes()
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(raw)
    with pytest.raises(EncodingError) as info:
        ingest_records(ctx, bad, source="nppes")
    assert "latin1.csv" in str(info.value) and "utf-8, cp1252" in str(info.value)
    assert snapshot(ctx)["source_records"] == []


def test_malformed_row_rejected_alone_or_batch_refused(ctx, tmp_path) -> None:
    def break_date(header, body):
        i = header.index("Provider Enumeration Date")
        body[3][i] = "31/31/2020"
        return header, body

    bad = rewrite(NPPES, tmp_path / "one_bad_row.csv", transform=break_date)
    # 1 of 10 rows is 10%: above the default 5% limit, so the batch is refused whole
    with pytest.raises(RejectLimitError) as info:
        ingest_records(ctx, bad, source="nppes")
    assert any(p.line == 5 and p.field == "Provider Enumeration Date" for p in info.value.problems)
    assert snapshot(ctx)["source_records"] == []
    # with a tolerant limit the good rows load and the bad one is reported
    tolerant = ctx.settings.model_copy(update={"max_reject_rate": 0.2})
    object.__setattr__(ctx, "settings", tolerant)
    report = ingest_records(ctx, bad, source="nppes", reject_dir=tmp_path / "rejects")
    assert report.inserted == 9 and report.rejected == 1
    assert report.rejects[0]["line"] == 5 and report.rejects[0]["file"] == "one_bad_row.csv"
    assert Path(report.reject_file).read_text().count("\n") == 2


def test_schema_is_at_head_on_both_backends(ctx) -> None:
    from data.db import current_revision
    from tests.conftest import schema_head

    assert current_revision(ctx.engine) == schema_head()
    if ctx.engine.dialect.name == "postgresql":
        with ctx.engine.connect() as conn:
            kinds = dict(
                conn.execute(
                    text(
                        "SELECT f_table_name, type FROM geometry_columns WHERE f_geometry_column = 'geom'"
                    )
                ).all()
            )
        assert kinds["providers"] == "POINT" and kinds["catchments"] == "GEOMETRY"
