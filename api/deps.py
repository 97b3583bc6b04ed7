"""Request dependencies: the application context, a database session, settings, roles.

Use the ``Annotated`` aliases in route signatures (the FastAPI full-stack
template's style)::

    @router.get("/things", dependencies=[Depends(require_role("viewer"))])
    def things(session: SessionDep) -> list[Thing]: ...

Authentication is by API key or by browser session. Keys are issued with
``prm keys create`` (stored hashed, with a role, an expiry and a revocation;
:mod:`service.security.keys`), plus the two bootstrap keys from the environment
(``PRM_ADMIN_API_KEY``, ``PRM_VIEWER_API_KEY``). A key is read from the
``X-API-Key`` header or from ``Authorization: Bearer <key>``, never from the
URL: a request carrying ``?api_key=`` is refused whatever else it carries
(URLs end up in logs, history and referrers; :class:`api.limits.NoCredentialsInUrls`). A browser exchanges a key once
for a session (``POST /v1/session``, :mod:`service.security.sessions`) held in the
HttpOnly cookie :data:`SESSION_COOKIE`; a write authenticated by that cookie
must also carry the session's CSRF token in :data:`CSRF_HEADER`. Roles are
ordered, ``viewer`` < ``liaison`` < ``marketing`` < ``integration`` < ``admin``: a key
passes every check of a lower role. Bootstrap keys are compared with
:func:`hmac.compare_digest`, stored keys and sessions by their SHA-256.
"""

from __future__ import annotations

import functools
import hmac
import re
from collections import Counter
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from core.errors import AuthenticationError, AuthorizationError, InputError, Problem, SignInRequired
from core.settings import Settings
from service.context import AppContext
from service.security.keys import ROLES as KEY_ROLES
from service.security.keys import (
    Caller,
    authenticate,
    bootstrap_caller,
    role_at_least,
)
from service.security.sessions import SessionInfo, session_caller

__all__ = [
    "CALLER_STATE",
    "CSRF_HEADER",
    "ROLES",
    "SESSION_COOKIE",
    "SESSION_STATE",
    "CallerDep",
    "ContextDep",
    "CursorQuery",
    "PresentedKeyDep",
    "Role",
    "RoleRequirement",
    "SessionDep",
    "SettingsDep",
    "get_caller",
    "get_context",
    "get_session",
    "get_settings",
    "one_value_per_parameter",
    "refuse_if_throttled",
    "reject_offset",
    "require_role",
    "takes_several",
    "throttle_refused",
]

Role = Literal["viewer", "liaison", "marketing", "integration", "admin"]
ROLES: tuple[Role, ...] = KEY_ROLES  # type: ignore[assignment]
"""Roles from least to most privileged: each has every right of those before it."""

_header_key = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKeyHeader",
    description="API key of a role (viewer < liaison < marketing < integration < admin).",
)
_bearer_key = HTTPBearer(
    auto_error=False, scheme_name="Bearer", description="The same API key as a bearer token."
)
SESSION_COOKIE = "prm_session"
"""Cookie holding a browser session's opaque id (HttpOnly, SameSite=Strict)."""
CSRF_HEADER = "X-CSRF-Token"
"""Header carrying the session's CSRF token on every cookie-authenticated write."""
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="SessionCookie",
    description="Browser session from POST /v1/session; writes also need the X-CSRF-Token header.",
)


async def get_context(request: Request) -> AppContext:
    """The :class:`~service.context.AppContext` stored on ``app.state`` by the lifespan."""
    ctx = getattr(request.app.state, "context", None)
    if ctx is None:
        raise RuntimeError("application context missing: was the app started through its lifespan?")
    return ctx


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_settings(ctx: ContextDep) -> Settings:
    """The settings the running application was built with."""
    return ctx.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(ctx: ContextDep) -> AsyncIterator[Session]:
    """A session for one request, closed (its transaction rolled back) afterwards.

    Read routes just query through it; writes go through service functions that
    own their transaction. Both ends run on the event loop: opening a session
    does no I/O, and closing it ends its read transaction (a rollback: micro-
    seconds on SQLite, one loopback round trip on PostgreSQL), cheaper than the
    two thread hand-offs a sync dependency costs on every request.

    :data:`SessionDep` closes it as soon as the handler's answer is built,
    before the answer is sent (dependency scope ``function``): a connection
    is never held while a response waits on the network or on middleware.
    Streamed answers (exports) open sessions of their own for the stream.
    """
    session = ctx.sessions()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]

