"""Storage for prospecting work: review queue, alerts, CRM log, workflow, exclusions, segments.

Imported by :mod:`data.models` so that one ``Base.metadata`` holds every table
(the migrations and the tests see them all). Workflow, preferences and
exclusions are keyed by provider (and exclusions also by NPI), never by a
prospect row, so they survive re-scoring (prospect rows are rewritten) and
registry refreshes (golden records keep their id; an NPI-keyed exclusion also
catches a re-created record).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base
from data.types import UtcDateTime

__all__ = [
    "ContactPreference",
    "Interaction",
    "ProspectExclusion",
    "ProspectStatus",
    "ProspectStatusHistory",
    "ReferralAlert",
    "ReferralReview",
    "Segment",
]


class ReferralReview(Base):
    """A referral event whose free-text referrer could not be linked: waits for a person."""

    __tablename__ = "referral_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("referral_events.id", ondelete="CASCADE"), unique=True
    )
    referrer_name: Mapped[str] = mapped_column(String(300))
    confidence: Mapped[float | None] = mapped_column(Float)
    candidates: Mapped[list[Any] | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class ReferralAlert(Base):
    """An at-risk rule that fired for one referrer on one day, with the history behind it."""

    __tablename__ = "referral_alerts"
    __table_args__ = (UniqueConstraint("provider_id", "rule", "raised_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    rule: Mapped[str] = mapped_column(String(80))
    raised_on: Mapped[date] = mapped_column(Date, index=True)
    tier: Mapped[str | None] = mapped_column(String(1))
    message: Mapped[str] = mapped_column(String(500))
    history: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class Interaction(Base):
    """A visit, call or email with a provider, posted by a CRM tool."""

    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_provider_when", "provider_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    liaison: Mapped[str | None] = mapped_column(String(100))
    summary: Mapped[str | None] = mapped_column(String(2000))
    #: A visit's outcome when logged through the visit-outcome action (held, not_met, declined).
    outcome: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class ContactPreference(Base):
    """How a provider wants to be contacted and to receive reports."""

    __tablename__ = "contact_preferences"

    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    channel: Mapped[str | None] = mapped_column(String(40))
    report_format: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(String(500))
    updated_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=func.now(), onupdate=func.now()
    )


class ProspectStatus(Base):
    """Where a prospect stands in the hunters' workflow (per provider, all sites)."""

    __tablename__ = "prospect_status"

    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    assigned_to: Mapped[str | None] = mapped_column(String(100), index=True)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(String(500))
    #: Bumped by every ORM change (SQLAlchemy's optimistic version counter: an UPDATE that
    #: finds another version changes nothing and fails): the status resource's ETag.
    version: Mapped[int] = mapped_column(Integer, server_default="0")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class ProspectStatusHistory(Base):
    """Every change of status or assignment: who, when, from what to what."""

    __tablename__ = "prospect_status_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    previous_status: Mapped[str | None] = mapped_column(String(20))
    assigned_to: Mapped[str | None] = mapped_column(String(100))
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(String(500))


class ProspectExclusion(Base):
    """A provider never listed or exported: do-not-contact, or one of the clinic's own physicians."""

    __tablename__ = "prospect_exclusions"

    id: Mapped[int] = mapped_column(primary_key=True)
    npi: Mapped[str | None] = mapped_column(String(10), unique=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(500))
    added_by: Mapped[str | None] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class Segment(Base):
    """A saved, named prospect filter (e.g. "high-potential GPs within 15 minutes")."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(String(500))
    filters: Mapped[dict[str, Any]] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=func.now(), onupdate=func.now()
    )
