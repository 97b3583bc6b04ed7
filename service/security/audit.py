"""The audit log: append an entry, and let admins read it (cursor-paginated, newest first).

Nothing here updates or deletes an entry, and the database refuses it anyway
(triggers of migration 0009). The API writes one entry per request that
presented a key or was refused one (see :mod:`api.audit`); privacy actions and
CLI key management write their own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core.errors import InputError, Problem
from data.models.security import AuditEntry
from service.context import AppContext
from service.pagination import encode_cursor, keyset
from service.schemas import Page
from service.security.schemas import AuditEntryPublic

__all__ = ["MAX_AUDIT_PAGE", "append", "append_in", "entry_values", "list_audit"]

MAX_AUDIT_PAGE = 500
_MAX_PARAM_CHARS = 300


def _clip(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    out: dict[str, Any] = {}
    for key, value in list(params.items())[:40]:
        text = value if isinstance(value, str | int | float | bool) or value is None else str(value)
        if isinstance(text, str) and len(text) > _MAX_PARAM_CHARS:
            text = text[:_MAX_PARAM_CHARS] + "…"
        out[str(key)[:80]] = text
    return out


def entry_values(*, actor: str, action: str, **fields: Any) -> dict[str, Any]:
    """The column values of an entry: parameters clipped, strings cut to their column sizes."""
    fields["params"] = _clip(fields.get("params"))
    for name, size in (("path", 500), ("route", 300), ("client_ip", 64), ("method", 10)):
        if isinstance(fields.get(name), str):
            fields[name] = fields[name][:size]
    return {"actor": actor[:40], "action": action[:30], **fields}


def append_in(session: Session, *, actor: str, action: str, **fields: Any) -> None:
    """Add an entry inside the caller's transaction (it commits or rolls back with it)."""
    # a Core insert: one entry, no unit of work to track it through
    session.execute(
        insert(AuditEntry.__table__).values(entry_values(actor=actor, action=action, **fields))
    )


def append(ctx: AppContext, *, actor: str, action: str, **fields: Any) -> None:
    """Add an entry in its own transaction.

    Parameters
    ----------
    ctx
        Application context.
    actor
        ``key:<id>``, ``env:<role>``, ``cli`` or ``anonymous``.
    action
        ``read``, ``bulk_read``, ``export``, ``change``, ``denied``, ...
    **fields
        Other :class:`~data.models.security.AuditEntry` columns (``method``, ``path``,
        ``params``, ``records``, ``status``, ``client_ip``, ``key_id``, ``role``).
    """
    with ctx.sessions.begin() as session:
        append_in(session, actor=actor, action=action, **fields)


def list_audit(
    ctx: AppContext,
    *,
    actor: str | None = None,
    person: str | None = None,
    action: str | None = None,
    path_prefix: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> Page[AuditEntryPublic]:
    """Entries matching the filters (``person``: the named person of the caller's key),
    newest first (stable: by id descending).

    Raises
    ------
    core.errors.InputError
        For a page size outside 1..500, ``since`` after ``until`` or a foreign cursor.
    """
    problems = []
    if not isinstance(limit, int) or not 1 <= limit <= MAX_AUDIT_PAGE:
        problems.append(
            Problem(f"limit must be 1 to {MAX_AUDIT_PAGE}", field="limit", value=str(limit))
        )
    if since is not None and until is not None and since > until:
        problems.append(Problem("since is after until", field="since"))
    if problems:
        raise InputError("invalid audit query", problems=problems)
    stmt = select(AuditEntry)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if person:
        stmt = stmt.where(AuditEntry.person == person)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if path_prefix:
        escaped = path_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(AuditEntry.path.like(escaped + "%", escape="\\"))
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.at <= until)
    with ctx.sessions() as session:
        total = session.scalar(select(func.count()).select_from(stmt.subquery()))
        stmt = keyset(stmt, sort_col=None, id_col=AuditEntry.id, descending=True, cursor=cursor)
        rows = list(session.scalars(stmt.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [AuditEntryPublic.model_validate(r) for r in rows]
    nxt = encode_cursor(None, rows[-1].id) if more and rows else None
    return Page[AuditEntryPublic](items=items, next_cursor=nxt, total=total)
