"""Bulk writes inside the caller's transaction: ``COPY`` on PostgreSQL, ``executemany`` on SQLite.

Values are written as given (text for JSON columns, already serialised), so a
million-row load does not pay for an ORM object or a type conversion per row.
The statements are built by SQLAlchemy and psycopg from table metadata, never
from strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert
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
    compiled = insert(table).values({c: bindparam(c) for c in columns}).compile(
        dialect=connection.dialect, column_keys=list(columns)
    )
    order = compiled.positiontup or list(columns)
    position = {c: i for i, c in enumerate(columns)}
    if list(order) != list(columns):
        rows = [tuple(row[position[c]] for c in order) for row in rows]
    connection.exec_driver_sql(compiled.string, rows)
    return len(rows)
