"""Chunk checkpoints: how a killed pipeline run resumes from its last completed chunk.

A stage that works in chunks asks :meth:`Checkpoints.done` before a chunk and
calls :meth:`Checkpoints.mark` in the *same transaction* as the chunk's writes,
so a chunk is either stored and marked or neither. A chunk key names what the
chunk covers (e.g. ``"site=OSU-EAST providers=[0,65536)"``), so a resumed run
whose chunking changed (another memory budget) recomputes rather than skips.

:data:`no_checkpoints` is the default for a stage run on its own: nothing is
skipped and nothing is recorded. :class:`RunCheckpoints` stores a pipeline
run's chunks (``pipeline_chunks``); :func:`open_run` starts a run or resumes
the latest unfinished one (:mod:`service.pipeline`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import ConflictError
from data.models.runs import PipelineChunk, PipelineRun
from service.context import AppContext
from service.leases import held_lease, lease_values, recover_interrupted


class Checkpoints(Protocol):
    def done(self, stage: str, chunk: str) -> bool:
        """Whether this run already stored that chunk of that stage."""
        ...

    def mark(self, session: Session, stage: str, chunk: str) -> None:
        """Record the chunk as stored, in the transaction that stores it."""
        ...


class _NoCheckpoints:
    def done(self, stage: str, chunk: str) -> bool:
        return False

    def mark(self, session: Session, stage: str, chunk: str) -> None:
        return None


#: Nothing skipped, nothing recorded (a stage run outside a resumable pipeline run).
no_checkpoints: Checkpoints = _NoCheckpoints()


# ----------------------------------------------------------------------------- stored runs

#: The chunk key marking a whole stage stored (a resumed run skips the stage).
WHOLE_STAGE = "*"


class RunCheckpoints:
    """The checkpoints of one stored pipeline run (``pipeline_chunks``).

    :meth:`done` answers from the chunks stored before this attempt began (read
    once, at :func:`open_run`); chunks this attempt marks are never asked
    again, and a rolled-back mark must not count, so they are not added.
    """

    def __init__(self, *, run_id: int, stored: set[tuple[str, str]]) -> None:
        self.run_id = run_id
        self._stored = stored

    def done(self, stage: str, chunk: str) -> bool:
        return (stage, chunk) in self._stored

    def mark(self, session: Session, stage: str, chunk: str) -> None:
        session.execute(insert(PipelineChunk).values(run_id=self.run_id, stage=stage, chunk=chunk))

    def stage_done(self, stage: str) -> bool:
        """Whether an earlier attempt of this run completed the whole stage."""
        return self.done(stage, WHOLE_STAGE)

    def mark_stage(self, ctx: AppContext, stage: str) -> None:
        """Record the whole stage completed (after its own transactions committed)."""
        with ctx.sessions.begin() as session:
            self.mark(session, stage, WHOLE_STAGE)


@dataclass(frozen=True)
class OpenedRun:
    """A pipeline run this process now owns: new, or an unfinished one resumed.

    Attributes
    ----------
    id
        The ``pipeline_runs`` row.
    resumed
        Whether an earlier attempt's stored chunks are skipped.
    note
        One line for the user: what was resumed, or why a new run started.
    checkpoints
        The run's checkpoints (pass to the stages).
    """

    id: int
    resumed: bool
    note: str
    checkpoints: RunCheckpoints


def open_run(
    ctx: AppContext, *, scope: dict[str, Any], fingerprint: str, restart: bool = False
) -> OpenedRun:
    """Resume the latest pipeline run if it did not finish, else start a new one.

    The latest run is resumed when it is ``interrupted`` (its process was
    killed: :func:`~service.leases.recover_interrupted` marks it once its lease
    expired and its owner is gone) or ``failed``, and was started with the same
    ``scope`` over the same inputs (``fingerprint``). Otherwise, or with
    ``restart``, a new run starts and the unfinished one is left as it is: a
    different scope is a different run, and changed inputs make its stored
    chunks stale.

    Raises
    ------
    ConflictError
        A pipeline run is still running (its owner alive, or its lease not yet
        expired).
    """
    recover_interrupted(ctx, only="pipeline runs")
    with ctx.sessions() as session:
        latest = session.scalars(
            select(PipelineRun).order_by(PipelineRun.id.desc()).limit(1)
        ).first()
    if latest is not None and latest.status == "running":
        raise ConflictError(
            f"pipeline run {latest.id} is still running (process {latest.owner_pid} on "
            f"{latest.owner_host}); a killed run is resumable once its lease expires "
            f"(at {latest.lease_expires_at})"
        )
    unfinished = latest is not None and latest.status in ("interrupted", "failed")
    if unfinished and not restart and latest.scope == scope and latest.fingerprint == fingerprint:
        return _resume(ctx, latest.id, latest.status)
    if not unfinished:
        note = f"starting pipeline run (scope {_describe(scope)})"
    elif restart:
        note = f"--restart: {latest.status} pipeline run {latest.id} left as it is; starting afresh"
    elif latest.scope != scope:
        note = (
            f"{latest.status} pipeline run {latest.id} covered another scope "
            f"({_describe(latest.scope)}); starting afresh for {_describe(scope)}"
        )
    else:
        note = f"the inputs changed since {latest.status} pipeline run {latest.id}; starting afresh"
    try:
        with ctx.sessions.begin() as session:
            run = PipelineRun(
                status="running", scope=scope, fingerprint=fingerprint, **lease_values(ctx)
            )
            session.add(run)
            session.flush()
            run_id = run.id
    except IntegrityError as exc:  # the unique index on running runs: another start won
        raise ConflictError("a pipeline run is already running") from exc
    return OpenedRun(
        id=run_id, resumed=False, note=note, checkpoints=RunCheckpoints(run_id=run_id, stored=set())
    )


def _resume(ctx: AppContext, run_id: int, was: str) -> OpenedRun:
    """Take over unfinished run ``run_id``: running again, leased to this process."""
    try:
        with ctx.sessions.begin() as session:
            taken = session.execute(
                update(PipelineRun)
                .where(PipelineRun.id == run_id, PipelineRun.status == was)
                .values(status="running", finished_at=None, detail=None, **lease_values(ctx))
                .execution_options(synchronize_session=False)
            ).rowcount
            stored = {
                (stage, chunk)
                for stage, chunk in session.execute(
                    select(PipelineChunk.stage, PipelineChunk.chunk).where(
                        PipelineChunk.run_id == run_id
                    )
                )
            }
    except IntegrityError as exc:
        taken, cause = 0, exc
    else:
        cause = None
    if not taken:  # another start resumed it (or began another run) first
        raise ConflictError(f"pipeline run {run_id} was taken by another process") from cause
    stages = sorted({stage for stage, chunk in stored if chunk == WHOLE_STAGE})
    chunks = sum(1 for _, chunk in stored if chunk != WHOLE_STAGE)
    note = (
        f"resuming {was} pipeline run {run_id}: stages done {', '.join(stages) or 'none'}, "
        f"{chunks} chunk(s) of others stored; --restart starts afresh"
    )
    return OpenedRun(
        id=run_id,
        resumed=True,
        note=note,
        checkpoints=RunCheckpoints(run_id=run_id, stored=stored),
    )


def finish_run(ctx: AppContext, run_id: int, *, status: str, detail: dict[str, Any] | None) -> None:
    """Record the end of a run this process owns (``done`` or ``failed``)."""
    with ctx.sessions.begin() as session:
        session.execute(
            update(PipelineRun)
            .where(PipelineRun.id == run_id)
            .values(status=status, detail=detail, finished_at=datetime.now(UTC))
        )


@contextmanager
def run_lease(ctx: AppContext, run_id: int) -> Iterator[None]:
    """Hold the run's lease while the block runs (:func:`service.leases.held_lease`)."""
    with held_lease(ctx, PipelineRun, run_id):
        yield


def _describe(scope: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in scope.items() if v is not None]
    return ", ".join(parts) or "everything"
