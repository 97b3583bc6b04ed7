"""A real ``prm ingest`` killed mid-load: the next command marks its batch interrupted, never a live one."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.main import app
from core.settings import Settings
from data.models import LoadBatch, SourceRecord
from service.context import AppContext, open_context
from tests.service.owners import ROOT, lease_expired, wait_stopped, wait_until
from tests.service.test_kill import bigger_nppes

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process states from /proc"),
]

PRM = str(Path(sys.executable).with_name("prm"))  # the console script of the installed package

#: ``prm`` itself, its progress bar swapped for one that stops the process (SIGSTOP) once two
#: chunks are written inside the load's open transaction: mid-load, whatever the machine's speed
STOPPING_PRM = """
import os, signal, sys
from contextlib import contextmanager
import cli.loading
import cli.main

@contextmanager
def stop_mid_load(**_):
    stopped = []
    def sink(stage, done, total):
        if done >= 200 and not stopped:
            stopped.append(done)
            os.kill(os.getpid(), signal.SIGSTOP)
    yield sink

cli.loading.rich_progress = stop_mid_load  # the ingest commands' progress bar
cli.main.app(sys.argv[1:], prog_name="prm")
"""


@pytest.fixture
def load(backend_url, tmp_path):
    """Start ``prm ingest nppes`` on 500 rows (5 chunks), stopped mid-load; yields (process, env, ctx)."""
    env = {
        **os.environ,
        "PRM_DATABASE_URL": backend_url,
        "PRM_CACHE_DIR": str(tmp_path / "cache"),
        "PRM_LEASE_DURATION_S": "1",
        "PRM_LEASE_HEARTBEAT_S": "0.2",  # short: no waiting on the clock
        "PRM_CHUNK_ROWS": "100",
        "PRM_MAX_REJECT_RATE": "1",
        "COLUMNS": "250",
        "PYTHONPATH": str(ROOT),
    }
    big = bigger_nppes(tmp_path / "npidata_big.csv", copies=50)
    log = (tmp_path / "ingest.log").open("w")  # a file, not a pipe nobody reads
    ctx = open_context(Settings(database_url=backend_url))
    proc = subprocess.Popen(
        [sys.executable, "-c", STOPPING_PRM, "ingest", "nppes", str(big)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_stopped(proc)
        yield proc, env, ctx
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        ctx.close()


def _batch(ctx: AppContext) -> LoadBatch:
    with ctx.sessions() as s:
        (batch,) = s.scalars(select(LoadBatch)).all()
        return batch


def _prm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [PRM, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_a_killed_ingest_is_marked_interrupted_by_a_later_command(load) -> None:
    proc, env, ctx = load
    proc.kill()  # SIGKILL mid-load: no chance to record anything
    assert proc.wait() == -signal.SIGKILL
    batch = _batch(ctx)
    assert batch.status == "running" and batch.owner_pid == proc.pid

    def marked() -> bool:
        _prm(env, "db", "upgrade")  # any command's start
        return _batch(ctx).status == "interrupted"

    wait_until(marked, timeout=300, what="the killed load's batch marked interrupted")
    (listed,) = json.loads(_prm(env, "batches", "list", "--json").stdout)
    assert listed["id"] == batch.id and listed["status"] == "interrupted"
    assert (listed["owner_host"], listed["owner_pid"]) == (socket.gethostname(), proc.pid)
    assert listed["finished_at"] and listed["started_at"].endswith(("Z", "+00:00"))
    table = _prm(env, "batches", "list", "--status", "interrupted").stdout
    assert "interrupted" in table and f"{socket.gethostname()}:{proc.pid}" in table
    with ctx.sessions() as s:  # the load's transaction rolled back: nothing of it is stored
        assert s.scalar(select(func.count()).select_from(SourceRecord)) == 0


def test_a_live_loads_batch_is_left_running_and_its_load_completes(load) -> None:
    proc, env, ctx = load
    batch = _batch(ctx)
    # stopped, it renews nothing: its lease expires while the process lives
    wait_until(lambda: lease_expired(ctx, LoadBatch, batch.id), what="the lease's expiry")
    (listed,) = json.loads(_prm(env, "batches", "list", "--json").stdout)  # a command's start
    assert listed["status"] == "running" and listed["owner_pid"] == proc.pid
    assert _batch(ctx).status == "running"
    proc.send_signal(signal.SIGCONT)
    assert proc.wait(timeout=300) == 0
    done = _batch(ctx)
    assert done.status == "committed" and done.inserted == 500


def test_batches_list_refuses_an_unknown_status(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PRM_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(app, ["batches", "list", "--status", "stuck"])
    assert result.exit_code == 2
    assert "--status" in result.output and "interrupted" in result.output
