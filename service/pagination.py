"""Keyset (cursor) pagination with a stable order: sort value, then id.

A cursor is the URL-safe base64 of the JSON ``[sort value, id]`` of the last
row of a page (opaque to callers: they pass ``next_cursor`` back as
``cursor``). :func:`keyset` orders a statement by ``(sort value, id)`` and
starts after the cursor, so walking ``next_cursor`` visits every row once,
in one order, however rows were added or removed between pages; a list
ordered by id alone stores ``null`` as its sort value.

A cursor that does not decode, or whose sort value is not of the sort
column's type (e.g. a name cursor of one list sent to a list sorted by score,
which PostgreSQL would refuse to compare), is an :class:`~core.errors.InputError`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.sql.elements import ColumnElement

from core.errors import InputError, Problem

__all__ = ["cursor_type", "decode_cursor", "encode_cursor", "keyset", "keyset_after"]

_BOUND = 2**62


def encode_cursor(value: Any, row_id: int) -> str:
    """The opaque cursor of a row: its sort value and id.

    Parameters
    ----------
    value
        Sort value of the row (a JSON scalar), ``None`` for lists ordered by id alone.
    row_id
        Its id (the tiebreak of the order).

    Returns
    -------
    str
        URL-safe base64 without padding.
    """
    raw = json.dumps([value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid(reason: str) -> InputError:
    return InputError("invalid cursor", problems=[Problem(reason, field="cursor")])


def decode_cursor(cursor: str, *, value_type: type | None = None) -> tuple[Any, int]:
    """``(sort value, id)`` of a cursor made by :func:`encode_cursor`.

    Parameters
    ----------
    cursor
        The ``cursor`` parameter as received.
    value_type
        Python type the sort value must have (``float`` also takes integers,
        no type takes booleans); ``type(None)`` for lists ordered by id alone;
        ``None`` checks nothing beyond a JSON scalar.

    Raises
    ------
    core.errors.InputError
        Not a cursor of this API, or one of another list (field ``cursor``).
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:  # bad base64, bad UTF-8, bad JSON, not a pair
        raise _invalid("not a cursor from this API") from exc
    if isinstance(row_id, bool) or not isinstance(row_id, int) or not -_BOUND < row_id < _BOUND:
        raise _invalid("not a cursor from this API")
    if isinstance(value, int) and not isinstance(value, bool) and not -_BOUND < value < _BOUND:
        raise _invalid("not a cursor from this API")
    if not isinstance(value, str | int | float | bool | None):
        raise _invalid("not a cursor from this API")
    if value_type is not None and not _has_type(value, value_type):
        raise _invalid("a cursor of another list or sort order")
    return value, row_id


def _has_type(value: Any, value_type: type) -> bool:
    if value_type is type(None):
        return value is None
    if isinstance(value, bool):
        return value_type is bool
    if value_type is float:
        return isinstance(value, int | float)
    return isinstance(value, value_type)


def cursor_type(col: ColumnElement) -> type | None:
    """The Python type a cursor's sort value must have for ``col`` (None: any JSON scalar)."""
    try:
        return col.type.python_type
    except NotImplementedError:  # a type without a Python equivalent: check the shape only
        return None


def keyset(
    stmt: Select,
    *,
    sort_col: ColumnElement | None,
    id_col: ColumnElement,
    descending: bool = False,
    cursor: str | None,
) -> Select:
    """Order ``stmt`` by ``(sort_col, id)`` and start after ``cursor``.

    Parameters
    ----------
    stmt
        The filtered statement (unordered).
    sort_col
        Sort column or expression (never NULL: coalesce nullable ones), or
        ``None`` to order by ``id_col`` alone (cursor value ``null``).
    id_col
        Unique tiebreak, ascending; with ``sort_col=None`` the order itself.
    descending
        Sort ``sort_col`` (or, without one, ``id_col``) from the largest value.
    cursor
        ``next_cursor`` of the previous page, or ``None`` for the first page.

    Returns
    -------
    Select
        ``stmt`` ordered and restricted to the rows after the cursor (add the limit).

    Raises
    ------
    core.errors.InputError
        An invalid cursor, or one whose value does not fit ``sort_col``.
    """
    if sort_col is None:
        if cursor:
            _, last_id = decode_cursor(cursor, value_type=type(None))
            stmt = stmt.where(id_col < last_id if descending else id_col > last_id)
        return stmt.order_by(id_col.desc() if descending else id_col.asc())
    after = decode_cursor(cursor, value_type=cursor_type(sort_col)) if cursor else None
    return keyset_after(stmt, sort_col=sort_col, id_col=id_col, descending=descending, after=after)


def keyset_after(
    stmt: Select,
    *,
    sort_col: ColumnElement,
    id_col: ColumnElement,
    descending: bool,
    after: tuple[Any, Any] | None,
) -> Select:
    """Order ``stmt`` by (sort_col, id) and start after the row ``after`` = (sort value, id).

    The two may be values or bound parameters (a statement built once, run per cursor).
    """
    if after is not None:
        value, last_id = after
        beyond = sort_col < value if descending else sort_col > value
        stmt = stmt.where(or_(beyond, and_(sort_col == value, id_col > last_id)))
    order = sort_col.desc() if descending else sort_col.asc()
    return stmt.order_by(order, id_col.asc())
