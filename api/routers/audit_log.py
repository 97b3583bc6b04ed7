"""The audit log (role admin): who did what, when, from where; newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.audit import flush_audit
from api.deps import ContextDep, CursorQuery, require_role
from api.problems import problem_responses
from service.schemas import Page
from service.security.audit import MAX_AUDIT_PAGE, list_audit
from service.security.schemas import AuditEntryPublic
from service.wire import IsoInstant, url_int

__all__ = ["audit_list", "router"]

router = APIRouter(
    prefix="/audit",
    tags=["audit"],
    dependencies=[Depends(require_role("admin"))],
    responses=problem_responses(401, 403, 422, 429),
)

_ENTRY = {
    "id": 981,
    "at": "2026-11-25T09:12:03Z",
    "actor": "key:3",
    "person": "Ben Okafor",
    "key_id": 3,
    "role": "marketing",
    "action": "export",
    "method": "GET",
    "path": "/v1/prospects/export.csv",
    "route": "/v1/prospects/export.csv",
    "params": {"site": "COL-NE"},
    "records": {"filters": {"site": "COL-NE"}},
    "status": 200,
    "client_ip": "10.0.0.7",
}


@router.get(
    "",
    response_model=Page[AuditEntryPublic],
    summary="Read the audit log (admin)",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {"items": [_ENTRY], "next_cursor": None, "total": 1}
                }
            }
        }
    },
)
def audit_list(
    ctx: ContextDep,
    request: Request,
    actor: Annotated[
        str | None,
        Query(
            max_length=40,
            pattern=r"^[a-z]+(:[a-z0-9]+)?$",
            description="`key:<id>`, `env:admin`, `cli`, `anonymous`.",
        ),
    ] = None,
    person: Annotated[
        str | None,
        Query(max_length=100, description="The named person of the caller's key."),
    ] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=30,
            pattern=r"^[a-z_]+$",
            description="read, bulk_read, export, change, denied, "
            "objection, erasure, key_created, key_revoked.",
        ),
    ] = None,
    path: Annotated[
        str | None, Query(max_length=200, description="Path prefix, e.g. /v1/prospects.")
    ] = None,
    since: Annotated[
        IsoInstant | None,
        Query(
            description="RFC 3339 date-time with its offset (e.g. 2026-11-25T09:00:00Z), inclusive."
        ),
    ] = None,
    until: Annotated[
        IsoInstant | None, Query(description="RFC 3339 date-time with its offset, inclusive.")
    ] = None,
    limit: Annotated[url_int(ge=1, le=MAX_AUDIT_PAGE), Query()] = 100,
    cursor: CursorQuery = None,
) -> Page[AuditEntryPublic]:
    """Entries matching the filters, newest first; the read itself is audited too.

    This worker's buffered entries are written first; another worker's may
    take up to a fifth of a second to appear (see :mod:`service.security.audit_buffer`).
    """
    flush_audit(request.app.state)
    return list_audit(
        ctx,
        actor=actor,
        person=person,
        action=action,
        path_prefix=path,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
