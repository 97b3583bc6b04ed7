"""Audit every request that presented a key (or was refused one): ASGI middleware.

One :class:`~data.models.security.AuditEntry` per request: the actor (stored key id or
bootstrap role), the action (``read``, ``bulk_read``, ``export``, ``change``,
``denied``), method, path, route template, query parameters (credentials
masked, :func:`core.redact.redact_params`), path parameters and what an export route
recorded with :meth:`ExportAudit.record` (format, row count), the status and the client
address (behind a proxy, run uvicorn with ``--proxy-headers`` so this is the real client).

An export is declared by its route, never guessed from its path: the route
takes :data:`ExportDep` and calls :meth:`ExportAudit.record` with the format
and row count, which writes the entry (action ``export``) *before* the route
builds its answer, so an export whose entry cannot be written is not served
at all. The middleware refuses (500) any successful answer of a declared
export route that was not recorded, and any answer sent as a file
(``Content-Disposition: attachment``, or CSV, XLSX, NDJSON) without a
recorded export. Other entries
are written when the response is complete; a failure to write one is logged
(``prm.audit``) and does not change the response already sent.
"""

from __future__ import annotations

import logging
import re
import weakref
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import CALLER_STATE, ContextDep
from api.problems import problem_response
from core.errors import ServiceError
from core.redact import redact_params
from service.context import AppContext
from service.security import audit
from service.security.audit_buffer import AuditBuffer

__all__ = [
    "AUDITED_STATE",
    "AUDIT_BUFFER_STATE",
    "AuditMiddleware",
    "ExportAudit",
    "ExportDep",
    "action_for",
    "audit_now",
    "audit_records",
    "declares_export",
    "export_audit",
    "flush_audit",
]

logger = logging.getLogger("prm.audit")

AUDITED_STATE = "prm_audited"
#: ``request.state`` flag of a refusal answered otherwise than 401/403 (a page sent to sign in).
DENIED_STATE = "prm_denied"
#: ``app.state`` attribute of the :class:`~service.security.audit_buffer.AuditBuffer` (set by the lifespan).
AUDIT_BUFFER_STATE = "audit_buffer"
#: ``scope["state"]`` flag: the request's export entry is written (:meth:`ExportAudit.record`).
EXPORTED_STATE = "prm_export_recorded"
#: Media types of files of records (GeoJSON is left out: map layers answer it too, and the
#: segment GeoJSON export is declared by its route).
_FILE_TYPES = (
    b"text/csv",
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    b"application/x-ndjson",
    b"application/ndjson",
    b"application/fhir+ndjson",
    b"text/calendar",
)
#: Pages at least this big are bulk reads.
BULK_LIMIT = 200
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def action_for(
    method: str,
    path: str,
    params: dict[str, Any],
    status: int | None,
    *,
    export: bool = False,
    denied: bool = False,
) -> str:
    """The audit action of a request (``export`` when its route declares one, :data:`ExportDep`)."""
    if status in (401, 403) or denied:
        return "denied"
    if method not in ("GET", "HEAD"):
        return "change"
    if export:
        return "export"
    limit = params.get("limit")
    if (
        path == "/map"
        or "geojson" in path
        or (isinstance(limit, str) and limit.isdigit() and int(limit) >= BULK_LIMIT)
    ):
        return "bulk_read"
    return "read"


def _params(scope: Scope) -> dict[str, Any]:
    from urllib.parse import parse_qsl

    out: dict[str, Any] = {}
    for key, value in parse_qsl(
        scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
    ):
        out[key] = value if key not in out else f"{out[key]},{value}"
    return redact_params(out)


def _template(scope: Scope) -> str | None:
    """The matched route's path template, with the prefix of the router it was included under."""
    route = getattr(scope.get("route"), "path", None)
    if route is None:
        return None
    params = scope.get("path_params") or {}
    try:
        filled = _PARAM.sub(lambda m: str(params[m.group(1)]), route)
    except KeyError:
        return route
    path = scope["path"]
    return path[: len(path) - len(filled)] + route if path.endswith(filled) else route


def _fields(scope: Scope, status: int | None) -> tuple[str, str, dict[str, Any]]:
    state = scope.get("state") or {}
    caller = state.get(CALLER_STATE)
    params = _params(scope)
    records = dict(state.get("prm_audit_records") or {})
    if scope.get("path_params"):
        records.setdefault("path_params", {k: str(v) for k, v in scope["path_params"].items()})
    client = scope.get("client")
    fields = {
        "person": caller.person if caller else None,
        "key_id": caller.key_id if caller else None,
        "role": caller.role if caller else None,
        "method": scope["method"],
        "path": scope["path"],
        "route": _template(scope),
        "params": params,
        "records": records or None,
        "status": status,
        "client_ip": client[0] if client else None,
    }
    actor = caller.actor if caller else "anonymous"
    export = declares_export(scope.get("route"))
    denied = bool(state.get(DENIED_STATE))
    return (
        actor,
        action_for(scope["method"], scope["path"], params, status, export=export, denied=denied),
        fields,
    )


def audit_records(request: Request, **records: Any) -> None:
    """Add what a write changed (ids, new values) to the request's audit entry.

    The entry itself is written by :class:`AuditMiddleware` when the answer is
    complete, with the caller's actor, person, role and the answer's status.
    """
    state = request.scope.setdefault("state", {})
    state.setdefault("prm_audit_records", {}).update(records)


