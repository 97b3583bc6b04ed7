"""Storage of entity-resolution state: reviewer decisions, the review queue, fitted models.

Kept apart from :mod:`data.models` (same metadata, same migrations) so that
module stays readable. Decisions reference source records, which keep their
ids across registry refreshes, so a decision is honoured by every later run.
Pairs are stored with ``left_record_id < right_record_id``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base
from data.types import UtcDateTime


class RecordPair:
    """Columns of a source-record pair (``left_record_id < right_record_id``)."""

    left_record_id: Mapped[int] = mapped_column(
        ForeignKey("source_records.id", ondelete="CASCADE"), index=True
    )
    right_record_id: Mapped[int] = mapped_column(
        ForeignKey("source_records.id", ondelete="CASCADE"), index=True
    )


class MatchDecision(RecordPair, Base):
    """A reviewer's decision on a record pair: 'accept' (must link) or 'reject' (cannot link).

    A manual unmerge stores one 'reject' per other member of the record's cluster.
    """

    __tablename__ = "match_decisions"
    __table_args__ = (
        UniqueConstraint("left_record_id", "right_record_id"),
        CheckConstraint("left_record_id < right_record_id", name="ordered_pair"),
        CheckConstraint("decision IN ('accept', 'reject')", name="decision_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decision: Mapped[str] = mapped_column(String(10))
    decided_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class ReviewPair(RecordPair, Base):
    """A borderline pair of the latest link run, waiting for (or past) a reviewer."""

    __tablename__ = "review_pairs"
    __table_args__ = (
        UniqueConstraint("left_record_id", "right_record_id"),
        CheckConstraint("left_record_id < right_record_id", name="ordered_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    match_probability: Mapped[float] = mapped_column(Float, index=True)
    match_weight: Mapped[float] = mapped_column(Float)
    explanation: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class LinkModelRecord(Base):
    """Fitted Fellegi-Sunter parameters of a full link run; incremental runs reuse the latest."""

    __tablename__ = "link_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column()
    parameters: Mapped[dict[str, Any]] = mapped_column()
    records: Mapped[int] = mapped_column(Integer)
    pairs: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
