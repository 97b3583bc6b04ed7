"""Request dependencies: the application context, a database session, settings, roles.

Use the ``Annotated`` aliases in route signatures (the FastAPI full-stack
template's style)::

    @router.get("/things", dependencies=[Depends(require_role("viewer"))])
    def things(session: SessionDep) -> list[Thing]: ...

Authentication is by API key, one key per role (``settings.admin_api_key`` and
``settings.viewer_api_key``). Roles are ordered, ``viewer`` < ``admin``: an
admin key passes every viewer check. A key is read from the ``X-API-Key``
header or from ``Authorization: Bearer <key>``; only routes built with
``require_role(..., allow_query=True)`` (the HTML map page, which a browser
opens from a printed URL and so cannot send headers) also accept ``?api_key=``.
Keys are compared with :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from core.errors import AuthenticationError, AuthorizationError
from core.settings import Settings
from service.context import AppContext

__all__ = [
    "ROLES",
    "ContextDep",
    "Role",
    "RoleRequirement",
    "SessionDep",
    "SettingsDep",
    "get_context",
    "get_session",
    "get_settings",
    "require_role",
    "role_for_key",
]

Role = Literal["viewer", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "admin")
"""Roles from least to most privileged."""

_header_key = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKeyHeader",
    description="API key of a role (viewer or admin).",
)
_bearer_key = HTTPBearer(
    auto_error=False, scheme_name="Bearer", description="The same API key as a bearer token."
)
_query_key = APIKeyQuery(
    name="api_key",
    auto_error=False,
    scheme_name="ApiKeyQuery",
    description="API key in the URL; accepted only by the HTML map page.",
)


def get_context(request: Request) -> AppContext:
    """The :class:`~service.context.AppContext` stored on ``app.state`` by the lifespan."""
    ctx = getattr(request.app.state, "context", None)
    if ctx is None:
        raise RuntimeError("application context missing: was the app started through its lifespan?")
    return ctx


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_settings(ctx: ContextDep) -> Settings:
    """The settings the running application was built with."""
    return ctx.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(ctx: ContextDep) -> Iterator[Session]:
    """A session for one request, closed (its transaction rolled back) afterwards.

    Read routes just query through it; writes go through service functions that
    own their transaction.
    """
    session = ctx.sessions()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def role_for_key(settings: Settings, key: str) -> Role | None:
    """The most privileged role whose key equals ``key``, or None.

    Both keys are always compared, so the time taken does not reveal which
    one (if any) matched.
    """
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, not {type(key).__name__}")
    given = key.encode()
    is_admin = hmac.compare_digest(given, settings.admin_api_key.get_secret_value().encode())
    is_viewer = hmac.compare_digest(given, settings.viewer_api_key.get_secret_value().encode())
    if is_admin:
        return "admin"
    if is_viewer:
        return "viewer"
    return None


class RoleRequirement:
    """Dependency that admits requests whose API key has at least ``role``.

    Build it with :func:`require_role`. Instances expose ``role`` and
    ``allow_query`` so tests and tools can check which routes are protected.
    """

    def __init__(self, role: Role, *, allow_query: bool = False) -> None:
        self.role = role
        self.allow_query = allow_query
        self.__name__ = f"require_{role}" + ("_or_query_key" if allow_query else "")

    def __repr__(self) -> str:
        return f"require_role({self.role!r}, allow_query={self.allow_query})"

    def __call__(
        self,
        request: Request,
        settings: SettingsDep,
        header_key: Annotated[str | None, Security(_header_key)] = None,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_key)] = None,
    ) -> Role:
        key = header_key or (bearer.credentials if bearer is not None else None)
        if key is None and self.allow_query:
            key = request.query_params.get("api_key")
        if not key:
            where = "X-API-Key header or Authorization: Bearer"
            if self.allow_query:
                where += " (or ?api_key= on this page)"
            raise AuthenticationError(f"missing API key: send it in the {where}")
        role = role_for_key(settings, key)
        if role is None:
            raise AuthenticationError("invalid API key")
        if ROLES.index(role) < ROLES.index(self.role):
            raise AuthorizationError(
                f"this operation needs role {self.role!r}; the key has {role!r}"
            )
        return role


class _QueryKeyRequirement(RoleRequirement):
    """A :class:`RoleRequirement` that also documents ``?api_key=`` in OpenAPI."""

    def __call__(  # type: ignore[override]
        self,
        request: Request,
        settings: SettingsDep,
        header_key: Annotated[str | None, Security(_header_key)] = None,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_key)] = None,
        query_key: Annotated[str | None, Security(_query_key)] = None,
    ) -> Role:
        return super().__call__(request, settings, header_key, bearer)


def require_role(role: Role, *, allow_query: bool = False) -> RoleRequirement:
    """A dependency admitting keys with ``role`` or a higher one.

    Parameters
    ----------
    role
        ``"viewer"`` or ``"admin"``.
    allow_query
        Also accept the key as ``?api_key=`` (only for pages a browser opens
        directly; URLs end up in logs and browser history).

    Returns
    -------
    RoleRequirement
        Use as ``Depends(require_role("admin"))``; resolves to the caller's role.

    Raises
    ------
    TypeError
        If ``role`` is not a str or ``allow_query`` not a bool.
    ValueError
        For an unknown role.
    """
    if not isinstance(role, str):
        raise TypeError(f"role must be a str, not {type(role).__name__}")
    if not isinstance(allow_query, bool):
        raise TypeError(f"allow_query must be a bool, not {type(allow_query).__name__}")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    cls = _QueryKeyRequirement if allow_query else RoleRequirement
    return cls(role, allow_query=allow_query)
