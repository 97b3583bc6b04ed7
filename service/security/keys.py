"""API keys: issue (shown once), list, revoke, and authenticate.

A key is ``prm_`` followed by 43 URL-safe characters (32 random bytes). Only
its SHA-256 is stored: with 256 bits of entropy there is nothing to guess, so a
slow password hash would only slow every request. ``prefix`` (the first 12
characters) lets people recognise a key in lists and logs.

Bootstrap keys (``PRM_ADMIN_API_KEY``, ``PRM_VIEWER_API_KEY``) come from the
environment and keep working next to stored keys; they are compared in
constant time and reported as actors ``env:admin`` / ``env:viewer``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from core.errors import AuthenticationError, InputError, NotFoundError, Problem
from core.settings import Settings
from data.models.security import ApiKey, ApiSession
from service.context import AppContext
from service.security.schemas import ApiKeyCreated, ApiKeyPublic

__all__ = [
    "KEY_PREFIX",
    "ROLES",
    "Caller",
    "authenticate",
    "bootstrap_caller",
    "bootstrap_key",
    "bootstrap_role",
    "create_key",
    "hash_key",
    "list_keys",
    "revoke_key",
    "role_at_least",
]

ROLES: tuple[str, ...] = ("viewer", "liaison", "marketing", "integration", "admin")
"""Roles from least to most privileged; each has every right of those before it.

A ``liaison`` reads what a viewer reads and works the prospects assigned to them
(or unassigned): status, interactions, visit outcomes
(:mod:`service.prospecting.workflow`)."""

KEY_PREFIX = "prm_"
_SHOWN_PREFIX = 12
MAX_DAYS = 3650


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the actor label for the audit log, the role, the stored key and its person."""

    actor: str
    role: str
    key_id: int | None = None
    name: str | None = None
    #: The named person the key belongs to (None for a bootstrap key).
    person: str | None = None

    @property
    def who(self) -> str:
        """The name a change is attributed to: the key's person, else the actor label."""
        return self.person or self.actor


def role_at_least(role: str, needed: str) -> bool:
    """Whether ``role`` has every right of ``needed``."""
    return ROLES.index(role) >= ROLES.index(needed)


def hash_key(key: str) -> str:
    """Hex SHA-256 of a key (what is stored)."""
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _public(row: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=row.id,
        name=row.name,
        person=row.person,
        prefix=row.prefix,
        role=row.role,  # type: ignore[arg-type]
        created_at=row.created_at,
        expires_at=row.expires_at,  # type: ignore[arg-type]
        revoked_at=row.revoked_at,
        created_by=row.created_by,
    )


def create_key(
    ctx: AppContext,
    *,
    name: str,
    person: str,
    role: str,
    days: int | None = 365,
    created_by: str = "cli",
) -> ApiKeyCreated:
    """Issue a key; the returned ``key`` is the only time it is ever shown.

    Parameters
    ----------
    ctx
        Application context.
    name
        What the key is for (e.g. ``"hubspot sync"``, ``"Ana's laptop"``), 1-100 characters.
    person
        The named person the key belongs to (e.g. ``"Ana Lopez"``), 1-100 characters:
        status changes, interactions and audit entries made with it name them.
    role
        One of :data:`ROLES`.
    days
        Days until the key expires (1-3650), or None for a key that never expires.
    created_by
        Actor that issued it, for the record.

    Raises
    ------
    core.errors.InputError
        Listing every invalid argument.
    """
    problems = []
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        problems.append(Problem("name must be 1 to 100 characters", field="name"))
    if not isinstance(person, str) or not person.strip() or len(person.strip()) > 100:
        problems.append(Problem("person must be 1 to 100 characters", field="person"))
    if role not in ROLES:
        problems.append(
            Problem(f"role must be one of {', '.join(ROLES)}", field="role", value=str(role))
        )
    if days is not None and (not isinstance(days, int) or not 1 <= days <= MAX_DAYS):
        problems.append(Problem(f"days must be 1 to {MAX_DAYS}", field="days", value=str(days)))
    if problems:
        raise InputError("invalid API key request", problems=problems)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    expires = _now() + timedelta(days=days) if days is not None else None
    with ctx.sessions.begin() as session:
        row = ApiKey(
            name=name.strip(),
            person=person.strip(),
            prefix=key[:_SHOWN_PREFIX],
            key_hash=hash_key(key),
            role=role,
            expires_at=expires,
            created_by=created_by[:100],
        )
        session.add(row)
        session.flush()
        session.refresh(row)
        public = _public(row)
    return ApiKeyCreated(**public.model_dump(), key=key)


def list_keys(ctx: AppContext, *, include_revoked: bool = True) -> list[ApiKeyPublic]:
    """Every stored key (never the key itself), newest first."""
    with ctx.sessions() as session:
        stmt = select(ApiKey).order_by(ApiKey.id.desc())
        if not include_revoked:
            stmt = stmt.where(ApiKey.revoked_at.is_(None))
        return [_public(row) for row in session.scalars(stmt)]


def revoke_key(ctx: AppContext, key_id: int) -> ApiKeyPublic:
    """Revoke a key now, ending its browser sessions (idempotent: an already revoked key keeps
    its first revocation time).

    Raises
    ------
    core.errors.NotFoundError
        When no key has that id.
    """
    with ctx.sessions.begin() as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            raise NotFoundError(f"no API key with id {key_id}")
        if row.revoked_at is None:
            row.revoked_at = _now()
        # its browser sessions end with it (they would be refused anyway: say so in the table)
        session.execute(
            update(ApiSession)
            .where(ApiSession.key_id == key_id, ApiSession.ended_at.is_(None))
            .values(ended_at=row.revoked_at)
        )
        session.flush()
        return _public(row)


def bootstrap_role(settings: Settings, key: str) -> str | None:
    """The role of a bootstrap key from the environment (``admin`` or ``viewer``), or None."""
    given = key.encode()
    # compare both, always, so timing does not reveal which (if any) matched
    is_admin = hmac.compare_digest(given, settings.admin_api_key.get_secret_value().encode())
    is_viewer = hmac.compare_digest(given, settings.viewer_api_key.get_secret_value().encode())
    return "admin" if is_admin else "viewer" if is_viewer else None


def bootstrap_key(settings: Settings, role: str) -> str | None:
    """The environment's bootstrap key of ``role`` (``admin`` or ``viewer``), or None for another role."""
    secret = {"admin": settings.admin_api_key, "viewer": settings.viewer_api_key}.get(role)
    return secret.get_secret_value() if secret is not None else None


def bootstrap_caller(settings: Settings, key: str) -> Caller | None:
    """The caller of a bootstrap key (no database involved), or None for any other key."""
    role = bootstrap_role(settings, key)
    return Caller(actor=f"env:{role}", role=role) if role is not None else None


def authenticate(ctx: AppContext, key: str) -> Caller:
    """The caller a key belongs to.

    Raises
    ------
    core.errors.AuthenticationError
        For an unknown, revoked or expired key (the message says which, never
        whose).
    """
    caller = bootstrap_caller(ctx.settings, key)
    if caller is not None:
        return caller
    if not key.startswith(KEY_PREFIX) or len(key) > 100:
        raise AuthenticationError("invalid API key")
    with ctx.sessions() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
    if row is None:
        raise AuthenticationError("invalid API key")
    if row.revoked_at is not None:
        raise AuthenticationError("this API key has been revoked")
    if row.expires_at is not None and row.expires_at <= _now():
        raise AuthenticationError("this API key has expired")
    return Caller(
        actor=f"key:{row.id}", role=row.role, key_id=row.id, name=row.name, person=row.person
    )
