"""Provider-id ranges: how the tiers and score stages walk the providers in bounded chunks.

A chunk is a half-open range of :attr:`Provider.id` holding at most a chunk's
worth of providers, found by a keyset walk over the primary key (each step
reads ``size`` index entries, so the walk is linear). Everything a chunk reads
or rewrites (candidates, events, stored stats, alerts and prospects) is
restricted to its range, so a chunk's memory is set by its size and not by the
number of providers, and the chunks together cover every id exactly once.

The size comes from ``settings.memory_budget_mb`` through the link stage's
rule (:func:`service.linkage.frames.records_per_chunk`, about 16 KB a record).
A scoring chunk holds less than that per provider (measured at 100,000
providers: about 4 KB per scored candidate with its explanation, see the
stages' docstrings), so the budget is respected with room to spare.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from data.models import Provider


@dataclass(frozen=True)
class IdRange:
    """Provider ids ``lo <= id < hi`` (``hi`` None: no upper bound)."""

    lo: int
    hi: int | None = None

    def where(self, column: InstrumentedAttribute | ColumnElement) -> ColumnElement[bool]:
        """The condition ``column`` lies in the range (a provider-id column)."""
        low = column >= self.lo
        return low if self.hi is None else and_(low, column < self.hi)

    @property
    def key(self) -> str:
        """The range in a chunk key (``providers=[lo,hi)``, ``end`` when unbounded)."""
        return f"providers=[{self.lo},{'end' if self.hi is None else self.hi})"


def one_provider(provider_id: int) -> IdRange:
    """The range of one provider id."""
    return IdRange(provider_id, provider_id + 1)


def providers_per_chunk(memory_budget_mb: int, *, override: int | None = None) -> int:
    """Providers per chunk: ``override`` when given (tests), else from the memory budget."""
    from service.linkage.frames import records_per_chunk

    if override is not None:
        if override < 1:
            raise ValueError("chunk size must be positive")
        return override
    return records_per_chunk(memory_budget_mb)


def provider_ranges(session: Session, *, size: int) -> list[IdRange]:
    """Consecutive id ranges of at most ``size`` providers each, covering every id.

    The first starts at 0 and the last is unbounded above, so rows keyed by a
    provider id (stored prospects, stats) always fall in exactly one range.
    """
    bounds = [0]
    start = session.scalar(select(Provider.id).order_by(Provider.id).limit(1))
    while start is not None:
        start = session.scalar(
            select(Provider.id)
            .where(Provider.id >= start)
            .order_by(Provider.id)
            .offset(size)
            .limit(1)
        )
        if start is not None:
            bounds.append(start)
    return [
        IdRange(lo, bounds[i + 1] if i + 1 < len(bounds) else None) for i, lo in enumerate(bounds)
    ]
