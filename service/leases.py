"""Leases of running load batches, jobs and pipeline runs: who runs them, and proof that they still do.

A ``running`` row of ``load_batches``, ``jobs`` or ``pipeline_runs`` names its owner (host name
and process id) and holds a lease until ``lease_expires_at``. A process
killed outright (SIGKILL, an OOM kill, a power cut) never records the end of
its work; its rows would stay ``running`` for ever. :func:`recover_interrupted`,
a start-up step of every CLI command and API worker, marks them
``interrupted`` once their lease has expired, never a live owner's.

Who is alive
    A row whose lease has not expired is alive. Past its expiry, an owner on
    another host is gone (only the lease can tell); an owner on this host is
    alive while its process exists (not a zombie). A row claiming this very
    process is alive only while this process holds it: a container restarted
    after a kill often gets the process id its killed predecessor had.

The heartbeat
    *PostgreSQL*: a daemon thread per running row renews its lease every
    ``lease_heartbeat_s`` in a short transaction of its own, on a pooled
    connection of its own. The load's rows reference their batch by a foreign
    key, which takes a key-share lock on the batch row; the heartbeat updates
    no key, so neither waits for the other. Times are the database server's
    (``now()``): owners on machines whose clocks drift agree on what expired.

    *SQLite*: no heartbeat is written. A load (or a job's stage) holds
    SQLite's single write lock for its whole transaction: a heartbeat from
    another connection would wait for it the whole busy timeout and fail, and
    one committed between another connection's read and its write makes that
    write fail (``SQLITE_BUSY_SNAPSHOT``), so it could only disturb the work it
    vouches for. SQLite in WAL mode needs memory shared between its processes,
    so every owner of a SQLite database runs on this host: past the lease
    taken at the start (a grace period), the owner's process id decides.
    Consequently every process using one SQLite file must also share one
    process-id namespace (one machine or one container), and a dead owner
    whose process id an unrelated process took keeps its rows ``running``
    until that process ends; PostgreSQL has neither limit while heartbeats
    flow.

Several processes starting at once mark each row once: the single ``UPDATE``
re-checks ``status = 'running'`` and the expiry, and on PostgreSQL skips rows
another transaction holds (a heartbeat, another start marking them, or a
load whose open transaction has written records: they reference the batch
row, which locks it against ``FOR UPDATE``; a killed client's transaction
ends when the server sees its connection close).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from data.models import Job, LoadBatch
from data.models.runs import PipelineRun
from service.context import AppContext

__all__ = ["held_lease", "lease_values", "recover_interrupted", "this_host"]

_log = logging.getLogger(__name__)

Leased = type[LoadBatch] | type[Job] | type[PipelineRun]
#: Tables with leases, by the name :func:`recover_interrupted` counts them under.
LEASED: dict[str, Leased] = {"batches": LoadBatch, "jobs": Job, "pipeline runs": PipelineRun}
#: The JSON column each table records an outcome in.
_OUTCOME = {LoadBatch: "report", Job: "detail", PipelineRun: "detail"}
INTERRUPTED = {
    "error": "Interrupted",
    "detail": "its process stopped before it ended (lease expired, owner gone)",
}

_held: set[tuple[str, int]] = set()  # (table, id) of the rows this process runs
_held_lock = threading.Lock()


def this_host() -> str:
    """The name owners are recorded under (the host name)."""
    return socket.gethostname()


def _clock(engine: Engine) -> Any:
    """Now: the server's clock on PostgreSQL (owners on several machines share it), else this host's."""
    return func.now() if engine.dialect.name == "postgresql" else datetime.now(UTC)


def _expiry(ctx: AppContext) -> Any:
    return _clock(ctx.engine) + timedelta(seconds=ctx.settings.lease_duration_s)


def lease_values(ctx: AppContext) -> dict[str, Any]:
    """Owner and lease columns of a row this process starts running (a SQL expression on PostgreSQL)."""
    return {"owner_host": this_host(), "owner_pid": os.getpid(), "lease_expires_at": _expiry(ctx)}


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host and is not a zombie (killed, not yet reaped)."""
    if pid <= 0:
        return False  # os.kill(0, ...) would signal our own process group
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, another user's
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:  # ended since, or no /proc (not Linux: existing is all we can tell)
        return not Path("/proc/self").exists()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _owner_alive(
    *, table: str, row_id: int, owner_host: str | None, owner_pid: int | None, here: str
) -> bool:
    """Whether the owner of a running row whose lease expired still runs it.

    Parameters
    ----------
    table, row_id
        The row (``load_batches`` or ``jobs``, and its id).
    owner_host, owner_pid
        Its recorded owner.
    here
        This host's name (:func:`this_host`).

    Returns
    -------
    bool
        False for an owner on another host (only the lease speaks for it),
        or without a recorded process; for this process, whether it holds the
        row; else whether the owner's process exists.
    """
    if owner_host != here or owner_pid is None:
        return False
    if owner_pid == os.getpid():
        with _held_lock:
            return (table, row_id) in _held
    return _pid_alive(owner_pid)


