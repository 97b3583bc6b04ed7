"""Load batches: provenance, file hashes, reject files, the reject-rate rule, warnings, a running
load's lease."""

from __future__ import annotations

import csv
import json
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Problem, RejectLimitError, ServiceError
from core.files import file_sha256
from core.notices import HEADER_ONLY, LoadWarning, merged
from data.models import LoadBatch
from service.context import AppContext
from service.leases import held_lease, lease_values
from service.schemas import BatchPublic, BatchReport, BatchStatus


def open_batch(ctx: AppContext, *, source: str, path: Path, file_hash: str = "") -> int:
    """Record the start of a load, leased to this process, in its own transaction; returns its id.

    ``file_hash`` may be left blank while it is being computed; :func:`close_batch` records it.
    Hold the lease with :func:`service.leases.held_lease` (:func:`run_batch` does).
    """
    with ctx.sessions.begin() as session:
        batch = LoadBatch(
            source=source,
            file_name=path.name,
            file_hash=file_hash,
            status="running",
            **lease_values(ctx),
        )
        session.add(batch)
        session.flush()
        return batch.id


def close_batch(
    session: Session,
    batch_id: int,
    *,
    status: str,
    counts: dict[str, int],
    report: dict,
    file_hash: str | None = None,
    warnings: Iterable[LoadWarning] = (),
) -> None:
    """Record how a load ended (the file's hash, when given, and its warnings), in the caller's
    transaction."""
    batch = session.get(LoadBatch, batch_id)
    batch.status = status
    if file_hash:
        batch.file_hash = file_hash
    batch.finished_at = datetime.now(UTC)
    for key, value in counts.items():
        setattr(batch, key, value)
    batch.report = report
    batch.warnings = [w.to_dict() for w in warnings] or None


def fail_batch(
    ctx: AppContext,
    batch_id: int,
    error: BaseException,
    *,
    file_hash: str | None = None,
    status: Literal["failed", "interrupted"] = "failed",
    warnings: Iterable[LoadWarning] = (),
    reject_file: Path | None = None,
) -> None:
    """Mark a batch failed (or interrupted) in its own transaction (after the data one rolled back).

    ``warnings``: those the load had raised before it failed, kept with the batch;
    ``reject_file``: where its rejected rows were written.
    """
    detail: dict = {"error": type(error).__name__, "detail": str(error)[:4000]}
    if isinstance(error, ServiceError):
        detail["problems"] = [p.to_dict() for p in error.problems[:200]]
    if reject_file is not None:
        detail["reject_file"] = str(reject_file)
    with ctx.sessions.begin() as session:
        close_batch(
            session,
            batch_id,
            status=status,
            counts={},
            report=detail,
            file_hash=file_hash,
            warnings=warnings,
        )


def list_batches(
    ctx: AppContext, *, status: BatchStatus | None = None, limit: int = 20
) -> list[BatchPublic]:
    """The newest batches first, with their owner and lease (``prm batches list``).

    Parameters
    ----------
    ctx
        The application context.
    status
        Only batches in this status.
    limit
        At most this many.
    """
    query = select(LoadBatch).order_by(LoadBatch.id.desc()).limit(limit)
    if status is not None:
        query = query.where(LoadBatch.status == status)
    with ctx.sessions() as session:
        return [BatchPublic.model_validate(b) for b in session.scalars(query)]


def check_reject_rate(
    file_name: str, rows_read: int, rejects: list[Problem], max_rate: float
) -> None:
    """Refuse the batch whole when more than ``max_rate`` of its rows were rejected."""
    bad_lines = {p.line for p in rejects}
    if rows_read and len(bad_lines) / rows_read > max_rate:
        raise RejectLimitError(
            f"{file_name}: {len(bad_lines)} of {rows_read} rows rejected "
            f"(more than {max_rate:.0%}); nothing was loaded",
            problems=rejects,
        )


def write_reject_file(
    directory: Path, file_name: str, batch_id: int, rejects: list[Problem]
) -> Path | None:
    """Write rejected rows' problems as CSV (file, line, field, value, message); ``None``: none.

    Every batch with rejected rows has one, committed or refused (a refused
    batch's names every row rejected before it was refused).
    """
    if not rejects:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"batch{batch_id}-{Path(file_name).stem}.rejects.csv"
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "line", "field", "value", "message"])
        for p in rejects:
            writer.writerow([p.file, p.line, p.field, p.value, p.message])
    return out


