"""Ingestion (stage ``prm ingest``): registry files, referrer lists, referral events, NUCC.

Every load is a batch (source, file name, SHA-256, row numbers) and ends with a
report. Data are written in one transaction per file: a file whose layout or
encoding is wrong, or whose reject rate is too high, changes nothing; a bad
row is rejected alone (and written to a reject file) while good rows load.
Source records are keyed by (source, source key), so re-loading the same rows,
reordered or under another file name, changes no data row.

A newer file's changed rows keep their previous values in
``source_record_history``; manual corrections live apart
(:mod:`service.linkage.providers`) and are re-applied after every refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, timedelta
from itertools import repeat
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson
import pandas as pd
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from core.keyset import KeySet
from core.notices import Tally
from core.progress import ProgressSink, null_progress
from core.sequences import chunked
from core.values import json_value
from data.bulk import bulk_insert, compiled_once
from data.db import analyze, wal_written_behind
from data.models import ReferralEvent, SourceRecord, Taxonomy
from enrichment.parallel import iter_stored_rows
from enrichment.records import ReadResult, StoredRows
from service.context import AppContext
from service.ingest.batches import check_reject_rate, run_batch
from service.ingest.record_checks import (
    TaxonomyCheck,
    keep_deactivated_values,
    keep_history,
    prefer_newest,
    resolve_duplicates,
)
from service.schemas import BatchReport

Source = Literal["nppes", "referrer_list", "cms_dac", "rpps", "finess"]
_KEY_CHUNK = 900  # stay under any backend's bound-parameter limit


_INSERT_COLUMNS = (
    "source",
    "source_key",
    "batch_id",
    "file_name",
    "line",
    "record_hash",
    "npi",
    "data",
)


class _RecordWriter:
    """Writes one batch's source records chunk by chunk: insert, update with history, or leave.

    Keys repeated in the file (found with a compact :class:`~core.keyset.KeySet`,
    so memory stays flat) are resolved by the source's rule and counted in a
    warning (:func:`~service.ingest.record_checks.resolve_duplicates`); an
    NPPES row of a deactivated NPI with blank fields keeps the stored values
    (:func:`~service.ingest.record_checks.keep_deactivated_values`). When the
    source had no records before the batch, nothing needs looking up.
    """

    def __init__(self, session: Session, *, source: str, batch_id: int, file_name: str) -> None:
        self.session, self.source, self.batch_id, self.file_name = (
            session,
            source,
            batch_id,
            file_name,
        )
        self.seen = KeySet()
        self.tally = Tally()  # warnings counted over the whole file
        self.first_load = (
            session.execute(
                select(SourceRecord.id).where(SourceRecord.source == source).limit(1)
            ).first()
            is None
        )

    def write(self, rows: StoredRows) -> dict[str, int]:
        counts = {"inserted": 0, "updated": 0, "unchanged": 0}
        if not rows.keys:
            return counts
        fresh = self.seen.add_new(rows.keys, rows.codes)
        if self.source == "nppes":
            fresh = prefer_newest(rows, fresh)
        if self.first_load:  # nothing stored to compare with: the first occurrences are inserted
            counts["inserted"] = self._insert_first(rows, fresh)
            return self._resolve(rows, fresh, counts)
        existing = self._existing([k for k, f in zip(rows.keys, fresh) if f])
        if self.source == "nppes" and existing:
            rows = keep_deactivated_values(
                self.session, rows, np.flatnonzero(fresh).tolist(), existing, tally=self.tally
            )
        keys, lines, npis = rows.keys, rows.lines, rows.npis
        hashes, payloads = rows.hashes, rows.payloads
        source, batch_id, file_name = self.source, self.batch_id, self.file_name
        inserts, updates = [], []
        for i in np.flatnonzero(fresh).tolist():
            have = existing.get(keys[i])
            if have is None:
                inserts.append(
                    (
                        source,
                        keys[i],
                        batch_id,
                        file_name,
                        lines[i],
                        hashes[i],
                        npis[i],
                        payloads[i],
                    )
                )
            elif have[1] != hashes[i]:
                updates.append(
                    {
                        "id": have[0],
                        "batch_id": batch_id,
                        "file_name": file_name,
                        "line": lines[i],
                        "record_hash": hashes[i],
                        "npi": npis[i],
                        "data": orjson.loads(payloads[i]),
                    }
                )
            else:
                counts["unchanged"] += 1
        counts["inserted"] = bulk_insert(
            self.session, SourceRecord.__table__, _INSERT_COLUMNS, inserts
        )
        if updates:
            keep_history(self.session, [u["id"] for u in updates], replaced_by=self.batch_id)
            self.session.execute(update(SourceRecord), updates)
        counts["updated"] = len(updates)
        return self._resolve(rows, fresh, counts)

    def _insert_first(self, rows: StoredRows, fresh: np.ndarray) -> int:
        """Insert the chunk's first occurrences (every row, read in place, when none repeats)."""
        n = len(rows)
        columns = (
            repeat(self.source, n),
            rows.keys,
            repeat(self.batch_id, n),
            repeat(self.file_name, n),
            rows.lines,
            rows.hashes,
            rows.npis,
            rows.payloads,
        )
        records: Iterable = zip(*columns)
        if not fresh.all():
            records = (r for r, f in zip(records, fresh.tolist()) if f)
        return bulk_insert(self.session, SourceRecord.__table__, _INSERT_COLUMNS, records)

    def _resolve(
        self, rows: StoredRows, fresh: np.ndarray, counts: dict[str, int]
    ) -> dict[str, int]:
        """The chunk's repeated keys resolved (once the rows kept so far are written)."""
        change = resolve_duplicates(
            self.session,
            rows,
            np.flatnonzero(~fresh),
            source=self.source,
            batch_id=self.batch_id,
            tally=self.tally,
        )
        return {key: value + change.get(key, 0) for key, value in counts.items()}

    def _existing(self, keys: list[str]) -> dict[str, tuple[int, str]]:
        """``source_key -> (id, record_hash)`` of the stored records among ``keys``.

        One statement shape (a short last part is padded with a repeated key),
        compiled once from table metadata and run on the driver: the SQL
        expression machinery would otherwise re-render 900 parameters per query.
        """
        found: dict[str, tuple[int, str]] = {}
        if not keys:
            return found
        connection = self.session.connection()
        statement, order = _lookup_statement(connection.dialect)
        positional = connection.dialect.positional
        for part in chunked(keys, _KEY_CHUNK):
            named = {"source": self.source, **{f"k{i}": k for i, k in enumerate(part)}}
            named.update({f"k{i}": part[0] for i in range(len(part), _KEY_CHUNK)})
            params: Any = tuple(named[n] for n in order) if positional else named
            found.update({k: (i, h) for k, i, h in connection.exec_driver_sql(statement, params)})
        return found


