"""An optional scope for a pipeline run: practice states and drive minutes of a site.

A scope limits which golden providers the geocode and score stages touch;
everything outside stays stored and untouched. It is never needed: without
one the whole file runs. Providers are in scope when they meet every given
condition:

* ``states``: their practice state is one of these US codes;
* ``within_minutes``: their drive time to at least one clinic site is at most
  this many minutes, by the one road rule (:func:`geo.drive_times.minutes_from`,
  the same minutes the prospect list shows). A provider not geocoded yet has
  no drive time and is out of scope for this condition.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InputError
from core.words import STATE_CODES
from data.models import ClinicSite, Provider
from service.context import AppContext

#: Two-letter codes a scope accepts (states, DC, territories, military mail).
STATE_SET = frozenset(STATE_CODES.values())

#: The longest drive a scope may ask for (a day's drive; beyond it a scope limits nothing).
MAX_SCOPE_MINUTES = 1440.0


class PipelineScope(BaseModel):
    """Which providers a pipeline run touches (every given condition must hold)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    states: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Two-letter US practice-state codes; only providers practising there.",
        examples=[["OH", "KY"]],
    )
    within_minutes: float | None = Field(
        default=None,
        gt=0,
        le=MAX_SCOPE_MINUTES,
        allow_inf_nan=False,
        description="Only geocoded providers within this many drive minutes of any clinic site.",
        examples=[30],
    )

    @field_validator("states")
    @classmethod
    def _known_states(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        bad = [s for s in value if s not in STATE_SET]
        if bad:
            raise ValueError(f"unknown US state code(s) {', '.join(map(repr, bad))}")
        return sorted(set(value))

    @property
    def whole(self) -> bool:
        """True when nothing is limited."""
        return self.states is None and self.within_minutes is None


def parse_states(text: str) -> list[str]:
    """US state codes from comma-separated text (``"oh, KY"`` -> ``["KY", "OH"]``).

    Raises
    ------
    InputError
        Naming the unknown codes, or when the text holds none.
    """
    codes = [s.strip().upper() for s in text.split(",") if s.strip()]
    bad = [s for s in codes if s not in STATE_SET]
    if not codes or bad:
        raise InputError(
            f"{text!r}: expected two-letter US state codes separated by commas"
            + (f" (unknown: {', '.join(bad)})" if bad else "")
        )
    return sorted(set(codes))


def check_minutes(value: float) -> float:
    """``value`` when it is a drive time a scope accepts.

    Raises
    ------
    InputError
        Unless above 0 and at most :data:`MAX_SCOPE_MINUTES` (and finite).
    """
    if not (math.isfinite(value) and 0 < value <= MAX_SCOPE_MINUTES):
        raise InputError(f"{value!r}: expected minutes above 0 and at most {MAX_SCOPE_MINUTES:g}")
    return value


def providers_in_scope(
    ctx: AppContext, session: Session, *, scope: PipelineScope
) -> frozenset[int] | None:
    """Ids of the golden providers in ``scope`` (None: no scope, every provider)."""
    if scope.whole:
        return None
    stmt = select(Provider.id, Provider.lat, Provider.lon)
    if scope.states is not None:
        stmt = stmt.where(Provider.state.in_(scope.states))
    if scope.within_minutes is not None:
        stmt = stmt.where(Provider.lat.is_not(None), Provider.lon.is_not(None))
    rows = session.execute(stmt).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    if scope.within_minutes is None or not len(ids):
        return frozenset(ids.tolist())
    from geo.drive_times import minutes_from

    lat = np.array([r[1] for r in rows], dtype=float)
    lon = np.array([r[2] for r in rows], dtype=float)
    near = np.zeros(len(ids), dtype=bool)
    for site_lat, site_lon in session.execute(select(ClinicSite.lat, ClinicSite.lon)):
        minutes, _ = minutes_from(
            ctx.router_or_none,
            site_lat,
            site_lon,
            lat,
            lon,
            max_snap_m=ctx.settings.max_snap_m,
            fallback=ctx.fallback,
        )
        near |= np.asarray(minutes, dtype=float) <= scope.within_minutes
    return frozenset(ids[near].tolist())
