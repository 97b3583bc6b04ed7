"""Long jobs started through the API, run in a background thread with stored progress.

A job row records its kind, status (``running``, ``done``, ``failed``, or
``interrupted`` when its process stopped before it ended), the stage in
progress with done/total counts and the time left in it
(``eta_seconds``, :class:`core.progress.Rate`), and at the end the stage reports or the
error (with its problems). One job of a kind runs at a time. A running job is
leased to its process (:mod:`service.leases`): once its owner is gone and its
lease expired, a starting process marks it interrupted, and so does an
attempt to start a job of the same kind.

Live progress is kept on the :class:`~service.context.AppContext` of the
process running the job and merged into :func:`get_job` answers. On
PostgreSQL it is also written to the job row (throttled, own transactions), so
every API worker sees it; SQLite has a single writer, and the job's stage holds
it, so there the row is written at start and end only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import ConflictError, NotFoundError, ServiceError
from core.progress import ProgressSink, Rate
from data.models import Job
from service.context import AppContext
from service.leases import held_lease, lease_values, recover_interrupted

JobFn = Callable[[AppContext, ProgressSink], list[BaseModel]]


JobStatus = Literal["running", "done", "failed", "interrupted"]


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    status: JobStatus = Field(
        description="'interrupted': its process stopped before the job ended."
    )
    stage: str | None
    done: int
    total: int | None
    eta_seconds: float | None = Field(
        None,
        ge=0,
        description=(
            "Seconds left in the current stage at the stage's rate since it began; null while "
            "unknown (no total, nothing done yet) and once the job ended."
        ),
        examples=[42.5],
    )
    detail: dict[str, Any] | None
    started_at: datetime
    finished_at: datetime | None


def _update(ctx: AppContext, job_id: int, **values: Any) -> None:
    with ctx.sessions.begin() as session:
        job = session.get(Job, job_id)
        for key, value in values.items():
            setattr(job, key, value)


class _Progress:
    """A progress sink: live in memory, and on PostgreSQL also in the job row (throttled)."""

    def __init__(self, ctx: AppContext, job_id: int, interval: float = 0.5) -> None:
        self.ctx, self.job_id, self.interval = ctx, job_id, interval
        self.persist = ctx.engine.dialect.name == "postgresql"
        self.last: tuple[str | None, float] = (None, 0.0)
        self.rate = Rate()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        eta = self.rate.update(stage, done, total)
        eta = None if eta is None else round(eta, 1)
        self.ctx.job_progress[self.job_id] = (stage, done, total, eta)
        now = time.monotonic()
        if not self.persist or (stage == self.last[0] and now - self.last[1] < self.interval):
            return
        self.last = (stage, now)
        _update(self.ctx, self.job_id, stage=stage, done=done, total=total, eta_seconds=eta)


def _run(ctx: AppContext, job_id: int, fn: JobFn) -> None:
    with held_lease(ctx, Job, job_id):
        try:
            reports = fn(ctx, _Progress(ctx, job_id))
        except ServiceError as exc:
            status, detail = (
                "failed",
                {
                    "error": exc.title,
                    "detail": exc.detail,
                    "problems": [p.to_dict() for p in exc.problems[:200]],
                },
            )
        except Exception as exc:
            status, detail = "failed", {"error": type(exc).__name__, "detail": str(exc)[:2000]}
        else:
            status, detail = "done", {"reports": [r.model_dump(mode="json") for r in reports]}
        stage, done, total, _ = ctx.job_progress.pop(job_id, (None, 0, None, None))
        # still under the lease: until the end is written, no start may take the job for a dead one
        _update(
            ctx,
            job_id,
            status=status,
            detail=detail,
            stage=stage,
            done=done,
            total=total,
            eta_seconds=None,
            finished_at=datetime.now(UTC),
        )


def start_job(ctx: AppContext, kind: str, fn: JobFn) -> JobPublic:
    """Record a job and run ``fn(ctx, progress)`` in a background thread.

    Raises
    ------
    ConflictError
        A job of the same kind is still running.
    """
    try:
        public = _record_job(ctx, kind)
    except IntegrityError as exc:  # the unique index on running jobs of a kind
        # the running one may be a dead process's: marked interrupted, it no longer stands in the way
        if not recover_interrupted(ctx)["jobs"]:
            with ctx.sessions() as session:
                running = session.scalar(
                    select(Job.id).where(Job.kind == kind, Job.status == "running")
                )
            raise ConflictError(f"a {kind} job is already running (job {running})") from exc
        try:
            public = _record_job(ctx, kind)
        except IntegrityError as again:  # another request took the freed place first
            raise ConflictError(f"a {kind} job is already running") from again
    threading.Thread(
        target=_run, args=(ctx, public.id, fn), name=f"job-{public.id}", daemon=True
    ).start()
    return public


def _record_job(ctx: AppContext, kind: str) -> JobPublic:
    with ctx.sessions.begin() as session:
        job = Job(kind=kind, status="running", done=0, **lease_values(ctx))
        session.add(job)
        session.flush()
        return JobPublic.model_validate(job)


def get_job(ctx: AppContext, session: Session, job_id: int) -> JobPublic:
    """A job as stored, with this process's live progress when it runs here."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"no job with id {job_id}")
    public = JobPublic.model_validate(job)
    live = ctx.job_progress.get(job_id)
    if live is not None and public.status == "running":
        fields = ("stage", "done", "total", "eta_seconds")
        public = public.model_copy(update=dict(zip(fields, live, strict=True)))
    return public
