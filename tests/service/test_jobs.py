"""Job bookkeeping: one running job per kind (interrupted jobs: tests/service/test_leases.py)."""

from __future__ import annotations

import pytest

from core.errors import ConflictError
from data.models import Job
from service.jobs import start_job
from service.leases import lease_values


def test_one_running_job_per_kind(ctx) -> None:
    with ctx.sessions.begin() as s:
        s.add(
            Job(kind="pipeline", status="running", done=0, **lease_values(ctx))
        )  # a live one's lease
    with pytest.raises(ConflictError, match="already running"):
        start_job(ctx, "pipeline", lambda c, p: [])