def _lookup_statement(dialect: Any) -> tuple[str, list[str]]:
    """``SELECT source_key, id, record_hash`` of one source's records among ``_KEY_CHUNK`` keys."""
    names = ["source", *(f"k{i}" for i in range(_KEY_CHUNK))]

    def build() -> Any:
        table = SourceRecord.__table__
        return select(table.c.source_key, table.c.id, table.c.record_hash).where(
            table.c.source == bindparam("source"),
            table.c.source_key.in_([bindparam(n) for n in names[1:]]),
        )

    return compiled_once(dialect, ("source_records lookup", _KEY_CHUNK), build, names)


def _results(
    path: Path,
    source: Source,
    chunk_rows: int,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
    temp_dir: Path | None = None,
) -> Iterable:
    """The reader for ``source``: one :class:`~enrichment.records.ReadResult` per chunk."""
    if source == "nppes":
        if path.suffix.lower() == ".zip":
            return _nppes_zip_results(path, chunk_rows, encoding)
        from enrichment.nppes import iter_nppes

        return iter_nppes(path, chunk_rows=chunk_rows, encoding=encoding)
    if source == "cms_dac":
        from enrichment.cms import iter_cms

        return iter_cms(path, chunk_rows=chunk_rows, encoding=encoding, temp_dir=temp_dir)
    if source == "rpps":
        from enrichment.rpps import iter_rpps

        return iter_rpps(path, chunk_rows=chunk_rows, encoding=encoding)
    if source == "finess":
        from enrichment.finess import iter_finess

        return iter_finess(path, chunk_rows=chunk_rows, encoding=encoding)
    from enrichment.referrers import read_referrer_list

    return [read_referrer_list(path, mapping=mapping, encoding=encoding)]