def recover_interrupted(ctx: AppContext, *, only: str | None = None) -> dict[str, int]:
    """Mark running rows whose lease expired and whose owner is gone ``interrupted``.

    A start-up step (the CLI's and the API's), safe while other processes
    start and run: a live owner's rows are never marked.

    Parameters
    ----------
    ctx
        The application context.
    only
        One table's name in :data:`LEASED` (e.g. ``"pipeline runs"``), else all.

    Returns
    -------
    dict[str, int]
        Rows marked, under ``"batches"``, ``"jobs"`` and ``"pipeline runs"``.
    """
    here = this_host()
    return {
        name: _recover(ctx, model, here) for name, model in LEASED.items() if only in (None, name)
    }


def _recover(ctx: AppContext, model: Leased, here: str) -> int:
    table = model.__tablename__
    with (
        ctx.sessions() as session
    ):  # a read: no SQLite write lock taken unless something is to mark
        expired = session.execute(
            select(model.id, model.owner_host, model.owner_pid).where(
                model.status == "running", model.lease_expires_at < _clock(ctx.engine)
            )
        ).all()
    gone = [
        r.id
        for r in expired
        if not _owner_alive(
            table=table, row_id=r.id, owner_host=r.owner_host, owner_pid=r.owner_pid, here=here
        )
    ]
    if not gone:
        return 0
    now = _clock(ctx.engine)
    still = (
        model.status == "running",
        model.lease_expires_at < now,
    )  # renewed or closed since: left
    free = select(model.id).where(model.id.in_(gone), *still).with_for_update(skip_locked=True)
    statement = (
        update(model)
        .where(model.id.in_(free), *still)
        .values(status="interrupted", finished_at=now, **{_OUTCOME[model]: INTERRUPTED})
        .execution_options(synchronize_session=False)
    )
    try:
        with _brief_write(ctx) as connection:
            marked = connection.execute(statement).rowcount
    except OperationalError as exc:  # SQLite: a live load holds the write lock
        _log.warning(
            "could not mark %d interrupted %s now (%s); a later start will",
            len(gone),
            table,
            exc.orig,
        )
        return 0
    _log.info("marked %d of %s %s interrupted (owners gone, leases expired)", marked, table, gone)
    return marked


@contextmanager
def _brief_write(ctx: AppContext) -> Iterator[Any]:
    """A write transaction that waits at most a moment for SQLite's write lock.

    A live load may hold that lock for minutes; a command starting meanwhile
    must not wait the whole busy timeout: it waits a second, then leaves the
    rows to a later start. The connection's timeout is changed for this
    transaction, so the connection is discarded afterwards rather than
    returned to the pool.
    """
    if ctx.engine.dialect.name != "sqlite":
        with ctx.engine.begin() as connection:
            yield connection
        return
    with ctx.engine.connect() as connection:
        try:
            connection.exec_driver_sql("PRAGMA busy_timeout = 1000")  # ms
            connection.commit()  # ends the transaction the pragma's execution began
            with connection.begin():
                yield connection
        finally:
            connection.invalidate()


class _Heartbeat:
    """Renews one row's lease every ``lease_heartbeat_s`` on a daemon thread (PostgreSQL)."""

    def __init__(self, ctx: AppContext, model: Leased, row_id: int) -> None:
        self.ctx, self.model, self.row_id = ctx, model, row_id
        self.stopping = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name=f"lease-{model.__tablename__}-{row_id}", daemon=True
        )

    def _run(self) -> None:
        model, interval = self.model, self.ctx.settings.lease_heartbeat_s
        mine = (
            model.id == self.row_id,
            model.status == "running",
            model.owner_host == this_host(),
            model.owner_pid == os.getpid(),
        )
        while not self.stopping.wait(interval):
            try:
                with self.ctx.engine.begin() as connection:
                    renewed = connection.execute(
                        update(model.__table__)
                        .where(*mine)
                        .values(lease_expires_at=_expiry(self.ctx))
                    ).rowcount
                    if not renewed:
                        status = connection.scalar(
                            select(model.status).where(model.id == self.row_id)
                        )
            except (
                SQLAlchemyError
            ) as exc:  # the database away for a moment: try again at the next beat
                _log.warning(
                    "lease of %s %d not renewed: %s", model.__tablename__, self.row_id, exc
                )
                continue
            if (
                not renewed
            ):  # ended (by its owner, just now) or marked interrupted by another process
                if status == "interrupted":
                    _log.warning(
                        "%s %d was marked interrupted while it ran here (its lease expired)",
                        model.__tablename__,
                        self.row_id,
                    )
                return


@contextmanager
def held_lease(ctx: AppContext, model: Leased, row_id: int) -> Iterator[None]:
    """Hold the lease of a row this process just created ``running`` while the block runs.

    Parameters
    ----------
    ctx
        The application context.
    model
        :class:`~data.models.LoadBatch`, :class:`~data.models.Job` or
        :class:`~data.models.runs.PipelineRun`.
    row_id
        The row, created with :func:`lease_values`.
    """
    key = (model.__tablename__, row_id)
    with _held_lock:
        _held.add(key)
    beat = _Heartbeat(ctx, model, row_id) if ctx.engine.dialect.name == "postgresql" else None
    if beat is not None:
        beat.thread.start()
    try:
        yield
    finally:
        if beat is not None:
            beat.stopping.set()
            beat.thread.join(timeout=5)  # a renewal in flight ends with its short transaction
        with _held_lock:
            _held.discard(key)
