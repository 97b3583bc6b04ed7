"""Load batches: provenance, file hashes, reject files and the reject-rate rule."""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from core.errors import Problem, RejectLimitError, ServiceError
from data.models import LoadBatch
from service.context import AppContext


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_batch(ctx: AppContext, *, source: str, path: Path, file_hash: str) -> int:
    """Record the start of a load in its own transaction; returns the batch id."""
    with ctx.sessions.begin() as session:
        batch = LoadBatch(source=source, file_name=path.name, file_hash=file_hash, status="running")
        session.add(batch)
        session.flush()
        return batch.id


def close_batch(
    ctx: AppContext, batch_id: int, *, status: str, counts: dict[str, int], report: dict
) -> None:
    """Record how a load ended (own transaction, after the data transaction)."""
    with ctx.sessions.begin() as session:
        batch = session.get(LoadBatch, batch_id)
        batch.status = status
        batch.finished_at = datetime.now(UTC)
        for key, value in counts.items():
            setattr(batch, key, value)
        batch.report = report


def fail_batch(ctx: AppContext, batch_id: int, error: Exception) -> None:
    detail = {"error": type(error).__name__, "detail": str(error)[:4000]}
    if isinstance(error, ServiceError):
        detail["problems"] = [p.to_dict() for p in error.problems[:200]]
    close_batch(ctx, batch_id, status="failed", counts={}, report=detail)


def check_reject_rate(file_name: str, rows_read: int, rejects: list[Problem], max_rate: float) -> None:
    """Refuse the batch whole when more than ``max_rate`` of its rows were rejected."""
    bad_lines = {p.line for p in rejects}
    if rows_read and len(bad_lines) / rows_read > max_rate:
        raise RejectLimitError(
            f"{file_name}: {len(bad_lines)} of {rows_read} rows rejected "
            f"(more than {max_rate:.0%}); nothing was loaded",
            problems=rejects,
        )


def write_reject_file(directory: Path, file_name: str, batch_id: int, rejects: list[Problem]) -> Path | None:
    """Write rejected rows' problems as CSV (file, line, field, value, message)."""
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
