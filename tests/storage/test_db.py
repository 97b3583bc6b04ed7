"""Engines: idle-connection pings on PostgreSQL, autocommit reads (data.db)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from data import db
from data.db import make_engine, read_connection, session_factory
from tests.conftest import database_url


@pytest.fixture
def pg_engine(tmp_path):  # noqa: ANN001
    engine = make_engine(database_url("postgis", tmp_path))
    yield engine
    engine.dispose()


def _statements(engine) -> list[str]:  # noqa: ANN001
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def _backend_pid(engine) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


@pytest.mark.postgis
def test_a_connection_used_moments_ago_is_not_pinged(pg_engine) -> None:  # noqa: ANN001
    _backend_pid(pg_engine)  # one pooled connection, checked in just now
    seen = _statements(pg_engine)
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT 41 + 1")).scalar_one() == 42
    assert seen == ["SELECT 41 + 1"]  # no ping before it


@pytest.mark.postgis
def test_an_idle_connection_killed_by_the_server_is_replaced(pg_engine, monkeypatch) -> None:  # noqa: ANN001
    dead = _backend_pid(pg_engine)
    admin = make_engine(pg_engine.url.render_as_string(hide_password=False))
    with admin.connect() as conn:  # what a server restart or a firewall does to an idle connection
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead}).scalar_one()
    admin.dispose()
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # the pooled connection counts as idle
    # the request that checks it out gets a live connection, not an error
    assert _backend_pid(pg_engine) != dead


@pytest.mark.postgis
def test_a_ping_leaves_no_transaction_open(pg_engine, monkeypatch) -> None:  # noqa: ANN001
    _backend_pid(pg_engine)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
    with session_factory(pg_engine)() as session:
        conn = read_connection(session)  # autocommit needs an idle connection: the ping ended its own
        assert conn.execute(text("SELECT 1")).scalar_one() == 1


@pytest.mark.postgis
def test_a_read_in_a_fresh_session_sends_no_begin_or_rollback(pg_engine) -> None:  # noqa: ANN001
    _backend_pid(pg_engine)
    seen = _statements(pg_engine)
    with session_factory(pg_engine)() as session:
        conn = read_connection(session)
        status = conn.connection.dbapi_connection.info.transaction_status
        assert conn.execute(text("SELECT now() = statement_timestamp()")).scalar_one()  # own transaction
        assert status == 0  # psycopg TransactionStatus.IDLE: no BEGIN was sent
    assert seen == ["SELECT now() = statement_timestamp()"]
    with pg_engine.connect() as conn:  # back in the pool with the default isolation level
        assert conn.connection.dbapi_connection.autocommit is False


@pytest.mark.postgis
def test_a_read_inside_a_begun_transaction_stays_in_it(pg_engine) -> None:  # noqa: ANN001
    with session_factory(pg_engine)() as session:
        first = session.execute(text("SELECT txid_current()")).scalar_one()
        conn = read_connection(session)
        assert conn.execute(text("SELECT txid_current()")).scalar_one() == first


def test_sqlite_reads_use_the_sessions_connection(tmp_path) -> None:  # noqa: ANN001
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with session_factory(engine)() as session:
        assert read_connection(session) is session.connection()
    engine.dispose()
