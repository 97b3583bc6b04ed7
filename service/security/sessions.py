"""Browser sessions: a key exchanged once for an opaque session id, kept server-side.

A browser cannot be trusted with an API key in a URL (it ends up in history,
logs and referrers), and a page's scripts should not hold one. ``POST
/v1/session`` takes the key once and answers with a session id in an
HttpOnly, SameSite=Strict cookie; only the SHA-256 of that id is stored here,
with a CSRF token the page sends back on every write, the credential it
carries and its expiry (``PRM_SESSION_HOURS`` from sign-in). A session ends
when it expires, when its user signs out, and when its key is revoked
(:func:`service.security.keys.revoke_key` ends them) or expires (a bootstrap key: when
the environment's key changes).

One-time sign-in links (:func:`create_sign_in_link`) let a command hand a
browser a session without showing it a key: the link's token travels in the
URL fragment (never sent in a request line, so never in an access log), is
stored hashed, and is exchanged once, before it expires, for a session.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from core.errors import AuthenticationError, InputError, Problem
from data.models.security import ApiKey, ApiSession, SignInLink
from service.context import AppContext
from service.security.keys import Caller, authenticate, bootstrap_key, hash_key

__all__ = [
    "SessionInfo",
    "create_session",
    "create_sign_in_link",
    "end_session",
    "exchange_sign_in_link",
    "session_caller",
]

_TOKEN_MAX = 100  # ids are 43 characters; anything longer is not one of ours
_KEEP_ENDED = timedelta(days=7)
LINK_MINUTES_MAX = 24 * 60


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session: who it speaks for, its CSRF token and expiry (never its id)."""

    caller: Caller
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just made: its id (for the cookie, shown once) and its information."""

    session_id: str
    info: SessionInfo


def _now() -> datetime:
    return datetime.now(UTC)


def _credential(caller: Caller, key: str) -> dict[str, object]:
    if caller.key_id is not None:
        return {
            "key_id": caller.key_id,
            "actor": caller.actor,
            "role": caller.role,
            "person": caller.person,
        }
    return {
        "bootstrap_role": caller.role,
        "bootstrap_hash": hash_key(key),
        "actor": caller.actor,
        "role": caller.role,
    }


def _still_valid(ctx: AppContext, row: ApiSession | SignInLink, key: ApiKey | None) -> Caller:
    """The caller a session or link speaks for, or AuthenticationError if its key is gone."""
    if row.key_id is not None:
        if key is None or key.revoked_at is not None:
            raise AuthenticationError("the key of this session has been revoked: sign in again")
        if key.expires_at is not None and key.expires_at <= _now():
            raise AuthenticationError("the key of this session has expired: sign in again")
        return Caller(
            actor=row.actor, role=key.role, key_id=key.id, name=key.name, person=row.person
        )
    secret = bootstrap_key(ctx.settings, row.bootstrap_role or "")
    if secret is None or not hmac.compare_digest(hash_key(secret), row.bootstrap_hash or ""):
        raise AuthenticationError("the key of this session has changed: sign in again")
    return Caller(actor=row.actor, role=row.role)


def create_session(ctx: AppContext, *, key: str) -> NewSession:
    """Exchange an API key for a new session.

    Raises
    ------
    core.errors.AuthenticationError
        For an unknown, revoked or expired key.
    """
    caller = authenticate(ctx, key)
    return _open(ctx, caller, _credential(caller, key))


def _open(ctx: AppContext, caller: Caller, credential: dict[str, object]) -> NewSession:
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = _now()
    expires = now + timedelta(hours=ctx.settings.session_hours)
    with ctx.sessions.begin() as session:
        session.add(
            ApiSession(
                token_hash=hash_key(session_id), csrf_token=csrf, expires_at=expires, **credential
            )
        )
        # sessions and links past use for a week go: the tables hold only what may still matter
        stale = now - _KEEP_ENDED
        session.execute(delete(ApiSession).where(ApiSession.expires_at < stale))
        session.execute(delete(SignInLink).where(SignInLink.expires_at < stale))
    return NewSession(session_id, SessionInfo(caller=caller, csrf_token=csrf, expires_at=expires))


def session_caller(ctx: AppContext, session_id: str) -> SessionInfo:
    """The live session of a cookie value.

    Raises
    ------
    core.errors.AuthenticationError
        For an unknown, ended or expired session, or one whose key is gone.
    """
    if not session_id or len(session_id) > _TOKEN_MAX:
        raise AuthenticationError("invalid session: sign in again")
    with ctx.sessions() as session:
        found = session.execute(
            select(ApiSession, ApiKey)
            .outerjoin(ApiKey, ApiKey.id == ApiSession.key_id)
            .where(ApiSession.token_hash == hash_key(session_id))
        ).first()
    if found is None:
        raise AuthenticationError("invalid session: sign in again")
    row, key = found
    if row.ended_at is not None:
        raise AuthenticationError("this session has ended: sign in again")
    if row.expires_at <= _now():
        raise AuthenticationError("this session has expired: sign in again")
    return SessionInfo(
        caller=_still_valid(ctx, row, key), csrf_token=row.csrf_token, expires_at=row.expires_at
    )


def end_session(ctx: AppContext, session_id: str) -> None:
    """Sign out: the session ends now (idempotent)."""
    with ctx.sessions.begin() as session:
        session.execute(
            update(ApiSession)
            .where(ApiSession.token_hash == hash_key(session_id), ApiSession.ended_at.is_(None))
            .values(ended_at=_now())
        )


def create_sign_in_link(ctx: AppContext, *, key: str, minutes: int = 60) -> str:
    """A one-time token that a browser exchanges for a session of ``key``'s caller.

    Put it in a URL's fragment (``/signin#link=<token>``): the sign-in page
    posts it to ``POST /v1/session/link``. The key is checked now; the link
    works once, for ``minutes`` (1 to 1440), while the key stays valid.
    """
    if not 1 <= minutes <= LINK_MINUTES_MAX:
        raise InputError(
            "invalid sign-in link lifetime",
            problems=[
                Problem(
                    f"minutes must be 1 to {LINK_MINUTES_MAX}", field="minutes", value=str(minutes)
                )
            ],
        )
    caller = authenticate(ctx, key)
    token = secrets.token_urlsafe(32)
    with ctx.sessions.begin() as session:
        session.add(
            SignInLink(
                token_hash=hash_key(token),
                expires_at=_now() + timedelta(minutes=minutes),
                **_credential(caller, key),
            )
        )
    return token


def exchange_sign_in_link(ctx: AppContext, token: str) -> NewSession:
    """Use a one-time link: a new session, and the link is spent.

    Raises
    ------
    core.errors.AuthenticationError
        For an unknown, used or expired link, or one whose key is gone.
    """
    if not token or len(token) > _TOKEN_MAX:
        raise AuthenticationError("invalid sign-in link")
    with ctx.sessions.begin() as session:
        # spent in the same statement that finds it: two tabs racing get one session between them
        spent = session.execute(
            update(SignInLink)
            .where(
                SignInLink.token_hash == hash_key(token),
                SignInLink.used_at.is_(None),
                SignInLink.expires_at > _now(),
            )
            .values(used_at=_now())
            .returning(SignInLink.id)
        ).scalar()
        if spent is None:
            raise AuthenticationError(
                "this sign-in link is unknown, used or expired: ask for a new one"
            )
        row = session.get(SignInLink, spent)
        key = session.get(ApiKey, row.key_id) if row.key_id is not None else None
        caller = _still_valid(ctx, row, key)
        credential = {
            "key_id": row.key_id,
            "bootstrap_role": row.bootstrap_role,
            "bootstrap_hash": row.bootstrap_hash,
            "actor": row.actor,
            "role": row.role,
            "person": row.person,
        }
    return _open(ctx, caller, credential)