def _nppes_zip_results(path: Path, chunk_rows: int, encoding: str | None) -> Iterator[ReadResult]:
    """The published NPPES zip, read in place: main file chunks with their companions.

    The companion files (other names, secondary locations, endpoints) are read
    once, grouped by NPI, and merged into the records of each chunk of the main
    file that has any; their rejects are reported with the first chunk.
    """
    from enrichment.nppes_companions import Companions, attach_companion_columns
    from enrichment.nppes_zip import open_nppes_zip

    archive = open_nppes_zip(path)
    read = {
        role: archive.read_companion(role, encoding=encoding)
        for role in ("othername", "pl", "endpoint")
    }
    pending = [p for c in read.values() for p in c.rejects]
    companions = Companions.build(
        other_names=read["othername"], locations=read["pl"], endpoints=read["endpoint"]
    )
    del read
    for result in archive.iter_main(chunk_rows, encoding=encoding):
        rejects = [*pending, *result.rejects]
        pending = []
        assert result.columns is not None  # the NPPES reader is columnar
        yield ReadResult(
            columns=attach_companion_columns(result.columns, companions),
            rejects=rejects,
            rows_read=result.rows_read,
            warnings=result.warnings,
        )


def _refresh_statistics(session: Session, chunk_number: int) -> None:
    """Keep PostgreSQL's statistics of ``source_records`` current during a long load.

    A first load fills the table inside one transaction; with statistics from
    when it was empty the planner scans the whole table for every key lookup
    and each chunk gets slower than the last. Re-analysing after chunks 1, 2,
    4, 8, ... costs little and keeps the lookups on the unique index.
    """
    if session.get_bind().dialect.name == "postgresql" and chunk_number & (chunk_number + 1) == 0:
        analyze(session, SourceRecord.__tablename__)


