"""Storage for liaisons' visit days: a day's list of providers to visit, its start and end.

One list per owner and day. The owner is a label (today the calling key's
actor, ``key:<id>`` or ``env:<role>``; see :func:`service.prospecting.visits.owner_of`).
Times are whole minutes since midnight in the list's time zone (the start's
zone, found offline), so a day reads the same wherever the server runs.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base

__all__ = ["VisitList", "VisitStop"]


class VisitList(Base):
    """A liaison's day: where it starts and ends, and when."""

    __tablename__ = "visit_lists"
    __table_args__ = (UniqueConstraint("owner", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    day: Mapped[date] = mapped_column(Date)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    day_start_min: Mapped[int] = mapped_column(Integer, default=8 * 60)
    day_end_min: Mapped[int | None] = mapped_column(Integer)
    start_kind: Mapped[str | None] = mapped_column(String(10))
    start_label: Mapped[str | None] = mapped_column(String(300))
    start_lat: Mapped[float | None] = mapped_column(Float)
    start_lon: Mapped[float | None] = mapped_column(Float)
    end_kind: Mapped[str | None] = mapped_column(String(10))
    end_label: Mapped[str | None] = mapped_column(String(300))
    end_lat: Mapped[float | None] = mapped_column(Float)
    end_lon: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class VisitStop(Base):
    """A provider on a day's list, with the visit's length and optional window."""

    __tablename__ = "visit_stops"
    __table_args__ = (UniqueConstraint("list_id", "provider_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("visit_lists.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    duration_min: Mapped[int] = mapped_column(Integer)
    window_start_min: Mapped[int | None] = mapped_column(Integer)
    window_end_min: Mapped[int | None] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
