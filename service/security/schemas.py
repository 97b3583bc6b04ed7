"""Pydantic models of API keys, the audit log, privacy actions and webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.wire import StorableText, json_int

RoleName = Literal["viewer", "liaison", "marketing", "integration", "admin"]


class ApiKeyPublic(BaseModel):
    """A stored key as listed: never the key itself."""

    id: int
    name: str
    person: str = Field(description="The named person the key belongs to.")
    prefix: str = Field(description="First characters of the key, to recognise it.")
    role: RoleName
    created_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    created_by: str | None = None


class ApiKeyCreated(ApiKeyPublic):
    """A key just issued: ``key`` is shown this once and never stored."""

    key: str = Field(description="The key; store it now, it cannot be shown again.")


class ApiKeyCreate(StorableText):
    """Input to issue a key."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "hubspot sync", "person": "Ben Okafor", "role": "integration", "days": 90},
                {"name": "Ana's tablet", "person": "Ana Lopez", "role": "liaison", "days": 180},
            ]
        },
    )

    name: str = Field(min_length=1, max_length=100)
    person: str = Field(
        min_length=1,
        max_length=100,
        description="The named person the key belongs to; their changes are attributed to them.",
    )
    role: RoleName
    days: json_int(ge=1, le=3650) | None = Field(365, description="Days to expiry; null = never.")


class AuditEntryPublic(BaseModel):
    """One audit log row."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    person: str | None = Field(None, description="The named person of the caller's key.")
    key_id: int | None = None
    role: str | None = None
    action: str
    method: str | None = None
    path: str | None = None
    route: str | None = None
    params: dict[str, Any] | None = None
    records: dict[str, Any] | None = None
    status: int | None = None
    client_ip: str | None = None


class ObjectionCreate(StorableText):
    free_text_fields: ClassVar[frozenset[str]] = frozenset({"reason"})

    """Input to record a person's objection."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "email of 2026-11-02"}]}
    )

    reason: str | None = Field(None, max_length=500)


class ObjectionPublic(BaseModel):
    """A person's objection and erasure state."""

    model_config = ConfigDict(from_attributes=True)

    provider_id: int
    objected_at: datetime
    reason: str | None = None
    recorded_by: str
    erased_at: datetime | None = None


class ErasureReport(BaseModel):
    """What an erasure did, in rows per table (see ``service.security.privacy.ERASURE_PLAN``)."""

    provider_id: int
    erased_at: datetime
    removed: dict[str, int] = Field(description="Rows deleted, per table.")
    scrubbed: dict[str, int] = Field(
        default_factory=dict,
        description="Rows kept with what identifies the person removed, per table.",
    )


class SessionPublic(BaseModel):
    """A browser session as its page sees it: who, until when, and the CSRF token for writes.

    The session id itself is only ever in the HttpOnly cookie.
    """

    actor: str = Field(description="Who the session speaks for, as in the audit log (e.g. key:3).")
    role: RoleName
    name: str | None = Field(
        None, description="The stored key's name, if the session came from one."
    )
    person: str | None = Field(
        None, description="The named person the session speaks for (none for a bootstrap key)."
    )
    expires_at: datetime
    csrf_token: str = Field(description="Send in the X-CSRF-Token header with every write.")


class SignInLinkUse(BaseModel):
    """A one-time sign-in link's token (the part after ``#link=``)."""

    model_config = ConfigDict(extra="forbid", strict=True)  # as every body (StorableText)

    token: str = Field(min_length=1, max_length=100)
