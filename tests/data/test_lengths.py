"""Every length-limited text column refuses an over-long value, on SQLite as on PostgreSQL.

The columns are found by walking the models' metadata, so a column added
later is covered without touching this test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError

from data.db import make_engine, upgrade
from data.lengths import TRIGGER_PREFIX, _metadata, limited_columns, sync_length_triggers
from data.types import UtcDateTime

LIMITED = sorted({table.name: table for table, _, _ in limited_columns(_metadata())}.items())


#: Values a CHECK constraint asks for, where the generic filler's would not do.
_CHECKED = {("match_decisions", "decision"): "accept"}


def _filler(table: Table, k: int) -> dict[str, Any]:
    """A value for every column that needs one (no default, not nullable, not autoincremented), distinct per ``k``.

    Integers grow with the column's position, so ``left_record_id < right_record_id`` holds.
    """
    row: dict[str, Any] = {}
    for position, column in enumerate(table.columns):
        if column.nullable or column.server_default is not None or column.default is not None:
            continue
        if (
            column.primary_key
            and column.autoincrement in (True, "auto")
            and isinstance(column.type, Integer)
            and len(table.primary_key.columns) == 1
            and not column.foreign_keys
        ):
            continue
        kind = column.type
        row[column.name] = _CHECKED.get((table.name, column.name)) or (
            str(k)[-kind.length :]
            if isinstance(kind, String)
            else 100 * k + position
            if isinstance(kind, Integer | BigInteger)
            else k / 2
            if isinstance(kind, Float)
            else True
            if isinstance(kind, Boolean)
            else datetime(2024, 1, 1, tzinfo=UTC)
            if isinstance(kind, DateTime | UtcDateTime)
            else date(2024, 1, 1)
            if isinstance(kind, Date)
            else {}
            if isinstance(kind, JSON)
            else None
        )
    return row


def _refused(conn, statement) -> str | None:
    """The error text when ``statement`` fails (inside a savepoint), else ``None``."""
    try:
        with conn.begin_nested():
            conn.execute(statement)
    except DBAPIError as exc:
        return str(exc.orig)
    return None


@pytest.fixture
def engine(backend_url):
    engine = make_engine(backend_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_every_length_limited_column_refuses_one_character_more(engine) -> None:
    sqlite = engine.dialect.name == "sqlite"

    def too_long(error: str | None, table: Table, column: Column) -> bool:
        if error is None:
            return False
        return (
            f"value too long for {table.name}.{column.name}" in error
            if sqlite
            else "value too long" in error
        )

    checked = 0
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # one row per table, parents or not
        else:
            conn.exec_driver_sql(
                "SET session_replication_role = replica"
            )  # no FK checks, no triggers
        conn.commit()
        with conn.begin():
            for _, table in LIMITED:
                columns = [(c, n) for t, c, n in limited_columns(_metadata()) if t is table]
                assert _refused(conn, table.insert().values(_filler(table, 1))) is None, table.name
                stored = conn.execute(table.select().limit(1)).one()
                key = [c == stored._mapping[c.name] for c in table.primary_key.columns]
                for k, (column, n) in enumerate(columns, start=2):
                    # the longest value that fits is not refused for its length (a CHECK may refuse it)
                    fits = _refused(
                        conn, table.insert().values({**_filler(table, k), column.name: "é" * n})
                    )
                    assert not too_long(fits, table, column), fits
                    longer = _refused(
                        conn,
                        table.insert().values(
                            {**_filler(table, 1000 + k), column.name: "é" * (n + 1)}
                        ),
                    )
                    assert too_long(longer, table, column), (
                        f"{table.name}.{column.name} stored {n + 1} characters"
                    )
                    # a NUL, which stops SQLite's length() short, is refused as PostgreSQL does
                    nul = _refused(
                        conn,
                        table.insert().values(
                            {**_filler(table, 2000 + k), column.name: "a\x00" + "é" * (n + 5)}
                        ),
                    )
                    assert nul is not None, f"{table.name}.{column.name} stored a NUL"
                    # and changing a stored row is held to the same length
                    grown = _refused(
                        conn, update(table).where(*key).values({column.name: "é" * (n + 1)})
                    )
                    assert too_long(grown, table, column) or table.name == "audit_log", (
                        grown
                    )  # (append-only)
                    assert grown is not None, (
                        f"{table.name}.{column.name} updated to {n + 1} characters"
                    )
                    checked += 1
            conn.rollback()
    assert checked == len(list(limited_columns(_metadata())))


def test_sqlite_triggers_follow_the_models_and_come_back_after_a_rebuild(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    with engine.begin() as conn:
        assert sync_length_triggers(conn) == 0  # already as the models say: nothing rewritten
        ours = (
            conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            .scalars()
            .all()
        )
        assert {
            f"{TRIGGER_PREFIX}{name}_{event}"
            for name, _ in LIMITED
            for event in ("insert", "update")
        } <= set(ours)
        conn.exec_driver_sql(
            f"DROP TRIGGER {TRIGGER_PREFIX}providers_insert"
        )  # as a table rebuild would
    upgrade(engine)
    with engine.connect() as conn:
        assert (
            _refused(
                conn,
                text(
                    "INSERT INTO providers (cluster_key, entity_type, display_name, "
                    "geocode_precision, is_active) VALUES ('k', 'individual', :name, 'none', 1)"
                ).bindparams(name="x" * 301),
            )
            is not None
        )
    engine.dispose()


def test_the_migration_adds_and_removes_the_triggers(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine, "0012")
    count = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'prm\\_length\\_%' ESCAPE '\\'"
    with engine.connect() as conn:
        assert conn.execute(text(count)).scalar() == 0
    upgrade(engine)  # head: the tables of later revisions get theirs when they are made
    with engine.connect() as conn:
        assert conn.execute(text(count)).scalar() == 2 * len(LIMITED)
    from alembic import command

    from data.db import alembic_config

    command.downgrade(alembic_config(engine), "0012")
    with engine.connect() as conn:
        assert conn.execute(text(count)).scalar() == 0
    engine.dispose()
