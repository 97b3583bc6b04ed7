"""Audit every request that presented a key (or was refused one): ASGI middleware.

One :class:`~data.security.AuditEntry` per request: the actor (stored key id or
bootstrap role), the action (``read``, ``bulk_read``, ``export``, ``change``,
``denied``), method, path, route template, query parameters (credentials
masked, :func:`core.redact.redact_params`), path parameters and whatever the route noted with
:func:`api.deps.audit_records`, the status and the client address (behind a
proxy, run uvicorn with ``--proxy-headers`` so this is the real client).

Exports are written *before* their first byte leaves (:func:`audit_now`), so an
export whose audit entry cannot be written is not served at all. Other entries
are written when the response is complete; a failure to write one is logged
(``prm.audit``) and does not change the response already sent.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import anyio
from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import CALLER_STATE
from core.redact import redact_params
from service import audit
from service.audit_buffer import AuditBuffer
from service.context import AppContext

__all__ = ["AUDITED_STATE", "AUDIT_BUFFER_STATE", "AuditMiddleware", "action_for", "audit_now", "flush_audit"]

logger = logging.getLogger("prm.audit")

AUDITED_STATE = "prm_audited"
#: ``app.state`` attribute of the :class:`~service.audit_buffer.AuditBuffer` (set by the lifespan).
AUDIT_BUFFER_STATE = "audit_buffer"
#: Pages at least this big are bulk reads.
BULK_LIMIT = 200
_EXPORT_SUFFIXES = (".csv", ".ndjson", "/$export")
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def action_for(method: str, path: str, params: dict[str, Any], status: int | None) -> str:
    """The audit action of a request."""
    if status in (401, 403):
        return "denied"
    if method not in ("GET", "HEAD"):
        return "change"
    if path.endswith(_EXPORT_SUFFIXES):
        return "export"
    limit = params.get("limit")
    if path == "/map" or "geojson" in path or (isinstance(limit, str) and limit.isdigit()
                                                and int(limit) >= BULK_LIMIT):  # fmt: skip
        return "bulk_read"
    return "read"


def _params(scope: Scope) -> dict[str, Any]:
    from urllib.parse import parse_qsl

    out: dict[str, Any] = {}
    for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
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
    return actor, action_for(scope["method"], scope["path"], params, status), fields


def audit_now(request: Request, ctx: AppContext, *, action: str = "export", **records: Any) -> None:
    """Write the request's audit entry now (before streaming an export); fails the request if it cannot."""
    state = request.scope.setdefault("state", {})
    if records:
        state.setdefault("prm_audit_records", {}).update(records)
    actor, _, fields = _fields(request.scope, 200)
    audit.append(ctx, actor=actor, action=action, **fields)
    state[AUDITED_STATE] = True


class AuditMiddleware:
    """Write the audit entry of every authenticated or refused request."""

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
                seen["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            status = seen.get("status")
            wanted = state.get(CALLER_STATE) is not None or status in (401, 403)
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
                await anyio.to_thread.run_sync(lambda: audit.append(ctx, actor=actor, action=action, **fields))
        except Exception:  # the response is already sent: report, never raise
            logger.exception("could not write the audit entry of %s %s", scope["method"], scope["path"])


def flush_audit(app_state: Any) -> None:
    """Write this process's buffered audit entries now (before the audit log is read)."""
    buffer: AuditBuffer | None = getattr(app_state, AUDIT_BUFFER_STATE, None)
    if buffer is not None:
        buffer.flush()
