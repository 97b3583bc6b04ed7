"""Bulk writes inside the caller's transaction: ``COPY`` on PostgreSQL, ``executemany`` on SQLite.

Values are written as given (text for JSON columns, already serialised; a
geometry as :func:`geometry_value` gives it), so a million-row load does not
pay for an ORM object or a type conversion per row. :func:`bulk_update` stages
rows in a temporary table and applies them with one ``UPDATE ... FROM`` (both
backends), instead of one statement per row. The statements are built by
SQLAlchemy and psycopg from table metadata, never from strings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import chain, islice
from typing import Any

import shapely
from sqlalchemy import Column, Dialect, Executable, MetaData, Table, bindparam, insert, update
from sqlalchemy.orm import Session

from data.types import GeometryColumn


def bulk_insert(
    session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert ``rows`` (tuples in ``columns`` order; any iterable, read once) into ``table``; return how many.

    Runs in the session's current transaction, so a later failure rolls the rows back.

    Raises
    ------
    KeyError
        A column is not in the table.
    """
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise KeyError(f"{table.name} has no columns {unknown}")
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        from psycopg import sql

        types = _binary_copy_types(connection, table, columns)
        statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
            sql.Identifier(table.name),
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.SQL(" (FORMAT BINARY)" if types else ""),
        )
        raw = connection.connection.driver_connection
        count = 0
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            if types:
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    # SQLite: many rows per statement; the values are flattened straight into each statement's
    # parameters, so no per-row tuple outlives its statement
    width = len(columns)
    if isinstance(rows, Sequence) and any(len(row) != width for row in rows):
        raise ValueError(f"every row must have {width} values")
    per_statement = max(1, _SQLITE_PARAMETERS // width)
    values = chain.from_iterable(rows)
    groups = list(iter(lambda: tuple(islice(values, per_statement * width)), ()))
    if not groups:
        return 0
    rest = groups.pop() if len(groups[-1]) < per_statement * width else ()
    if len(rest) % width:
        raise ValueError(f"a row does not have {width} values")
    single = [rest[i : i + width] for i in range(0, len(rest), width)]
    for rows_each, params in ((per_statement, groups), (1, single)):
        if params:
            statement, order = _values_insert(connection.dialect, table, tuple(columns), rows_each)
            if order is not None:
                params = [tuple(group[j] for j in order) for group in params]
            connection.exec_driver_sql(statement, params)
    return len(groups) * per_statement + len(single)


def bulk_update(
    session: Session,
    table: Table,
    *,
    key: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> int:
    """Set ``columns`` of the rows of ``table`` whose ``key`` is given; return the rows staged.

    ``rows`` are tuples ``(key, *values)`` in ``columns`` order, values as
    :func:`bulk_insert` takes them. They are written to a temporary table
    (``COPY`` / multi-row ``INSERT``) and applied by one ``UPDATE ... FROM``
    joined on ``key``, so the cost is one bulk load and one join, not a
    statement per row; columns with an ``onupdate`` (``updated_at``) are set as
    an ORM update would set them. Runs in the session's current transaction.
    """
    unknown = [c for c in (key, *columns) if c not in table.c]
    if unknown:
        raise KeyError(f"{table.name} has no columns {unknown}")
    connection = session.connection()
    staged = Table(
        f"bulk_update_{table.name}",
        MetaData(),
        Column(key, table.c[key].type, primary_key=True),
        *(Column(c, table.c[c].type) for c in columns),
        prefixes=["TEMPORARY"],
    )
    # SQLite runs DDL outside the driver's implicit transaction: a rolled-back call can leave
    # its (empty) staging table on the pooled connection, so one left over is dropped first
    staged.drop(connection, checkfirst=True)
    staged.create(connection)
    try:
        count = bulk_insert(session, staged, (key, *columns), rows)
        if count:
            connection.execute(
                update(table)
                .where(table.c[key] == staged.c[key])
                .values({c: staged.c[c] for c in columns})
            )
    finally:
        staged.drop(connection)
    return count


def geometry_value(dialect: Dialect, geometry: shapely.Geometry | None) -> Any:
    """A geometry as :func:`bulk_insert` and :func:`bulk_update` take it for a
    :class:`~data.types.GeometryColumn`: hex EWKB (SRID 4326) for PostgreSQL's ``COPY``,
    WKB bytes for SQLite (what the column type itself stores)."""
    if geometry is None:
        return None
    if dialect.name == "postgresql":
        return shapely.to_wkb(
            shapely.set_srid(geometry, GeometryColumn.srid), hex=True, include_srid=True
        )
    return shapely.to_wkb(geometry)


#: Server column types whose binary COPY form psycopg writes from plain Python values. ``json``'s
#: binary form is its text, so a JSON column is sent as text (the server still validates it).
_BINARY_COPY = {
    "text": "text",
    "character varying": "text",
    "character": "text",
    "json": "text",
    "integer": "int4",
    "bigint": "int8",
    "smallint": "int2",
    "boolean": "bool",
    "double precision": "float8",
    "real": "float4",
    "date": "date",
    "timestamp with time zone": "timestamptz",
}


def _binary_copy_types(connection: Any, table: Table, columns: Sequence[str]) -> list[str] | None:
    """The types to send ``columns`` of ``table`` as in a binary ``COPY``; ``None`` to send text.

    Binary spares the server parsing and unescaping every field (a large part of a registry
    load's cost on PostgreSQL); a column of any other type (e.g. PostGIS geometry) keeps the
    whole copy in text. The answer is kept with the pooled connection (a load asks once, not
    per chunk); migrations run before the service uses its connections.
    """
    from sqlalchemy import text

    key = ("binary copy types", table.name, tuple(columns))
    if key in connection.info:  # a table's column types, asked of the server once per connection
        return connection.info[key]
    found = dict(
        connection.execute(
            text(
                "SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a "
                "WHERE a.attrelid = CAST(:table AS regclass) AND a.attnum > 0 AND NOT a.attisdropped"
            ),
            {"table": table.name},
        ).all()
    )
    types = [_BINARY_COPY.get(found.get(c, "")) for c in columns]
    connection.info[key] = None if None in types else types
    return connection.info[key]


#: Bound parameters per statement on SQLite (the lowest limit any SQLite build has).
_SQLITE_PARAMETERS = 999


def _values_insert(
    dialect: Dialect, table: Table, columns: tuple[str, ...], rows: int
) -> tuple[str, list[int] | None]:
    """An ``INSERT`` of ``rows`` rows of ``columns`` per execution (compiled once per shape).

    Returns the SQL and, when the driver's parameter order is not row after
    row in ``columns`` order, the position of each parameter in a flattened
    group of rows.
    """
    names = [f"r{i}_{j}" for i in range(rows) for j in range(len(columns))]

    def build() -> Executable:
        values = [{c: bindparam(f"r{i}_{j}") for j, c in enumerate(columns)} for i in range(rows)]
        return insert(table).values(values) if rows > 1 else insert(table).values(values[0])

    statement, got = compiled_once(dialect, ("insert", table.name, columns, rows), build, names)
    if got == names:
        return statement, None
    position = {name: k for k, name in enumerate(names)}
    return statement, [position[name] for name in got]


def compiled_once(
    dialect: Dialect, key: tuple, build: Callable[[], Executable], names: Sequence[str]
) -> tuple[str, list[str]]:
    """The SQL of a statement compiled once per ``key`` and dialect, and its parameters in driver order.

    For statements run many times on the driver (``exec_driver_sql``): the
    SQL expression machinery would otherwise render every parameter of every
    execution again. ``names`` are the bound parameters ``build()`` makes.
    """
    full = (dialect.name, *key)
    found = _COMPILED.get(full)
    if found is None:
        compiled = build().compile(dialect=dialect)
        got = list(compiled.positiontup or names)
        if sorted(got) != sorted(names):
            raise RuntimeError(f"unexpected parameters compiling {key[:2]}")
        found = _COMPILED[full] = (compiled.string, got)
    return found


_COMPILED: dict[tuple, tuple[str, list[str]]] = {}
