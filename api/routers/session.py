"""Browser sessions: sign in with a key (or a one-time link), read the session, sign out.

``POST /v1/session`` takes an API key in the ``X-API-Key`` header (or as a
bearer token) once and answers with the session in an HttpOnly,
SameSite=Strict cookie; the page keeps only the CSRF token it is given, and
sends it in ``X-CSRF-Token`` with every write. Pages (``/map``, ...) and the
whole API accept the cookie. See :mod:`service.security.sessions`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from api.deps import (
    CALLER_STATE,
    SESSION_COOKIE,
    SESSION_STATE,
    ContextDep,
    PresentedKeyDep,
    refuse_if_throttled,
    require_role,
    throttle_refused,
)
from api.problems import problem_responses
from core.errors import AuthenticationError, NotFoundError
from service.context import AppContext
from service.security.schemas import SessionPublic, SignInLinkUse
from service.security.sessions import (
    NewSession,
    SessionInfo,
    create_session,
    end_session,
    exchange_sign_in_link,
)

__all__ = ["router", "session_create", "session_end", "session_link", "session_read"]

router = APIRouter(prefix="/session", tags=["session"], responses=problem_responses(401, 422, 429))

_EXAMPLE = {
    "actor": "key:3",
    "role": "liaison",
    "name": "Ana's tablet",
    "person": "Ana Lopez",
    "expires_at": "2026-12-07T10:00:00Z",
    "csrf_token": "pY3u0T1x8e5c0nqzS2kq7VwXf1hYb9rL4dA6mJ0sQeU",
}
_ANSWER = {
    "content": {"application/json": {"example": _EXAMPLE}},
    "description": "The session; its id is in the Set-Cookie header (HttpOnly) only.",
}


def _public(info: SessionInfo) -> SessionPublic:
    c = info.caller
    return SessionPublic(
        actor=c.actor,
        role=c.role,
        name=c.name,
        person=c.person,
        expires_at=info.expires_at,
        csrf_token=info.csrf_token,
    )


def _signed_in(
    request: Request, response: Response, ctx: AppContext, new: NewSession
) -> SessionPublic:
    if old := request.cookies.get(SESSION_COOKIE):
        end_session(ctx, old)  # signing in again ends the session this browser had
    setattr(request.state, CALLER_STATE, new.info.caller)  # the audit entry names who signed in
    response.set_cookie(
        SESSION_COOKIE,
        new.session_id,
        max_age=int(ctx.settings.session_hours * 3600),
        path="/",
        httponly=True,
        samesite="strict",
        secure=ctx.settings.environment == "production",
    )
    return _public(new.info)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionPublic,
    summary="Sign in: exchange an API key for a browser session",
    responses={201: _ANSWER},
)
async def session_create(
    request: Request, response: Response, ctx: ContextDep, key: PresentedKeyDep
) -> SessionPublic:
    """The key goes in the ``X-API-Key`` header (never in the URL); the session comes back as
    an HttpOnly cookie, valid ``PRM_SESSION_HOURS`` unless signed out or its key is revoked."""
    refuse_if_throttled(request)
    try:
        if not key:
            raise AuthenticationError("send the API key to sign in with in the X-API-Key header")
        new = await run_in_threadpool(create_session, ctx, key=key)
    except AuthenticationError:
        throttle_refused(request)
        raise
    return await run_in_threadpool(_signed_in, request, response, ctx, new)


@router.post(
    "/link",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionPublic,
    summary="Sign in with a one-time link (the sign-in page posts its token)",
    responses={201: _ANSWER},
)
async def session_link(
    request: Request, response: Response, ctx: ContextDep, body: SignInLinkUse
) -> SessionPublic:
    """Exchange a one-time sign-in link's token (``prm keys sign-in-link``) for a session."""
    refuse_if_throttled(request)
    try:
        new = await run_in_threadpool(exchange_sign_in_link, ctx, body.token)
    except AuthenticationError:
        throttle_refused(request)
        raise
    return await run_in_threadpool(_signed_in, request, response, ctx, new)


def _current(request: Request) -> SessionInfo:
    info = getattr(request.state, SESSION_STATE, None)
    if info is None:
        raise NotFoundError("this request was made with an API key, not a session cookie")
    return info


@router.get(
    "",
    response_model=SessionPublic,
    summary="The current browser session",
    dependencies=[Depends(require_role("viewer"))],
    responses={200: _ANSWER, **problem_responses(404)},
)
async def session_read(request: Request) -> SessionPublic:
    """Who the session cookie speaks for, its expiry and its CSRF token (for a reloaded page)."""
    return _public(_current(request))


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Sign out: end the current browser session",
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(403, 404),
)
async def session_end(request: Request, ctx: ContextDep) -> Response:
    """End the session now and clear its cookie (needs the CSRF token, as every write)."""
    _current(request)
    await run_in_threadpool(end_session, ctx, request.cookies[SESSION_COOKIE])
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