@dataclass
class BatchRun:
    """A load in progress: what it has read, written and rejected so far."""

    ctx: AppContext
    id: int
    source: str
    path: Path
    digest: Future[str]  # the file's SHA-256, computed beside the load
    started: float = field(default_factory=time.perf_counter)
    rows_read: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: {"inserted": 0, "updated": 0, "unchanged": 0}
    )
    rejects: list[Problem] = field(default_factory=list)
    warnings: list[LoadWarning] = field(default_factory=list)
    reject_dir: Path | None = None  # default: <var>/rejects

    def add(self, counts: dict[str, int]) -> None:
        for key, value in counts.items():
            self.counts[key] += value

    def warn(self, warnings: Iterable[LoadWarning]) -> None:
        """Keep warnings for the batch's report (each once, in the order raised; the same
        warning from several chunks once, its counts added: :func:`core.notices.merged`)."""
        for warning in warnings:
            merged(self.warnings, warning)

    @property
    def file_hash(self) -> str:
        """Hex SHA-256 of the file (waits for it; raises what reading the file raised)."""
        return self.digest.result()

    def write_rejects(self, reject_dir: Path | None = None) -> Path | None:
        """Write the batch's reject file (``None`` when no row was rejected)."""
        directory = reject_dir or self.reject_dir or self.ctx.settings.cache_dir.parent / "rejects"
        return write_reject_file(directory, self.path.name, self.id, self.rejects)

    def finish(self, session: Session, reject_dir: Path | None = None) -> BatchReport:
        """Write the reject file and mark the batch committed in the data transaction.

        Call it last inside the data transaction: the batch is recorded as
        committed exactly when its rows are. A file without a data row is
        reported with a :data:`~core.notices.HEADER_ONLY` warning.
        """
        if self.rows_read == 0:
            self.warn([_header_only(self.path.name)])
        reject_file = self.write_rejects(reject_dir)
        rejected = len({p.line for p in self.rejects})
        report = BatchReport(
            batch_id=self.id,
            source=self.source,
            file_name=self.path.name,
            file_hash=self.file_hash,
            status="committed",
            rows_read=self.rows_read,
            rejected=rejected,
            duration_s=round(time.perf_counter() - self.started, 3),
            rejects=[p.to_dict() for p in self.rejects[:100]],
            reject_file=str(reject_file) if reject_file else None,
            warnings=[w.to_dict() for w in self.warnings],
            **self.counts,
        )
        close_batch(
            session,
            self.id,
            status="committed",
            counts={"rows_read": self.rows_read, "rejected": rejected, **self.counts},
            report=json.loads(report.model_dump_json(exclude={"rejects", "warnings"})),
            file_hash=self.file_hash,
            warnings=self.warnings,
        )
        return report


def _header_only(file_name: str) -> LoadWarning:
    return LoadWarning(
        code=HEADER_ONLY,
        message="no data rows (a header, or a first line, only): nothing was loaded",
        file=file_name,
    )


def _refused(ctx: AppContext, run: BatchRun, exc: Exception, digest: Future[str]) -> None:
    """Record a refused load: its reject file (named in the error too), then the failed batch."""
    reject_file = note = None
    if run.rejects:
        try:
            reject_file = run.write_rejects()
            note = f"rejected rows written to {reject_file}"
        except OSError as write_error:  # the refusal matters more than the file: it goes on
            note = f"the reject file could not be written: {write_error}"
    if note is not None and isinstance(exc, ServiceError):
        exc.extend_detail(note)
    known = None if digest.exception() else digest.result()  # the failed file's hash, when readable
    fail_batch(ctx, run.id, exc, file_hash=known, warnings=run.warnings, reject_file=reject_file)


@contextmanager
def run_batch(
    ctx: AppContext, *, source: str, path: Path, reject_dir: Path | None = None
) -> Iterator[BatchRun]:
    """Open a batch for ``path``; any error inside marks it failed and propagates.

    The data transaction belongs inside the block, so a failure rolls it back
    before the batch is marked failed; end that transaction with
    :meth:`BatchRun.finish`. A refused batch with rejected rows writes its
    reject file (in ``reject_dir``, default ``<var>/rejects``), and the error
    says where.
    """
    path = Path(path)
    path.stat()  # a missing or unreadable file fails here, before any batch is recorded
    # the hash reads the whole file (a second or more for a monthly registry): on a thread of its
    # own, beside the load, rather than before it (hashlib and file reads release the GIL)
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="file-hash")
    digest = pool.submit(file_sha256, path, stop=stop)
    try:
        run = BatchRun(
            ctx=ctx,
            id=open_batch(ctx, source=source, path=path),
            source=source,
            path=path,
            digest=digest,
            reject_dir=reject_dir,
        )
        with held_lease(ctx, LoadBatch, run.id):
            try:
                yield run
            except Exception as exc:
                _refused(ctx, run, exc, digest)
                raise
            except BaseException as exc:  # Ctrl-C: recorded at once, without waiting for the hash
                fail_batch(ctx, run.id, exc, status="interrupted", warnings=run.warnings)
                raise
    finally:
        stop.set()  # a hash still running stops at its next block
        pool.shutdown(wait=False)