def audit_now(request: Request, ctx: AppContext, *, action: str = "export", **records: Any) -> None:
    """Write the request's audit entry now (before streaming an export); fails the request if it cannot."""
    state = request.scope.setdefault("state", {})
    if records:
        state.setdefault("prm_audit_records", {}).update(records)
    actor, _, fields = _fields(request.scope, 200)
    audit.append(ctx, actor=actor, action=action, **fields)
    state[AUDITED_STATE] = True


class ExportAudit:
    """The audit entry of one export request, written by :meth:`record` before the export is built."""

    def __init__(self, request: Request, ctx: AppContext) -> None:
        self._request = request
        self._ctx = ctx

    def record(self, *, rows: int, format: str, **records: Any) -> None:
        """Write the entry now: action ``export``, the format, the row count and ``records``.

        Call it once, after the checks that may refuse the request (404, 422)
        and before building the answer.

        Raises
        ------
        core.errors.ServiceError
            When the entry cannot be written (500): the export is then not served.
        """
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
            raise ValueError(f"rows must be a count, not {rows!r}")
        state = self._request.scope.setdefault("state", {})
        if state.get(EXPORTED_STATE):
            raise RuntimeError("this export's audit entry is already written")
        try:
            audit_now(
                self._request, self._ctx, action="export", format=format, rows=rows, **records
            )
        except Exception as exc:
            logger.exception(
                "could not write the audit entry of the export %s", self._request.url.path
            )
            raise ServiceError(
                "the export's audit entry could not be written; nothing was served"
            ) from exc
        state[EXPORTED_STATE] = True


async def export_audit(request: Request, ctx: ContextDep) -> ExportAudit:
    """Route dependency declaring that the route serves an export (see :data:`ExportDep`)."""
    return ExportAudit(request, ctx)


ExportDep = Annotated[ExportAudit, Depends(export_audit)]
"""Take this in every route that serves records as a file, and call its ``record`` before answering."""


def declares_export(route: Any) -> bool:
    """Whether a route takes :data:`ExportDep` (at any depth of its dependencies).

    Asked of every audited answer: the walk is made once per route and remembered.
    """
    if route is None:
        return False
    try:
        return _EXPORT_ROUTES[route]
    except KeyError:
        found = _EXPORT_ROUTES[route] = _walk_for_export(route)
        return found
    except TypeError:  # an unhashable route object: walk it each time
        return _walk_for_export(route)


_EXPORT_ROUTES: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _walk_for_export(route: Any) -> bool:
    stack = [getattr(route, "dependant", None)]
    while stack:
        dependant = stack.pop()
        if dependant is None:
            continue
        if dependant.call is export_audit:
            return True
        stack.extend(dependant.dependencies)
    return False


def _unrecorded_export(scope: Scope, message: Message) -> bool:
    """Whether a response about to start serves an export whose audit entry was not written."""
    if not 200 <= message["status"] < 300 or scope["state"].get(EXPORTED_STATE):
        return False
    if declares_export(scope.get("route")):
        return True
    headers = {k.lower(): v for k, v in message.get("headers") or ()}
    media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    disposition = headers.get(b"content-disposition", b"").lstrip().lower()
    return disposition.startswith(b"attachment") or media_type in _FILE_TYPES


class _ExportRefused(Exception):
    """Raised through the app when the middleware refused to start an unrecorded export."""


class AuditMiddleware:
    """Write the audit entry of every authenticated or refused request; refuse unrecorded exports."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        seen: dict[str, int] = {}

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                if _unrecorded_export(scope, message):
                    logger.error(
                        "refused to serve %s %s: an export without its audit entry",
                        scope["method"],
                        scope["path"],
                    )
                    refusal = problem_response(
                        status=500,
                        title="Export not audited",
                        instance=scope["path"],
                        detail="This export was not written to the audit log, so it is not served.",
                    )
                    seen["status"] = 500
                    await refusal(scope, receive, send)
                    raise _ExportRefused  # stops the route's stream: nothing of it is sent
                seen["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except _ExportRefused:
            pass
        finally:
            status = seen.get("status")
            wanted = (
                state.get(CALLER_STATE) is not None
                or status in (401, 403)
                or state.get(DENIED_STATE)
            )
            if wanted and not state.get(AUDITED_STATE) and status != 429:
                await self._write(scope, status)

    async def _write(self, scope: Scope, status: int | None) -> None:
        app_state = scope["app"].state
        ctx: AppContext | None = getattr(app_state, "context", None)
        if ctx is None:
            return
        actor, action, fields = _fields(scope, status)
        buffer: AuditBuffer | None = getattr(app_state, AUDIT_BUFFER_STATE, None)
        try:
            if buffer is not None:  # the lifespan ran: batched by the writer thread
                buffer.submit(actor=actor, action=action, **fields)
            else:
                await anyio.to_thread.run_sync(
                    lambda: audit.append(ctx, actor=actor, action=action, **fields)
                )
        except Exception:  # the response is already sent: report, never raise
            logger.exception(
                "could not write the audit entry of %s %s", scope["method"], scope["path"]
            )


def flush_audit(app_state: Any) -> None:
    """Write this process's buffered audit entries now (before the audit log is read)."""
    buffer: AuditBuffer | None = getattr(app_state, AUDIT_BUFFER_STATE, None)
    if buffer is not None:
        buffer.flush()
