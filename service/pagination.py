"""Keyset (cursor) pagination with a stable order: sort value, then id."""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.sql.elements import ColumnElement

from core.errors import InputError, Problem


def encode_cursor(value: Any, row_id: int) -> str:
    raw = json.dumps([value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(row_id, int) or not -(2**62) < row_id < 2**62:
            raise ValueError
        if isinstance(value, int) and not -(2**62) < value < 2**62:
            raise ValueError
        if not isinstance(value, str | int | float | bool | None):
            raise ValueError
        return value, row_id
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InputError(
            "invalid cursor", problems=[Problem("not a cursor from this API", field="cursor")]
        ) from exc


def keyset(
    stmt: Select,
    *,
    sort_col: ColumnElement,
    id_col: ColumnElement,
    descending: bool,
    cursor: str | None,
) -> Select:
    """Order ``stmt`` by (sort_col, id) and start after ``cursor``."""
    after = decode_cursor(cursor) if cursor else None
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