CursorQuery = Annotated[
    str | None, Query(max_length=1000, description="`next_cursor` of the previous page.")
]
"""The ``cursor`` parameter of every cursor-paged list (see :mod:`service.pagination`)."""


def takes_several(schema: dict[str, Any]) -> bool:
    """Whether a parameter schema takes several values (an array, or an array or null)."""
    return schema.get("type") == "array" or any(takes_several(b) for b in schema.get("anyOf", ()))


@functools.cache
def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def _documented_parameters(request: Request) -> list[dict[str, Any]]:
    """The parameters the OpenAPI document lists for the request's operation (a literal path
    segment wins over a parameter, as in routing)."""
    paths = request.app.openapi()["paths"]
    path = request.scope["path"].removeprefix(request.scope.get("root_path", ""))
    found = [t for t in paths if _template_pattern(t).fullmatch(path)]
    if not found:
        return []
    operation = paths[min(found, key=lambda t: t.count("{"))].get(request.method.lower(), {})
    return operation.get("parameters", [])


async def one_value_per_parameter(request: Request) -> None:
    """Refuse a query that repeats a parameter the document gives one value (app dependency).

    ``?actor=a&actor=b`` is an array where the document says a string; FastAPI would quietly
    keep the last value. The document (``app.openapi()``) says which parameters take several;
    it is read only when a name is repeated.

    Raises
    ------
    core.errors.InputError
        Naming each repeated one-value parameter (field ``query.<name>``).
    """
    counts = Counter(name for name, _ in request.query_params.multi_items())
    repeated = {name for name, n in counts.items() if n > 1}
    if not repeated:
        return
    once = [
        p["name"]
        for p in _documented_parameters(request)
        if p["in"] == "query" and p["name"] in repeated and not takes_several(p["schema"])
    ]
    if once:
        raise InputError(
            "a parameter given more than once",
            problems=[
                Problem("takes one value; given more than once", field=f"query.{name}")
                for name in once
            ],
        )


def reject_offset(
    offset: Annotated[str | None, Query(include_in_schema=False)] = None,
) -> None:
    """Refuse ``offset`` on lists that page by cursor (route dependency).

    The matching review queue and the nearest-site assignment paged by
    ``offset`` before they took cursors. A client still sending it would get
    the first page again and again; it gets a 422 problem naming the
    replacement instead.

    Raises
    ------
    core.errors.InputError
        Whenever ``offset`` is present (field ``offset``).
    """
    if offset is not None:
        raise InputError(
            "offset is no longer supported",
            problems=[
                Problem(
                    "this list pages by cursor: pass the previous page's next_cursor as cursor",
                    field="offset",
                    value=offset[:200],
                )
            ],
        )


CALLER_STATE = "prm_caller"
"""``request.state`` attribute holding the authenticated :class:`~service.security.keys.Caller`."""
SESSION_STATE = "prm_session"
"""``request.state`` attribute holding the :class:`~service.security.sessions.SessionInfo` of a cookie."""


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limit(request: Request, bucket: str) -> None:
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        limiter.take(bucket)


def throttle_refused(request: Request) -> None:
    """Take a token from the client address's bucket for a refused credential (slows guessing).

    Raises
    ------
    core.errors.RateLimitError
        When that address has been refused too often.
    """
    _limit(request, f"ip:{_client_ip(request)}")


def refuse_if_throttled(request: Request) -> None:
    """Before a credential is even checked: 429 for an address refused too often lately.

    Checking after the fact only would still tell a guesser which guess was right.
    """
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        limiter.check(f"ip:{_client_ip(request)}")


def _is_page(request: Request) -> bool:
    response_class = getattr(request.scope.get("route"), "response_class", None)
    return isinstance(response_class, type) and issubclass(response_class, HTMLResponse)


