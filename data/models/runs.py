"""Storage for resumable pipeline runs: the run, leased to its process, and its completed chunks.

A ``pipeline_runs`` row is ``running`` while its process works (leased as jobs
are, :mod:`service.leases`), then ``done`` or ``failed``; ``interrupted`` when
its process stopped before the end. Each chunk a stage stored (and each whole
stage) is a ``pipeline_chunks`` row written in the transaction that stored it,
so a resumed run skips exactly what is stored (:mod:`service.checkpoints`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base
from data.types import UtcDateTime

__all__ = ["PipelineChunk", "PipelineRun"]


class PipelineRun(Base):
    """One run of ``prm pipeline`` (or its API job): its scope, status and lease."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (
        # one running pipeline at a time, enforced by the database (no check-then-insert race)
        Index(
            "ix_pipeline_runs_one_running",
            "status",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="running")
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    # what the run's inputs were when it started: a run over changed inputs is not resumed
    fingerprint: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    owner_host: Mapped[str | None] = mapped_column(String(255))
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PipelineChunk(Base):
    """A chunk (or a whole stage, chunk ``"*"``) a run stored."""

    __tablename__ = "pipeline_chunks"
    __table_args__ = (UniqueConstraint("run_id", "stage", "chunk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(40))
    chunk: Mapped[str] = mapped_column(String(200))
    done_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
