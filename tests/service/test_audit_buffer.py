"""Audit entries taken in memory and written in batches by the writer thread, both backends."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from data.models.security import AuditEntry
from service.security.audit_buffer import AuditBuffer


def _stored(ctx, **where: object) -> list[AuditEntry]:
    with ctx.sessions() as s:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, name) == value)
        return list(s.scalars(stmt))


def test_entries_from_many_threads_are_all_written_in_order_per_thread(ctx) -> None:
    buffer = AuditBuffer(ctx, background=False)  # only flush() writes
    try:
        # entries naming different columns: none is lost to the first one's column list
        buffer.submit(actor="sparse", action="read")
        buffer.submit(
            actor="full", action="read", records={"rows": 3}, key_id=9, client_ip="10.0.0.1"
        )

        def work(t: int) -> None:
            for i in range(50):
                buffer.submit(
                    actor=f"test:{t}",
                    action="read",
                    method="GET",
                    path=f"/v1/x/{i}",
                    params={"i": str(i)},
                    status=200,
                )

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert buffer.pending == 202 and _stored(ctx, action="read") == []
        assert buffer.flush() == 202 and buffer.pending == 0
        [full] = _stored(ctx, actor="full")
        assert (full.records, full.key_id, full.client_ip) == ({"rows": 3}, 9, "10.0.0.1")
        for t in range(4):
            rows = _stored(ctx, actor=f"test:{t}")
            assert [r.path for r in rows] == [f"/v1/x/{i}" for i in range(50)]
            assert rows[7].params == {"i": "7"} and rows[7].status == 200
    finally:
        buffer.close()


def test_entry_keeps_the_time_it_was_taken_not_the_time_it_was_written(ctx) -> None:
    buffer = AuditBuffer(ctx, background=False)
    try:
        taken = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        buffer.submit(actor="test", action="read", at=taken)
        buffer.submit(actor="test", action="change")
        before = datetime.now(UTC).replace(microsecond=0)
        time.sleep(1.1)
        buffer.flush()
    finally:
        buffer.close()
    old, new = _stored(ctx, actor="test")
    assert old.at.replace(tzinfo=UTC) == taken
    assert before <= new.at.replace(tzinfo=UTC) < datetime.now(UTC).replace(microsecond=0)


def test_the_writer_thread_writes_on_its_own_and_close_writes_the_rest(ctx) -> None:
    buffer = AuditBuffer(ctx, interval=0.05, max_batch=10)
    buffer.submit(actor="tick", action="read")
    deadline = time.monotonic() + 10
    while not _stored(ctx, actor="tick") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(_stored(ctx, actor="tick")) == 1 and buffer.pending == 0
    slow = AuditBuffer(ctx, background=False)
    for i in range(25):
        slow.submit(actor="shutdown", action="read", path=str(i))
    slow.close()
    buffer.close()
    assert [r.path for r in _stored(ctx, actor="shutdown")] == [str(i) for i in range(25)]
    with pytest.raises(RuntimeError, match="closed"):
        slow.submit(actor="late", action="read")


def test_a_batch_the_database_refuses_stays_pending_in_order(ctx, caplog) -> None:
    buffer = AuditBuffer(ctx, max_batch=2, max_pending=3, background=False)
    try:
        buffer.submit(actor="ok", action="read")
        with pytest.raises(TypeError, match="no_such_column"):  # refused when taken
            buffer.submit(actor="bad", action="read", no_such_column=1)
        buffer.submit(
            actor="bad", action="read", records={"x": object()}
        )  # no JSON for it: the INSERT fails
        with pytest.raises(Exception, match="JSON serializable"):
            buffer.flush()
        assert buffer.pending == 2 and _stored(ctx, actor="ok") == []  # one transaction per batch
        with caplog.at_level(logging.ERROR, logger="prm.audit"):
            for i in range(2):
                buffer.submit(actor="more", action="read", path=str(i))
        assert buffer.pending == 3 and "dropped" in caplog.text  # the oldest went, logged
    finally:
        buffer._pending.clear()  # nothing writable is left to write at close
        buffer.close()


def test_bad_parameters_are_refused(ctx) -> None:
    for kwargs in ({"interval": 0}, {"max_batch": 0}, {"max_batch": 10, "max_pending": 5}):
        with pytest.raises(ValueError):
            AuditBuffer(ctx, **kwargs)
    with ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0