class RoleRequirement:
    """Dependency that admits requests whose key or session has at least ``role``.

    Build it with :func:`require_role`. Instances expose ``role`` so tests
    and tools can check which routes are protected. The caller is left on
    ``request.state.prm_caller`` for the audit log and for routes that need
    it (:data:`CallerDep`); each request also takes a token from the key's
    rate-limit bucket. An HTML page (a route answering ``HTMLResponse``)
    opened by a browser that is not signed in is redirected to the sign-in
    page instead of answered 401.
    """

    def __init__(self, role: Role) -> None:
        self.role = role
        self.__name__ = f"require_{role}"

    def __repr__(self) -> str:
        return f"require_role({self.role!r})"

    async def __call__(
        self,
        request: Request,
        ctx: ContextDep,
        header_key: Annotated[str | None, Security(_header_key)] = None,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_key)] = None,
        session_id: Annotated[str | None, Security(_session_cookie)] = None,
    ) -> Role:
        caller = getattr(request.state, CALLER_STATE, None)
        if caller is None:
            try:
                caller = await self._authenticate(request, ctx, header_key, bearer, session_id)
            except AuthenticationError as exc:
                if _is_page(request) and "text/html" in request.headers.get("accept", ""):
                    wanted = request.url.path + (
                        f"?{request.url.query}" if request.url.query else ""
                    )
                    raise SignInRequired(exc.detail, next_url=wanted) from None
                raise
        if not role_at_least(caller.role, self.role):
            raise AuthorizationError(
                f"this operation needs role {self.role!r}; the key has {caller.role!r}"
            )
        return caller.role  # type: ignore[return-value]

    async def _authenticate(
        self,
        request: Request,
        ctx: AppContext,
        header_key: str | None,
        bearer: HTTPAuthorizationCredentials | None,
        session_id: str | None,
    ) -> Caller:
        key = header_key or (bearer.credentials if bearer is not None else None)
        try:
            if key:
                # bootstrap keys are compared in memory; a stored key is a database lookup (a thread)
                caller = bootstrap_caller(ctx.settings, key) or await run_in_threadpool(
                    authenticate, ctx, key
                )
            elif session_id:
                info = await run_in_threadpool(session_caller, ctx, session_id)
                self._check_csrf(request, info)
                setattr(request.state, SESSION_STATE, info)
                caller = info.caller
            else:
                raise AuthenticationError(
                    "missing API key: send it in the X-API-Key header or "
                    "Authorization: Bearer, or sign in (POST /v1/session)"
                )
        except AuthenticationError:
            throttle_refused(request)
            raise
        setattr(request.state, CALLER_STATE, caller)
        _limit(request, caller.actor)
        return caller

    @staticmethod
    def _check_csrf(request: Request, info: SessionInfo) -> None:
        if request.method in _SAFE_METHODS:
            return
        given = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(given.encode(), info.csrf_token.encode()):
            raise AuthorizationError(
                f"a write made with a session cookie needs the session's CSRF "
                f"token in the {CSRF_HEADER} header (see GET /v1/session)"
            )


async def presented_key(
    header_key: Annotated[str | None, Security(_header_key)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_key)] = None,
) -> str | None:
    """The API key the request presents in a header, if any (for signing in)."""
    return header_key or (bearer.credentials if bearer is not None else None)


PresentedKeyDep = Annotated[str | None, Depends(presented_key)]


async def get_caller(request: Request) -> Caller:
    """The authenticated caller; use after a :func:`require_role` dependency."""
    caller = getattr(request.state, CALLER_STATE, None)
    if caller is None:
        raise AuthenticationError("no authenticated caller: declare a role on this route")
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def require_role(role: Role) -> RoleRequirement:
    """A dependency admitting keys and sessions with ``role`` or a higher one.

    Parameters
    ----------
    role
        ``"viewer"``, ``"liaison"``, ``"marketing"``, ``"integration"`` or ``"admin"``.

    Returns
    -------
    RoleRequirement
        Use as ``Depends(require_role("admin"))``; resolves to the caller's role.

    Raises
    ------
    ValueError
        For an unknown role.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return RoleRequirement(role)
