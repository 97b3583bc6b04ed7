"""Engines: idle-connection pings on PostgreSQL, autocommit reads (data.db)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, text

from data.db import make_engine, read_connection, session_factory
from tests.conftest import database_url


@pytest.fixture
def pg_url(tmp_path) -> str:
    return database_url("postgis", tmp_path)


def _engine(url: str, *, ping_after_idle_s: float = 5.0):
    """An engine whose pings (the dialect's do_ping) are counted in ``engine.pings``."""
    engine = make_engine(url, ping_after_idle_s=ping_after_idle_s)
    engine.pings = []  # type: ignore[attr-defined]
    real = engine.dialect.do_ping

    def counted(dbapi_conn):
        engine.pings.append(1)  # type: ignore[attr-defined]
        return real(dbapi_conn)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return engine


def _statements(engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


@pytest.mark.postgis
def test_a_connection_used_moments_ago_is_not_pinged(pg_url) -> None:
    engine = _engine(pg_url)
    first = _backend_pid(engine)  # a fresh connection: not pinged either
    assert _backend_pid(engine) == first  # the same pooled connection, checked in just now
    assert engine.pings == []
    engine.dispose()


@pytest.mark.postgis
def test_an_idle_connection_is_pinged_and_one_killed_by_the_server_replaced(pg_url) -> None:
    engine = _engine(pg_url, ping_after_idle_s=0.0)  # every pooled connection counts as idle
    dead = _backend_pid(engine)
    admin = make_engine(pg_url)
    with admin.connect() as conn:  # what a server restart or a firewall does to an idle connection
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead}).scalar_one()
    admin.dispose()
    # the request that checks it out gets a live connection, not an error
    assert _backend_pid(engine) != dead
    assert engine.pings == [1]  # the dead one was pinged; its replacement, fresh, was not
    engine.dispose()


@pytest.mark.postgis
def test_a_ping_leaves_no_transaction_open(pg_url) -> None:
    engine = _engine(pg_url, ping_after_idle_s=0.0)
    _backend_pid(engine)
    with session_factory(engine)() as session:
        conn = read_connection(
            session
        )  # autocommit needs an idle connection: the ping ended its own
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    assert engine.pings == [1]
    engine.dispose()


@pytest.mark.postgis
def test_a_read_in_a_fresh_session_sends_no_begin_or_rollback(pg_url) -> None:
    engine = _engine(pg_url)
    _backend_pid(engine)
    seen = _statements(engine)
    with session_factory(engine)() as session:
        conn = read_connection(session)
        dbapi = conn.connection.dbapi_connection
        assert dbapi.autocommit is True
        assert conn.execute(
            text("SELECT now() = statement_timestamp()")
        ).scalar_one()  # own transaction
        assert (
            dbapi.info.transaction_status == 0
        )  # psycopg IDLE after the statement: none was begun
    assert seen == ["SELECT now() = statement_timestamp()"]
    with engine.connect() as conn:  # back in the pool with the default isolation level
        assert conn.connection.dbapi_connection.autocommit is False
    engine.dispose()


@pytest.mark.postgis
def test_a_read_inside_a_begun_transaction_stays_in_it(pg_url) -> None:
    engine = _engine(pg_url)
    with session_factory(engine)() as session:
        first = session.execute(text("SELECT txid_current()")).scalar_one()
        conn = read_connection(session)
        assert conn.execute(text("SELECT txid_current()")).scalar_one() == first
    engine.dispose()


def test_sqlite_reads_use_the_sessions_connection(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with session_factory(engine)() as session:
        assert read_connection(session) is session.connection()
    engine.dispose()


def test_a_new_sqlite_database_gets_the_larger_page_size_and_an_old_one_keeps_its_own(
    tmp_path,
) -> None:
    import sqlite3

    from data.db import SQLITE_PAGE_SIZE

    fresh = make_engine(f"sqlite:///{tmp_path / 'new.sqlite'}")
    with fresh.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    with fresh.connect() as conn:
        assert conn.execute(text("PRAGMA page_size")).scalar_one() == SQLITE_PAGE_SIZE
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    fresh.dispose()

    old = tmp_path / "old.sqlite"
    with sqlite3.connect(
        old
    ) as raw:  # made by SQLite's defaults: 4096-byte pages, rollback journal
        raw.execute("CREATE TABLE t (x INTEGER)")
        raw.execute("INSERT INTO t VALUES (1)")
    raw.close()
    engine = make_engine(f"sqlite:///{old}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA page_size")).scalar_one() == 4096
        assert conn.execute(text("SELECT x FROM t")).scalar_one() == 1
    engine.dispose()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc/self/fd (Linux)")
def test_the_wal_is_written_behind_a_long_sqlite_transaction(tmp_path, monkeypatch) -> None:
    import os
    import time

    from data.db import wal_written_behind

    synced: list[str] = []
    real = os.fdatasync

    def counted(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", counted)
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with session_factory(engine).begin() as session:
        session.execute(text("CREATE TABLE t (x TEXT)"))
        with wal_written_behind(session, every_s=0.01):
            session.execute(text("INSERT INTO t VALUES (:x)"), [{"x": "y" * 1000}] * 2000)
            deadline = time.monotonic() + 5
            while not synced and time.monotonic() < deadline:
                time.sleep(0.01)
        count = len(synced)
        time.sleep(0.05)
        assert len(synced) == count  # stopped with the block
    assert synced and all(p.endswith("x.sqlite-wal") for p in synced)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 2000
    engine.dispose()

    before = len(synced)
    memory = make_engine("sqlite://")
    with session_factory(memory).begin() as session, wal_written_behind(session, every_s=0.01):
        time.sleep(0.05)
    assert len(synced) == before  # nothing to write behind for an in-memory database


def test_sqlite_zeroes_deleted_rows_and_an_erasure_can_empty_the_wal(tmp_path) -> None:
    """secure_delete is on for every connection: a deleted row's text is overwritten in the file, and
    truncate_wal leaves no earlier copy of the page in the write-ahead log."""
    from data.db import truncate_wal

    path = tmp_path / "x.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    secret = "private mobile 6145550199"
    with engine.begin() as conn:
        assert conn.execute(text("PRAGMA secure_delete")).scalar_one() == 1
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
        conn.execute(text("INSERT INTO notes (body) VALUES (:b), ('kept')"), {"b": secret})
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM notes WHERE body = :b"), {"b": secret})
    wal = Path(f"{path}-wal")
    assert secret.encode() in wal.read_bytes()  # the page as inserted, still in the log
    assert truncate_wal(engine) is True
    assert wal.stat().st_size == 0
    assert secret.encode() not in path.read_bytes()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT body FROM notes")).scalars().all() == ["kept"]
    engine.dispose()


@pytest.mark.postgis
def test_truncating_the_wal_is_sqlite_only(pg_url) -> None:
    from data.db import truncate_wal

    engine = make_engine(pg_url)
    assert truncate_wal(engine) is True
    engine.dispose()