def ingest_records(
    ctx: AppContext,
    path: Path,
    *,
    source: Source,
    progress: ProgressSink = null_progress,
    reject_dir: Path | None = None,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> BatchReport:
    """Load a registry file or referrer list into ``source_records`` as one batch.

    ``mapping`` (referrer lists only) names the file's header for standard
    fields the automatic detection gets wrong, e.g. ``{"phone": "Tel. cabinet"}``;
    the columns of a referrer list that no field takes are named in the
    report's warnings. ``encoding`` names the file's text encoding (``None``
    detects it: :mod:`core.encodings`; a detected one is a warning).

    Raises
    ------
    SchemaError, EncodingError, RejectLimitError, InputError
        The batch is refused whole; stored data are unchanged.
    """
    path = Path(path)
    with (
        run_batch(ctx, source=source, path=path, reject_dir=reject_dir) as batch,
        ctx.sessions.begin() as session,
    ):
        writer = _RecordWriter(session, source=source, batch_id=batch.id, file_name=path.name)
        taxonomy = TaxonomyCheck.of(session)
        chunk_number = 0
        small = path.stat().st_size < ctx.settings.parallel_read_bytes
        chunks = iter_stored_rows(
            _results,
            path,
            source,
            ctx.settings.chunk_rows,
            mapping,
            encoding,
            ctx.settings.cache_dir,  # where a CMS file's rows wait to be grouped by NPI
            in_process=small,
        )
        with wal_written_behind(session):
            for chunk in chunks:
                batch.rows_read += chunk.rows_read
                batch.rejects.extend(chunk.rejects)
                batch.warn(chunk.warnings)
                batch.add(writer.write(chunk.rows))
                taxonomy.add(chunk.rows)
                _refresh_statistics(session, chunk_number)
                chunk_number += 1
                progress(f"ingest {path.name}", batch.rows_read, None)
        batch.warn([*writer.tally.warnings(file=path.name), *taxonomy.warnings(file=path.name)])
        check_reject_rate(path.name, batch.rows_read, batch.rejects, ctx.settings.max_reject_rate)
        return batch.finish(session, reject_dir)


REFERRAL_FIELDS = (
    "referral_date",
    "referrer_npi",
    "referrer_name",
    "service_line",
    "site_code",
    "patient_ref",
)


def ingest_referral_events(
    ctx: AppContext,
    path: Path,
    *,
    progress: ProgressSink = null_progress,
    reject_dir: Path | None = None,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> BatchReport:
    """Load referral events; idempotent on ``external_id``.

    Events are linked to golden records by the referrals stage
    (:func:`service.prospecting.referrals.link_referral_events`), so they may be loaded
    before or after the registry. ``mapping`` (field -> the file's header) names
    columns whatever their headers; columns no field takes are named in the
    report's warnings; ``encoding`` names the file's text encoding (``None`` detects it).
    """
    from prospects.referrals import iter_referral_events

    path = Path(path)
    stage = f"ingest {path.name}"
    with run_batch(ctx, source="referral_events", path=path, reject_dir=reject_dir) as batch:
        chunks = iter_referral_events(
            path,
            # between PRM_MIN_EVENT_DATE and tomorrow (a referral made today in a later time zone)
            as_of=(ctx.settings.as_of or date.today()) + timedelta(days=1),
            chunk_rows=ctx.settings.chunk_rows,
            mapping=mapping,
            encoding=encoding,
            earliest=ctx.settings.min_event_date,
        )
        # one transaction: a file refused at its end (too many rejects) leaves nothing written
        with ctx.sessions.begin() as session:
            for read in chunks:
                batch.rows_read += read.rows_read
                batch.rejects.extend(read.rejects)
                batch.warn(read.warnings)
                batch.add(_upsert_events(session, read.events, batch_id=batch.id))
                progress(stage, batch.rows_read, None)  # the total is known at the end
            check_reject_rate(
                path.name, batch.rows_read, batch.rejects, ctx.settings.max_reject_rate
            )
            progress(stage, batch.rows_read, batch.rows_read)
            return batch.finish(session, reject_dir)


def _upsert_events(session: Session, events: pd.DataFrame, *, batch_id: int) -> dict[str, int]:
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    rows = events.to_dict("records")
    existing: dict[str, ReferralEvent] = {}
    for part in chunked([str(r["external_id"]) for r in rows], _KEY_CHUNK):
        for ev in session.scalars(select(ReferralEvent).where(ReferralEvent.external_id.in_(part))):
            existing[ev.external_id] = ev
    inserts = []
    for row in rows:
        values = {f: json_value(row.get(f)) for f in REFERRAL_FIELDS}
        values["referral_date"] = row["referral_date"]
        ev = existing.get(str(row["external_id"]))
        if ev is None:
            inserts.append(
                {
                    "external_id": str(row["external_id"]),
                    "batch_id": batch_id,
                    "line": int(row["line"]),
                    **values,
                }
            )
        elif any(getattr(ev, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(ev, f, v)
            ev.provider_id = None  # re-linked by the referrals stage
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    if inserts:
        session.execute(ReferralEvent.__table__.insert(), inserts)
    counts["inserted"] = len(inserts)
    return counts


def ingest_nucc(ctx: AppContext, path: Path, *, encoding: str | None = None) -> BatchReport:
    """Load one version of the NUCC code set (versions live side by side; the newest is in force).

    ``encoding`` names the file's text encoding (``None`` detects it: :mod:`core.encodings`).
    """
    from enrichment.nucc import nucc_version, read_nucc

    path = Path(path)
    cols = ("grouping", "classification", "specialization", "display_name", "section")
    with run_batch(ctx, source="nucc", path=path) as batch:
        frame = read_nucc(path, encoding=encoding, warnings=batch.warnings)
        version = nucc_version(path)
        batch.rows_read = len(frame)
        with ctx.sessions.begin() as session:
            have = {
                t.code: t
                for t in session.scalars(select(Taxonomy).where(Taxonomy.version == version))
            }
            for row in frame.to_dict("records"):
                values = {c: row.get(c) or None for c in cols} | {"version": version}
                tax = have.get(row["code"])
                if tax is None:
                    session.add(Taxonomy(code=row["code"], **values))
                    batch.counts["inserted"] += 1
                elif any(getattr(tax, k) != v for k, v in values.items()):
                    for k, v in values.items():
                        setattr(tax, k, v)
                    batch.counts["updated"] += 1
                else:
                    batch.counts["unchanged"] += 1
            return batch.finish(session)
