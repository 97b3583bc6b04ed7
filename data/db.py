"""Engines, sessions and schema migrations for both storage backends.

* Embedded default: a SQLite file through the stdlib ``sqlite3`` driver, in WAL
  mode with a busy timeout so the API keeps serving reads while a load writes.
* Production: PostgreSQL + PostGIS through psycopg 3. A pooled connection
  left idle for :data:`PING_AFTER_IDLE_S` or more is pinged before it is
  handed out (a dead one is replaced); one used moments ago is not, so a busy
  API pays no extra round trip per request.

The schema is owned by Alembic (``data/migrations``); :func:`upgrade` brings
any database to the latest revision and is safe to run repeatedly.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from core.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

PING_AFTER_IDLE_S = 5.0
"""A pooled PostgreSQL connection idle this long (seconds) is pinged before reuse."""

_IDLE_SINCE = "prm_idle_since"

SQLITE_PAGE_SIZE = 16384
"""Page size of a new embedded database (SQLite's default is 4096; an existing file keeps its own).

Each page a transaction writes goes to the WAL as one frame and is copied
into the database at the checkpoint: a registry load of a million rows writes
about 1.3 GB twice. Four times fewer, larger frames cut the system time of
that by about half (bench/ingest.py); 16 KB is also InnoDB's page size, and
the indexed reads of the API read a page or two each either way.
"""


def make_engine(
    url: str,
    *,
    busy_timeout_ms: int = 30_000,
    echo: bool = False,
    ping_after_idle_s: float = PING_AFTER_IDLE_S,
    pool_size: int = 5,
    max_overflow: int = 10,
    pool_timeout_s: float = 30.0,
) -> Engine:
    """Create an engine for ``url``, configuring SQLite for concurrent use.

    Parameters
    ----------
    url
        SQLAlchemy URL, ``sqlite:///path`` or ``postgresql+psycopg://...``.
    busy_timeout_ms
        How long a SQLite writer or reader waits on a lock before failing.
    ping_after_idle_s
        PostgreSQL: a pooled connection idle this long (seconds) is pinged before reuse.
    pool_size, max_overflow, pool_timeout_s
        Connections kept open, extra ones opened under load, and how long a
        checkout waits for one before :class:`sqlalchemy.exc.TimeoutError`
        (not used by an in-memory SQLite database, which has one connection).
    echo
        Log SQL statements.
    """
    parsed = make_url(url)
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout_s}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        in_memory = not db or db == ":memory:"
        if not in_memory:
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            # stored explanations are read back for every prospect a rescore compares
            json_deserializer=orjson.loads,
            connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
            **({} if in_memory else pool),
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            cur = dbapi_conn.cursor()
            # before anything is written: a database file keeps the page size it was created with
            cur.execute("PRAGMA page_size=16384")  # SQLITE_PAGE_SIZE
            cur.execute("PRAGMA journal_mode=WAL")
            # the busy timeout is the driver's ``timeout`` above (no SQL built from a value)
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: big loads spill to the WAL less
            # deleted rows are overwritten with zeros, not left in free space (erasure, docs/security.md)
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        return engine
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(url, echo=echo, json_deserializer=orjson.loads, **pool)
        _ping_idle_connections(engine, after_s=ping_after_idle_s)
        return engine
    raise ConfigError(f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}")


def _ping_idle_connections(engine: Engine, *, after_s: float) -> None:
    """Ping a pooled connection before reuse only when it sat idle (pessimistic disconnects).

    ``pool_pre_ping`` pings on every checkout: on psycopg a ``BEGIN`` and a
    ``SELECT 1`` round trip before each request's first statement. A
    connection checked in a moment ago is as alive as it was then; one idle
    for ``after_s`` may have been dropped by a server restart,
    a failover or a firewall, and is pinged. A failed ping raises
    :class:`sqlalchemy.exc.DisconnectionError`, on which the pool discards the
    connection and opens a new one (SQLAlchemy's documented checkout recipe).
    The price: after a failover, a connection used less than ``after_s`` ago
    fails the one request that next takes it (a 500), and the pool replaces
    it; pre-ping would have caught it first.
    """

    @event.listens_for(engine, "checkin")
    def _stamp(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)  # absent on a fresh connection (the info is cleared)
        if since is None or time.monotonic() - since < after_s:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
            dbapi_conn.rollback()  # the ping's implicit transaction: hand the connection out idle
        except Exception as err:
            raise exc.DisconnectionError(f"idle connection failed its ping: {err}") from err


def read_connection(session: Session) -> Connection:
    """The session's connection for reads that need no transaction around them.

    On PostgreSQL, when the session has not begun a transaction yet, the
    connection is taken in autocommit: each ``SELECT`` has its own snapshot
    under READ COMMITTED either way, and no ``BEGIN`` and ``ROLLBACK`` round
    trips are spent around it. The rest of the session then runs in
    autocommit too, so take it only in a session that will not write (a read
    request's). Otherwise (SQLite, which begins no transaction for a read; a
    session already in a transaction) it is the session's connection as
    usual. The isolation level is reset when the connection returns to the
    pool.

    Parameters
    ----------
    session
        A read-only session.

    Returns
    -------
    sqlalchemy.Connection
        The connection the session's statements now run on.
    """
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        return session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return session.connection()


@contextmanager
def wal_written_behind(session: Session, *, every_s: float = 1.0) -> Iterator[None]:
    """While a long SQLite transaction fills the WAL, write the WAL to disk behind it.

    A load's commit checkpoints: it syncs the WAL, copies its pages into the
    database file and syncs that. The first sync waits for everything the load
    wrote (1.3 GB per million new NPPES rows) to reach the disk, with the CPUs
    idle. A thread syncing the WAL every ``every_s`` seconds during the load
    leaves that sync little to do. Nothing changes for durability or for
    readers: data only reach the disk sooner. On PostgreSQL or an in-memory
    database it does nothing.
    """
    bind = session.get_bind()
    database = bind.url.database if bind.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    wal = Path(f"{database}-wal")
    sync = getattr(os, "fdatasync", os.fsync)
    stop = threading.Event()

    def flush() -> None:
        fd = None
        # a file system that refuses the sync ends the thread: the commit syncs, as it always does
        with suppress(OSError):
            try:
                while not stop.wait(every_s):
                    if (
                        fd is None and wal.exists()
                    ):  # the WAL appears with the transaction's first write
                        fd = os.open(wal, os.O_RDONLY)
                    if fd is not None:
                        sync(fd)
            finally:
                if fd is not None:
                    os.close(fd)

    thread = threading.Thread(target=flush, name="wal-write-behind", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


TRUNCATE_WAIT_S = 2.0
"""How long :func:`truncate_wal` waits for SQLite's locks before leaving it to a later checkpoint."""


def truncate_wal(engine: Engine) -> bool:
    """Copy SQLite's write-ahead log into the database file and truncate it (after an erasure).

    With ``secure_delete`` SQLite zeroes deleted content in the database
    file, but the pages as they were before stay in the WAL until it is
    overwritten. A ``TRUNCATE`` checkpoint waits (up to :data:`TRUNCATE_WAIT_S`)
    for readers on older snapshots and writers, then empties it. Nothing to do on
    PostgreSQL or an in-memory database.

    Returns
    -------
    bool
        False when the checkpoint could not complete (a reader or writer held
        on past the busy timeout); the old pages then stay until a later one.
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return True
    # a connection of its own with a short wait: the checkpoint blocks new writers while it
    # waits for readers, and an erasure's answer must not stall every write for the busy timeout
    conn = sqlite3.connect(database, timeout=TRUNCATE_WAIT_S)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()
    return busy == 0


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine`` (objects stay usable after commit)."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent).

    At the head, SQLite's length triggers are brought in line with the models
    (:func:`data.lengths.sync_length_triggers`): a column added by a later
    migration is covered, and a table a batch migration rebuilt gets its
    triggers back.
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    command.upgrade(alembic_config(engine), revision)
    if engine.dialect.name == "sqlite" and revision == "head":
        from data.lengths import sync_length_triggers

        with engine.begin() as conn:
            sync_length_triggers(conn)


def current_revision(bind: Engine | Connection) -> str | None:
    """The database's Alembic revision, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    if isinstance(bind, Connection):
        return MigrationContext.configure(bind).get_current_revision()
    with bind.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def analyze(session: Session, table: str) -> None:
    """Refresh the query planner's statistics of one table (after a bulk write).

    SQLite has none until asked (its planner then guesses which index serves a
    filtered, sorted page); PostgreSQL's autovacuum would catch up later.
    """
    from data.models import Base

    if table not in Base.metadata.tables:
        raise KeyError(f"unknown table {table!r}")
    quoted = session.get_bind().dialect.identifier_preparer.quote(table)
    session.execute(text("ANALYZE " + quoted))  # a table name cannot be a bound parameter
