"""``prm ingest interactions``: visits, calls and emails from a CRM's or a clinic's export.

A file is one batch and one transaction. Rows name their provider by NPI (the
golden record :func:`service.queries.providers_by_npi` picks) or by golden-record
id; a row naming no stored provider is rejected alone, with its file, line and
column, as are bad dates and unknown kinds (:mod:`prospects.interactions`).
Interactions are keyed by ``external_id``: the file's, or a key made from the
row's content, stored as its external id, so loading the same file again adds
nothing. A row whose stored interaction says otherwise updates it. Each
interaction's ``source`` names the batch that stored it (``batch 12``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.errors import Problem
from core.progress import ProgressSink, null_progress
from core.sequences import chunked
from data.models import Provider
from data.models.prospecting import Interaction
from prospects.interactions import InteractionRead, iter_interactions
from service.context import AppContext
from service.ingest.batches import check_reject_rate, run_batch
from service.queries import providers_by_npi
from service.schemas import BatchReport

__all__ = ["ingest_interactions"]

#: The values of a stored interaction a file row is compared with (and updates).
_COMPARED = ("provider_id", "kind", "occurred_at", "liaison", "summary")
_KEY_CHUNK = 900  # stay under any backend's bound-parameter limit


def ingest_interactions(
    ctx: AppContext,
    path: Path,
    *,
    progress: ProgressSink = null_progress,
    reject_dir: Path | None = None,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> BatchReport:
    """Load an interactions CSV as one batch (idempotent).

    Parameters
    ----------
    ctx
        The application context.
    path
        The CSV file (:func:`prospects.interactions.iter_interactions` describes its columns).
    progress
        Told the rows read so far.
    reject_dir
        Where the reject file goes (default ``<var>/rejects``).
    mapping
        Field -> the file's header, winning over the usual spellings.
    encoding
        The file's text encoding; ``None`` detects it (:mod:`core.encodings`).

    Returns
    -------
    BatchReport
        Rows read, inserted, updated, unchanged and rejected (with reasons),
        and the warnings (columns no field takes).

    Raises
    ------
    SchemaError, EncodingError, RejectLimitError, InputError
        The batch is refused whole; stored data are unchanged.
    """
    path = Path(path)
    stage = f"ingest {path.name}"
    with run_batch(ctx, source="interactions", path=path, reject_dir=reject_dir) as batch:
        today = ctx.settings.as_of or date.today()
        chunks = iter_interactions(
            path,
            chunk_rows=ctx.settings.chunk_rows,
            mapping=mapping,
            encoding=encoding,
            earliest=ctx.settings.min_event_date,
            latest=today + timedelta(days=1),
        )
        # one transaction: a file refused at its end (too many rejects) leaves nothing written
        with ctx.sessions.begin() as session:
            for read in chunks:
                batch.rows_read += read.rows_read
                batch.rejects.extend(read.rejects)
                batch.warn(read.warnings)
                rows = _with_providers(session, read, batch.rejects, file=path.name)
                batch.add(_upsert(session, rows, source=f"batch {batch.id}"))
                progress(stage, batch.rows_read, None)  # the total is known at the end
            check_reject_rate(
                path.name, batch.rows_read, batch.rejects, ctx.settings.max_reject_rate
            )
            progress(stage, batch.rows_read, batch.rows_read)
            return batch.finish(session, reject_dir)


def _with_providers(
    session: Session, read: InteractionRead, rejects: list[Problem], *, file: str
) -> list[dict[str, Any]]:
    """The chunk's rows with their provider id; a row naming no stored provider is rejected."""
    by_npi = providers_by_npi(session, [r["npi"] for r in read.records if r["npi"]])
    asked = sorted({r["provider_id"] for r in read.records if r["provider_id"] is not None})
    known: set[int] = set()
    for part in chunked(asked, _KEY_CHUNK):
        known.update(session.scalars(select(Provider.id).where(Provider.id.in_(part))))
    kept = []
    for record in read.records:
        fault = _provider_fault(record, by_npi, known)
        if fault is None:
            kept.append(record | {"provider_id": record["provider_id"] or by_npi[record["npi"]]})
            continue
        name, message = fault
        rejects.append(
            Problem(
                message,
                file=file,
                line=record["line"],
                field=read.headers.get(name, name),
                value=str(record[name]),
            )
        )
    return kept


def _provider_fault(
    record: Mapping[str, Any], by_npi: Mapping[str, int], known: set[int]
) -> tuple[str, str] | None:
    """``(field, message)`` when the row's NPI or provider id names no stored provider."""
    npi, provider_id = record["npi"], record["provider_id"]
    if npi is not None and npi not in by_npi:
        return (
            "npi",
            "no provider with this NPI (providers come from `prm pipeline`: run it after"
            " loading the registry files, before the contact log)",
        )
    if provider_id is not None and provider_id not in known:
        return "provider_id", "no provider with this id"
    if npi is not None and provider_id is not None and by_npi[npi] != provider_id:
        return "provider_id", f"the row's NPI is provider {by_npi[npi]}'s, not this one's"
    return None


def _upsert(session: Session, rows: list[dict[str, Any]], *, source: str) -> dict[str, int]:
    """Insert new interactions, update changed ones, leave the same ones; the counts of each."""
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    existing: dict[str, Interaction] = {}
    for part in chunked([r["external_id"] for r in rows], _KEY_CHUNK):
        for have in session.scalars(select(Interaction).where(Interaction.external_id.in_(part))):
            existing[have.external_id] = have
    inserts = []
    for row in rows:
        values = {name: row[name] for name in _COMPARED}
        have = existing.get(row["external_id"])
        if have is None:
            inserts.append({**values, "external_id": row["external_id"], "source": source})
        elif any(getattr(have, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(have, name, value)
            have.source = source
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    if inserts:
        session.execute(insert(Interaction), inserts)
    counts["inserted"] = len(inserts)
    return counts
