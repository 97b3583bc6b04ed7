"""Leases of running batches and jobs: who is alive, what a start marks interrupted, heartbeats."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from data.models import Job, LoadBatch
from service.context import AppContext, open_context
from service.ingest.batches import run_batch
from service.jobs import start_job
from service.leases import recover_interrupted, this_host
from service.stamp import data_stamp
from tests.service.owners import (
    dead_pid,
    lease_expired,
    start_job_owner,
    status_of,
    wait_stopped,
    wait_until,
    with_lease,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="process states from /proc"
)

HOUR = timedelta(hours=1)


def _add(ctx: AppContext, model: type[LoadBatch] | type[Job], n: int, **lease: object) -> int:
    with ctx.sessions.begin() as s:
        row = (
            LoadBatch(
                source="nppes", file_name=f"f{n}.csv", file_hash="", status="running", **lease
            )
            if model is LoadBatch
            else Job(kind=f"kind{n}", status="running", done=0, **lease)
        )
        s.add(row)
        s.flush()
        return row.id


# ----------------------------------------------------------------------------- who is alive


@pytest.mark.parametrize("model", [LoadBatch, Job], ids=["batches", "jobs"])
def test_a_start_marks_expired_leases_of_gone_owners_and_nothing_else(ctx, model) -> None:
    now, here = datetime.now(UTC), this_host()
    live = subprocess.Popen(["sleep", "600"])
    try:
        rows = {
            "elsewhere, expired": {
                "owner_host": "db-worker-7",
                "owner_pid": live.pid,
                "lease_expires_at": now - HOUR,
            },
            "elsewhere, fresh": {
                "owner_host": "db-worker-7",
                "owner_pid": 1,
                "lease_expires_at": now + HOUR,
            },
            "here, dead, expired": {
                "owner_host": here,
                "owner_pid": dead_pid(),
                "lease_expires_at": now - HOUR,
            },
            "here, dead, fresh": {
                "owner_host": here,
                "owner_pid": dead_pid(),
                "lease_expires_at": now + HOUR,
            },
            "here, alive, expired": {
                "owner_host": here,
                "owner_pid": live.pid,
                "lease_expires_at": now - HOUR,
            },
            # a restarted container's process often has its killed predecessor's pid: not held, so gone
            "this pid, not held, expired": {
                "owner_host": here,
                "owner_pid": os.getpid(),
                "lease_expires_at": now - HOUR,
            },
        }
        ids = {name: _add(ctx, model, n, **lease) for n, (name, lease) in enumerate(rows.items())}
        marked = recover_interrupted(ctx)
        statuses = {name: status_of(ctx, model, i) for name, i in ids.items()}
        again = recover_interrupted(ctx)
    finally:
        live.kill()
        live.wait()
    assert (
        statuses
        == {
            "elsewhere, expired": "interrupted",  # another machine: only the lease speaks for it
            "elsewhere, fresh": "running",
            "here, dead, expired": "interrupted",
            "here, dead, fresh": "running",  # never before the lease expires
            "here, alive, expired": "running",  # a live owner's (e.g. a load holding SQLite's write lock)
            "this pid, not held, expired": "interrupted",
        }
    )
    name = "batches" if model is LoadBatch else "jobs"
    assert marked[name] == 3
    with ctx.sessions() as s:
        row = s.get(model, ids["here, dead, expired"])
        outcome = row.report if model is LoadBatch else row.detail
        assert outcome["error"] == "Interrupted" and row.finished_at is not None
    assert again == {"batches": 0, "jobs": 0, "pipeline runs": 0}  # nothing twice


def test_rows_this_process_runs_are_alive_past_their_lease(ctx, tmp_path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("a\n")
    with run_batch(ctx, source="nppes", path=path) as run:
        with (
            ctx.sessions.begin() as s
        ):  # as if the load had outlived its lease (SQLite renews none)
            s.get(LoadBatch, run.id).lease_expires_at = datetime.now(UTC) - HOUR
        assert recover_interrupted(ctx)["batches"] == 0
        assert status_of(ctx, LoadBatch, run.id) == "running"
        with ctx.sessions.begin() as s:
            run.finish(s)
    assert status_of(ctx, LoadBatch, run.id) == "committed"


def test_several_starts_at_once_mark_each_row_once(ctx) -> None:
    gone = {
        "owner_host": "db-worker-7",
        "owner_pid": 1,
        "lease_expires_at": datetime.now(UTC) - HOUR,
    }
    ids = [_add(ctx, LoadBatch, n, **gone) for n in range(20)] + [
        _add(ctx, Job, n, **gone) for n in range(5)
    ]
    contexts = [with_lease(ctx, {}) for _ in range(4)]
    start = threading.Barrier(len(contexts))

    def starting(c: AppContext) -> dict[str, int]:
        start.wait()
        return recover_interrupted(c)

    try:
        with ThreadPoolExecutor(len(contexts)) as pool:
            results = list(pool.map(starting, contexts))
        # a start that found SQLite's write lock taken leaves its rows to a later start
        results.append(recover_interrupted(ctx))
    finally:
        for c in contexts:
            c.close()
    assert sum(r["batches"] for r in results) == 20 and sum(r["jobs"] for r in results) == 5
    assert {status_of(ctx, LoadBatch, i) for i in ids[:20]} == {"interrupted"}


def test_a_start_does_not_wait_behind_a_live_writer(ctx) -> None:
    gone = _add(
        ctx,
        LoadBatch,
        1,
        owner_host="db-worker-7",
        owner_pid=1,
        lease_expires_at=datetime.now(UTC) - HOUR,
    )
    with ctx.engine.connect() as other:  # a live load's transaction, holding what recovery needs
        if ctx.engine.dialect.name == "sqlite":
            other.exec_driver_sql("BEGIN IMMEDIATE")  # SQLite's single write lock
        else:
            other.execute(select(LoadBatch.id).where(LoadBatch.id == gone).with_for_update())
        assert recover_interrupted(ctx)["batches"] == 0  # left to a later start, not waited for
        other.rollback()
    assert status_of(ctx, LoadBatch, gone) == "running"
    assert recover_interrupted(ctx)["batches"] == 1


def test_an_interrupted_batch_is_not_in_the_data_stamp(ctx) -> None:
    _add(
        ctx,
        LoadBatch,
        1,
        owner_host="db-worker-7",
        owner_pid=1,
        lease_expires_at=datetime.now(UTC) - HOUR,
    )
    recover_interrupted(ctx)
    with ctx.sessions() as s:
        assert data_stamp(s).registries == []


# ----------------------------------------------------------------------------- heartbeats


def test_a_live_owner_renews_its_lease_on_postgresql_and_writes_none_on_sqlite(ctx) -> None:
    fast = with_lease(ctx, {"lease_duration_s": 30.0, "lease_heartbeat_s": 0.05})
    release = threading.Event()
    try:
        job = start_job(fast, "pipeline", lambda c, p: (release.wait(), [])[1])
        with fast.sessions() as s:
            first = s.get(Job, job.id).lease_expires_at
        assert first is not None

        def beats() -> list[threading.Thread]:
            return [t for t in threading.enumerate() if t.name == f"lease-jobs-{job.id}"]

        if fast.engine.dialect.name == "postgresql":

            def renewed() -> bool:
                with fast.sessions() as s:
                    return s.get(Job, job.id).lease_expires_at > first

            wait_until(renewed, what="a renewed lease")
        else:  # a heartbeat would fight the work for SQLite's single write lock: the pid vouches instead
            assert beats() == []
        release.set()
        wait_until(lambda: status_of(fast, Job, job.id) == "done", what="the job's end")
        wait_until(lambda: not beats(), what="the heartbeat's end")
    finally:
        release.set()
        fast.close()


# ----------------------------------------------------------------------------- a real owner process


@pytest.mark.slow
def test_a_live_owners_job_is_not_marked_even_past_its_lease(ctx) -> None:
    owner, job_id = start_job_owner(ctx.settings.database_url)
    try:
        os.kill(owner.pid, signal.SIGSTOP)  # no heartbeat either, until the lease expires
        wait_stopped(owner)
        wait_until(lambda: lease_expired(ctx, Job, job_id), what="the lease's expiry")
        again = open_context(ctx.settings)  # what today's start did: it failed every running job
        try:
            assert recover_interrupted(again)["jobs"] == 0
        finally:
            again.close()
        assert status_of(ctx, Job, job_id) == "running"  # its process lives on this host
        os.kill(owner.pid, signal.SIGCONT)
        owner.stdin.close()
        assert owner.wait(timeout=120) == 0
        assert status_of(ctx, Job, job_id) == "done"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


@pytest.mark.slow
def test_a_killed_owners_job_is_marked_interrupted_once_its_lease_expired(ctx) -> None:
    owner, job_id = start_job_owner(ctx.settings.database_url)
    owner.kill()  # SIGKILL: no chance to record anything
    owner.wait()
    assert status_of(ctx, Job, job_id) == "running"

    def marked_at_a_start() -> bool:
        recover_interrupted(ctx)
        return status_of(ctx, Job, job_id) == "interrupted"

    wait_until(marked_at_a_start, what="the job marked interrupted")
    # its kind is free again
    job = start_job(ctx, "pipeline", lambda c, p: [])
    wait_until(lambda: status_of(ctx, Job, job.id) == "done", what="the next job's end")


def test_a_dead_owners_job_no_longer_blocks_its_kind(ctx) -> None:
    stale = _add(
        ctx,
        Job,
        0,
        owner_host="db-worker-7",
        owner_pid=1,
        lease_expires_at=datetime.now(UTC) - HOUR,
    )
    with ctx.sessions.begin() as s:
        s.get(Job, stale).kind = "pipeline"
    job = start_job(ctx, "pipeline", lambda c, p: [])  # no 409: the dead one is marked on the way
    assert status_of(ctx, Job, stale) == "interrupted"
    wait_until(lambda: status_of(ctx, Job, job.id) == "done", what="the job's end")
