"""Column lengths: read from the models, and enforced by SQLite as PostgreSQL enforces them.

PostgreSQL refuses a value longer than a ``VARCHAR(n)`` column; SQLite ignores
the declared length and stores anything. A value that loads on SQLite and
crashes on PostgreSQL (or the other way round once data move) is a bug found
late, so SQLite gets the same rule: every table with length-limited columns
has a ``BEFORE INSERT`` and a ``BEFORE UPDATE OF`` trigger that aborts the
statement when a value is too long. Triggers, not ``CHECK`` constraints,
because SQLite can add a ``CHECK`` only by rebuilding the table (a registry's
``source_records`` is gigabytes), while a trigger is created in a moment.
The trigger's ``WHEN`` clause holds every test, so the body runs only to name
the column at fault. The price is the trigger's invocation, about 1.4 us of
CPU per inserted row: some 7% of the CPU of an NPPES load, against about half
that for ``CHECK`` constraints (``bench/results/ingest_2026-12-06_length_triggers.txt``).

The lengths come from the models (:data:`data.models.Base` metadata, the one
definition), restricted to the tables and columns the database has, so the
same code serves the migration that introduced the triggers and every later
upgrade: :func:`data.db.upgrade` calls :func:`sync_length_triggers` after
migrating to the head, which covers a column added later and re-creates the
triggers of a table that a batch migration rebuilt (SQLite drops a table's
triggers with it).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Column, Connection, MetaData, String, Table, text

#: Name prefix of the triggers this module owns.
TRIGGER_PREFIX = "prm_length_"


def string_lengths(model: type | Table) -> dict[str, int]:
    """``column -> length`` of the length-limited text columns of a model (or table)."""
    table = model if isinstance(model, Table) else model.__table__
    return {c.name: c.type.length for c in table.columns if _limit(c) is not None}


def _limit(column: Column) -> int | None:
    kind = column.type
    return kind.length if isinstance(kind, String) and kind.length else None


def limited_columns(metadata: MetaData) -> Iterator[tuple[Table, Column, int]]:
    """Every length-limited text column of ``metadata``: ``(table, column, length)``."""
    for table in metadata.sorted_tables:
        for column in table.columns:
            if (limit := _limit(column)) is not None:
                yield table, column, limit


def _metadata() -> MetaData:
    import data.models.matching
    import data.models.security  # noqa: F401
    from data.models import Base

    return Base.metadata


def length_trigger_sql(connection: Connection, metadata: MetaData | None = None) -> dict[str, str]:
    """``trigger name -> CREATE TRIGGER`` text for the database's tables (SQLite).

    Only tables and columns present in the database are covered (a migration
    before the one that adds a column must not name it).
    """
    metadata = metadata if metadata is not None else _metadata()
    present: dict[str, set[str]] = {}
    for table_name, column_name in connection.execute(
        text(
            "SELECT m.name, p.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p "
            "WHERE m.type = 'table'"
        )
    ):
        present.setdefault(table_name, set()).add(column_name)
    by_table: dict[str, list[tuple[str, int]]] = {}
    for table, column, limit in limited_columns(metadata):
        if column.name in present.get(table.name, ()):
            by_table.setdefault(table.name, []).append((column.name, limit))
    quote = connection.dialect.identifier_preparer.quote
    out: dict[str, str] = {}
    # DDL cannot take bound parameters: names are quoted by the dialect, lengths are ints, and each
    # message is a literal with its quotes doubled
    for table_name, columns in by_table.items():
        # SQLite's length() stops at a NUL, which PostgreSQL refuses in any text: refused here too
        tests = [
            test
            for c, n in columns
            for test in (
                (
                    f"length(NEW.{quote(c)}) > {n}",
                    _literal(f"value too long for {table_name}.{c} (at most {n} characters)"),
                ),
                (
                    f"instr(NEW.{quote(c)}, char(0)) > 0",
                    _literal(f"NUL character in {table_name}.{c}"),
                ),
            )
        ]
        when = " OR ".join(t for t, _ in tests)
        body = "".join(f"SELECT RAISE(ABORT, {m}) WHERE {t}; " for t, m in tests)
        names = ", ".join(quote(c) for c, _ in columns)
        for event, on in (("insert", "INSERT"), ("update", f"UPDATE OF {names}")):
            name = f"{TRIGGER_PREFIX}{table_name}_{event}"
            out[name] = (
                f"CREATE TRIGGER {quote(name)} BEFORE {on} ON {quote(table_name)} "
                f"WHEN {when} BEGIN {body}END"
            )
    return out


def _literal(message: str) -> str:
    return "'" + message.replace("'", "''") + "'"


def _ours(connection: Connection) -> dict[str, str]:
    rows = connection.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND substr(name, 1, :n) = :prefix"
        ),
        {"n": len(TRIGGER_PREFIX), "prefix": TRIGGER_PREFIX},
    )
    return dict(rows.all())


def sync_length_triggers(connection: Connection, metadata: MetaData | None = None) -> int:
    """Make the length triggers of a SQLite database match the models; return how many changed.

    Triggers already as wanted are left alone (opening the service migrates
    on every start, and a schema change makes every other connection
    re-prepare its statements). Does nothing on other databases.
    """
    if connection.dialect.name != "sqlite":
        return 0
    wanted = length_trigger_sql(connection, metadata)
    have = _ours(connection)
    quote = connection.dialect.identifier_preparer.quote
    changed = 0
    for name, sql in have.items():
        if wanted.get(name) != sql:
            connection.exec_driver_sql("DROP TRIGGER " + quote(name))
            changed += 1
    for name, sql in wanted.items():
        if have.get(name) != sql:
            connection.exec_driver_sql(sql)
            changed += 1
    return changed


def drop_length_triggers(connection: Connection) -> None:
    """Remove every length trigger (SQLite; the downgrade of the migration that added them)."""
    if connection.dialect.name != "sqlite":
        return
    quote = connection.dialect.identifier_preparer.quote
    for name in _ours(connection):
        connection.exec_driver_sql("DROP TRIGGER " + quote(name))
