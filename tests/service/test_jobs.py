"""Job bookkeeping: one running job per kind, interrupted jobs closed on restart."""

from __future__ import annotations

import pytest

from core.errors import ConflictError
from data.models import Job
from service.context import open_context
from service.jobs import start_job


def test_one_running_job_per_kind(ctx) -> None:  # noqa: ANN001
    with ctx.sessions.begin() as s:
        s.add(Job(kind="pipeline", status="running", done=0))
    with pytest.raises(ConflictError, match="already running"):
        start_job(ctx, "pipeline", lambda c, p: [])


def test_restart_closes_jobs_a_stopped_process_left_running(ctx) -> None:  # noqa: ANN001
    with ctx.sessions.begin() as s:
        s.add(Job(kind="pipeline", status="running", done=0))
    again = open_context(ctx.settings)
    try:
        with again.sessions() as s:
            job = s.query(Job).one()
        if again.engine.dialect.name == "sqlite":
            assert job.status == "failed" and job.detail["error"] == "Interrupted"
        else:  # several workers may share PostgreSQL: a running job may be alive elsewhere
            assert job.status == "running"
    finally:
        again.close()


def test_a_worker_of_several_leaves_running_jobs_alone(ctx) -> None:  # noqa: ANN001
    with ctx.sessions.begin() as s:
        s.add(Job(kind="pipeline", status="running", done=0))
    # prm serve --workers N recovers once itself, then starts its workers with this setting off
    worker = open_context(ctx.settings.model_copy(update={"recover_interrupted_jobs": False}))
    try:
        with worker.sessions() as s:
            assert s.query(Job).one().status == "running"  # may be another worker's, alive
    finally:
        worker.close()
