"""The NPPES deactivation report: flag deactivated NPIs, never delete them.

Each listed NPI's NPPES source record gets the deactivation date and
``is_active = False`` (its previous values kept in ``source_record_history``),
so the next ``prm link`` marks the golden record inactive and prospect lists
drop it. An NPI that was reactivated after the listed date stays active. NPIs
not loaded from NPPES are reported, not invented.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select, update

from core.errors import Problem
from core.sequences import chunked
from data.models import SourceRecord
from enrichment.records import DATE_COLUMNS, record_hash
from service.context import AppContext
from service.ingest.batches import check_reject_rate, run_batch
from service.ingest.ingest import keep_history
from service.schemas import BatchReport


def ingest_deactivations(
    ctx: AppContext, path: Path, *, encoding: str | None = None
) -> BatchReport:
    """Apply a deactivation report (XLSX or CSV of NPI and deactivation date) as one batch.

    ``encoding`` names a CSV's text encoding (``None`` detects it: :mod:`core.encodings`).
    """
    from enrichment.nppes_deactivation import read_deactivations

    path = Path(path)
    with run_batch(ctx, source="nppes_deactivation", path=path) as batch:
        read = read_deactivations(path, encoding=encoding)
        batch.rows_read, batch.rejects = read.rows_read, list(read.rejects)
        listed = {
            str(n): (d, int(ln))
            for n, d, ln in zip(
                read.records["npi"],
                read.records["deactivation_date"],
                read.records["line"],
                strict=True,
            )
        }
        with ctx.sessions.begin() as session:
            stored = {}
            for part in chunked(sorted(listed), 900):
                stored.update(
                    {
                        r.source_key: r
                        for r in session.scalars(
                            select(SourceRecord).where(
                                SourceRecord.source == "nppes", SourceRecord.source_key.in_(part)
                            )
                        )
                    }
                )
            changes = []
            for npi, (when, line) in listed.items():
                rec = stored.get(npi)
                if rec is None:
                    batch.rejects.append(
                        Problem(
                            "NPI not loaded from NPPES; nothing to deactivate",
                            file=path.name,
                            line=line,
                            field="NPI",
                            value=npi,
                        )
                    )
                    continue
                data = dict(rec.data)
                reactivated = data.get("reactivation_date")
                active = bool(reactivated and date.fromisoformat(reactivated) > when)
                new = data | {"deactivation_date": when.isoformat(), "is_active": active}
                if new == data:
                    batch.counts["unchanged"] += 1
                    continue
                full = new | {"source": rec.source, "source_key": rec.source_key}
                changes.append(
                    {
                        "id": rec.id,
                        "batch_id": batch.id,
                        "data": new,
                        "record_hash": record_hash(_with_dates(full)),
                    }
                )
            check_reject_rate(
                path.name, batch.rows_read, batch.rejects, ctx.settings.max_reject_rate
            )
            if changes:
                keep_history(session, [c["id"] for c in changes], replaced_by=batch.id)
                session.execute(update(SourceRecord), changes)
            batch.counts["updated"] += len(changes)
            return batch.finish(session)


def _with_dates(row: dict) -> dict:
    """Stored JSON dates back to dates, so the hash matches what the reader computes."""
    return {
        k: (date.fromisoformat(v) if k in DATE_COLUMNS and isinstance(v, str) else v)
        for k, v in row.items()
    }
