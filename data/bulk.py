"""Bulk writes inside the caller's transaction: ``COPY`` on PostgreSQL, ``executemany`` on SQLite.

Values are written as given (text for JSON columns, already serialised), so a
million-row load does not pay for an ORM object or a type conversion per row.
The statements are built by SQLAlchemy and psycopg from table metadata, never
from strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Dialect, Table, bindparam, insert
from sqlalchemy.orm import Session


def bulk_insert(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``; return how many.

    Runs in the session's current transaction, so a later failure rolls the rows back.

    Raises
    ------
    KeyError
        A column is not in the table.
    """
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise KeyError(f"{table.name} has no columns {unknown}")
    rows = list(rows)
    if not rows:
        return 0
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        from psycopg import sql

        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return len(rows)
    width = len(columns)
    per_statement = max(1, _SQLITE_PARAMETERS // width)
    whole = len(rows) - len(rows) % per_statement
    if whole:
        statement, order = _values_insert(connection.dialect, table, tuple(columns), per_statement)
        flat = [tuple(chain.from_iterable(rows[i : i + per_statement])) for i in range(0, whole, per_statement)]
        if order is not None:
            flat = [tuple(values[j] for j in order) for values in flat]
        connection.exec_driver_sql(statement, flat)
    if whole < len(rows):
        statement, order = _values_insert(connection.dialect, table, tuple(columns), 1)
        rest = rows[whole:]
        if order is not None:
            rest = [tuple(row[j] for j in order) for row in rest]
        connection.exec_driver_sql(statement, rest)
    return len(rows)


#: Bound parameters per statement on SQLite (the lowest limit any SQLite build has).
_SQLITE_PARAMETERS = 999


def _values_insert(dialect: Dialect, table: Table, columns: tuple[str, ...], rows: int) -> tuple[str, list[int] | None]:
    """An ``INSERT`` of ``rows`` rows of ``columns`` per execution (compiled once per shape).

    Returns the SQL and, when the driver's parameter order is not row after
    row in ``columns`` order, the position of each parameter in a flattened
    group of rows.
    """
    key = (dialect.name, table.name, columns, rows)
    found = _COMPILED.get(key)
    if found is None:
        values = [{c: bindparam(f"r{i}_{j}") for j, c in enumerate(columns)} for i in range(rows)]
        stmt = insert(table).values(values) if rows > 1 else insert(table).values(values[0])
        compiled = stmt.compile(dialect=dialect)
        names = [f"r{i}_{j}" for i in range(rows) for j in range(len(columns))]
        got = list(compiled.positiontup or names)
        if sorted(got) != sorted(names):
            raise RuntimeError(f"unexpected parameters compiling a bulk insert into {table.name}")
        position = {name: k for k, name in enumerate(names)}
        order = None if got == names else [position[name] for name in got]
        found = _COMPILED[key] = (compiled.string, order)
    return found


_COMPILED: dict[tuple, tuple[str, list[int] | None]] = {}
