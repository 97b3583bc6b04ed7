"""Storage for API security and privacy: API keys, the audit log, GDPR objections, webhooks.

* :class:`ApiKey` — keys issued by ``prm keys create`` to a named person; only the SHA-256 of
  the key is stored (keys have 256 bits of entropy, so a fast hash is enough:
  nothing to brute-force), with a short ``prefix`` to recognise a key in lists.
* :class:`ApiSession` — a browser session made from a key (``POST /v1/session``):
  the SHA-256 of its opaque id (sent only as an HttpOnly cookie), its CSRF
  token, the key it came from, its expiry and its end.
* :class:`SignInLink` — a one-time sign-in link (``prm keys sign-in-link``,
  the demo): the SHA-256 of its token, exchanged once for a session.
* :class:`AuditEntry` — one row per authenticated (or refused) request and per
  privacy action. Append-only: no code path updates or deletes it, and triggers
  refuse ``UPDATE`` and ``DELETE`` on both backends (migration 0009).
* :class:`DataObjection` — a person's GDPR objection (art. 21): excluded from
  prospecting and exports; ``erased_at`` records an erasure (art. 17).
* :class:`WebhookSubscription` / :class:`WebhookDelivery` — outgoing events
  and their delivery log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base
from data.types import UtcDateTime

__all__ = [
    "AUDIT_TABLE",
    "ApiKey",
    "ApiSession",
    "AuditEntry",
    "DataObjection",
    "SignInLink",
    "WebhookDelivery",
    "WebhookSubscription",
]

AUDIT_TABLE = "audit_log"


class ApiKey(Base):
    """An API key issued from the CLI: its hash, role, expiry and revocation."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: The named person the key belongs to (keys made before migration 0015: the key's name).
    person: Mapped[str] = mapped_column(String(100), server_default="")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_by: Mapped[str | None] = mapped_column(String(100))


class _Credential:
    """Whose right a session or a sign-in link carries: a stored key, or a bootstrap key.

    A bootstrap key (``PRM_ADMIN_API_KEY``, ``PRM_VIEWER_API_KEY``) has no row:
    its role and the SHA-256 of its value are kept instead, so that changing
    the key in the environment ends the sessions made with the old one.
    """

    key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    bootstrap_role: Mapped[str | None] = mapped_column(String(20))
    bootstrap_hash: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(40))
    #: The person of the key (None for a bootstrap key, which belongs to no one).
    person: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiSession(_Credential, Base):
    """A browser session: an opaque id in an HttpOnly cookie, exchanged for a key once."""

    __tablename__ = "api_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Sent back by the page in ``X-CSRF-Token`` on every write (useless without the cookie).
    csrf_token: Mapped[str] = mapped_column(String(64))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SignInLink(_Credential, Base):
    """A one-time sign-in link: its token is exchanged for a session once, before it expires."""

    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AuditEntry(Base):
    """Who did what, when, from where. Never updated, never deleted."""

    __tablename__ = AUDIT_TABLE
    __table_args__ = (Index("ix_audit_log_at", "at"), Index("ix_audit_log_key_id", "key_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    #: ``key:<id>`` for a stored key, ``env:<role>`` for a bootstrap key, ``cli`` or ``anonymous``.
    actor: Mapped[str] = mapped_column(String(40))
    #: The named person of the caller's key (None for bootstrap keys, the CLI, anonymous).
    person: Mapped[str | None] = mapped_column(String(100))
    key_id: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str | None] = mapped_column(String(20))
    #: ``read``, ``bulk_read``, ``export``, ``change``, ``denied``, ``objection``, ``erasure``, ...
    action: Mapped[str] = mapped_column(String(30), index=True)
    method: Mapped[str | None] = mapped_column(String(10))
    path: Mapped[str | None] = mapped_column(String(500))
    route: Mapped[str | None] = mapped_column(String(300))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Records or export touched: ids, counts, filters.
    records: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[int | None] = mapped_column(Integer)
    client_ip: Mapped[str | None] = mapped_column(String(64))


class DataObjection(Base):
    """A person's objection to processing (and, once done, the erasure of our extra data)."""

    __tablename__ = "data_objections"

    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True
    )
    objected_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    reason: Mapped[str | None] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(100))
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebhookSubscription(Base):
    """A CRM endpoint subscribed to event types; its signing secret is derived, never stored."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[Any]] = mapped_column(JSON)
    #: Random salt: the secret is HMAC(PRM_WEBHOOK_SECRET, "<id>:<salt>").
    salt: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    created_by: Mapped[str | None] = mapped_column(String(100))


class WebhookDelivery(Base):
    """One event to one subscription, with its attempts (the delivery log)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: ``pending`` (to send or retry), ``delivered``, ``failed`` (attempts exhausted).
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
