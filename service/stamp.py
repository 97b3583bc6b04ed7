"""What a list, export or map was computed from: registry versions and the as-of dates.

:func:`data_stamp` reads, per source, the newest completed load (file name,
SHA-256, when it finished), the referral statistics' as-of date and when
prospects were last scored. The API sends it on every ``/v1`` and map answer
as the ``PRM-Data-Stamp`` header (:func:`stamp_header`); the map page prints it.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.models import LoadBatch, Prospect, ReferrerStat

__all__ = ["DataStamp", "RegistryVersion", "data_stamp", "stamp_header"]


class RegistryVersion(BaseModel):
    """The newest completed load of one source."""

    source: str
    file_name: str
    sha256: str
    loaded_at: datetime | None


class DataStamp(BaseModel):
    """Registry versions and as-of dates in force."""

    registries: list[RegistryVersion]
    referrals_as_of: date | None
    prospects_scored_at: datetime | None


def data_stamp(session: Session) -> DataStamp:
    """The stamp of the data in ``session``'s database now."""
    newest = (
        select(LoadBatch.source, func.max(LoadBatch.id).label("id"))
        .where(LoadBatch.status.not_in(("running", "failed", "interrupted")))
        .group_by(LoadBatch.source)
        .subquery()
    )
    rows = session.execute(
        select(LoadBatch).join(newest, LoadBatch.id == newest.c.id).order_by(LoadBatch.source)
    ).scalars()
    registries = [
        RegistryVersion(
            source=b.source, file_name=b.file_name, sha256=b.file_hash, loaded_at=b.finished_at
        )
        for b in rows
    ]
    return DataStamp(
        registries=registries,
        referrals_as_of=session.scalar(select(func.max(ReferrerStat.as_of))),
        prospects_scored_at=session.scalar(select(func.max(Prospect.computed_at))),
    )


def _ascii(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._\-]", "_", text)[:80]


def stamp_header(stamp: DataStamp) -> str:
    """One-line, ASCII-only rendering for an HTTP header.

    Example: ``nppes=npidata_pfile.csv@2026-11-01#3f2a9c1b; referrals_as_of=2026-11-01;
    prospects_scored_at=2026-11-25T04:00:00Z``.
    """
    parts = [
        f"{_ascii(r.source)}={_ascii(r.file_name)}@{r.loaded_at:%Y-%m-%d}#{r.sha256[:8]}"
        if r.loaded_at
        else f"{_ascii(r.source)}={_ascii(r.file_name)}#{r.sha256[:8]}"
        for r in stamp.registries
    ]
    parts.append(f"referrals_as_of={stamp.referrals_as_of or 'none'}")
    scored = stamp.prospects_scored_at
    parts.append(
        f"prospects_scored_at={scored:%Y-%m-%dT%H:%M:%SZ}" if scored else "prospects_scored_at=none"
    )
    return "; ".join(parts)
