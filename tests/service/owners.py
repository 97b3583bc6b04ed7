"""Helpers for tests of leases: owner processes to stop and kill, polling with generous deadlines.

Nothing here imports the lease code itself, so tests built on these run (and
fail for what they check) against code without leases too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from data.models import Job, LoadBatch
from service.context import AppContext, open_context

ROOT = Path(__file__).resolve().parents[2]


def wait_until(
    check: Callable[[], bool], *, timeout: float = 120.0, what: str = "condition"
) -> None:
    """Poll ``check`` until it holds (generous deadline: no assumption on the machine's speed)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_stopped(proc: subprocess.Popen, *, timeout: float = 120.0) -> None:
    """Wait until ``proc`` is stopped (SIGSTOP); fail if it exited instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, status = os.waitpid(proc.pid, os.WNOHANG | os.WUNTRACED)
        if pid:
            if os.WIFSTOPPED(status):
                return
            proc.returncode = os.waitstatus_to_exitcode(status)
            raise AssertionError(f"process exited ({proc.returncode}) instead of stopping")
        time.sleep(0.05)
    raise AssertionError("process did not stop in time")


def lease_expired(ctx: AppContext, model: type[LoadBatch] | type[Job], row_id: int) -> bool:
    """Whether the row's lease has expired, by the clock the service judges it with."""
    now = func.now() if ctx.engine.dialect.name == "postgresql" else datetime.now(UTC)
    with ctx.sessions() as s:
        return bool(s.scalar(select(model.lease_expires_at < now).where(model.id == row_id)))


def status_of(ctx: AppContext, model: type[LoadBatch] | type[Job], row_id: int) -> str:
    with ctx.sessions() as s:
        return s.scalar(select(model.status).where(model.id == row_id))


def dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def with_lease(ctx: AppContext, settings_update: dict) -> AppContext:
    """A second context on the same database with other lease settings."""
    return open_context(ctx.settings.model_copy(update=settings_update), migrate=False)


JOB_OWNER = """
import sys, threading
from core.settings import Settings
from service.context import open_context
from service.jobs import start_job

ctx = open_context(Settings(database_url=sys.argv[1], lease_duration_s=float(sys.argv[2]),
                            lease_heartbeat_s=float(sys.argv[3])))
release = threading.Event()
job = start_job(ctx, "pipeline", lambda c, p: [] if release.wait() else [])
print(job.id, flush=True)
sys.stdin.read()  # runs until the test closes our stdin (or kills us)
release.set()
for t in threading.enumerate():
    if t.name == f"job-{job.id}":
        t.join()
"""


def start_job_owner(
    url: str, *, lease_s: float = 1.0, heartbeat_s: float = 0.2
) -> tuple[subprocess.Popen, int]:
    """Another process running a pipeline job until its stdin closes; returns it and the job id."""
    proc = subprocess.Popen(
        [sys.executable, "-c", JOB_OWNER, url, str(lease_s), str(heartbeat_s)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert line.strip().isdigit(), f"the job owner failed to start: {line!r}"
    return proc, int(line)
