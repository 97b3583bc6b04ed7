"""Liveness and readiness: is the database reachable, at which schema revision, how full.

Load balancers and orchestrators ask every few seconds, and most of all when
the service is under load. The database is queried on every call (``SELECT
1``: it answers, or the answer is 503) on a connection reserved for health
checks (:attr:`service.context.AppContext.health_engine`), in a thread of
their own and outside the admission queue (:mod:`api.admission`), so a
saturated worker still says whether its database answers. The schema
revision and the row counts are recounted at most every :data:`COUNTS_TTL_S`
seconds per worker: counting 9 million providers on PostgreSQL takes a core
for most of a second.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date

import anyio
from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from api.deps import ContextDep
from api.problems import problem_responses
from data.db import current_revision
from data.models import ClinicSite, Provider, ReferrerStat
from service.context import AppContext
from service.schemas import HealthPublic

__all__ = ["CHECK_TIMEOUT_S", "COUNTS_TTL_S", "health", "router"]

COUNTS_TTL_S = 30.0
"""How old the counts and revision that ``/health`` reports may be (seconds)."""
CHECK_TIMEOUT_S = 5.0
"""A database that has not answered the check within this many seconds is reported down (503)."""

_STATE = "prm_health_counts"  # app.state attribute: this worker's last counts
_LIMITER = "prm_health_limiter"  # app.state attribute: the health checks' own threads


@dataclass(frozen=True, slots=True)
class _Counts:
    at: float
    revision: str | None
    providers: int
    sites: int
    as_of: date | None


logger = logging.getLogger("prm.api")

router = APIRouter(tags=["health"])

_EXAMPLE = {
    "status": "ok",
    "database": "sqlite",
    "schema_revision": "0001",
    "providers": 48211,
    "sites": 3,
    "as_of": "2024-06-30",
}


@router.get(
    "/health",
    response_model=HealthPublic,
    summary="Service health (no key needed)",
    responses={
        200: {"content": {"application/json": {"example": _EXAMPLE}}},
        **problem_responses(503),
    },
)
async def health(request: Request, ctx: ContextDep) -> HealthPublic:
    """Check that the database answers and report its schema revision and row counts.

    The database is queried on every call; the revision and counts are at
    most 30 s old. ``as_of`` is the date of the latest referrer statistics
    (None before any referrals were loaded). Answers 503 when the database
    cannot be queried.
    """
    state = request.app.state
    limiter = getattr(state, _LIMITER, None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(2)
        setattr(state, _LIMITER, limiter)
    try:
        # a database that hangs (a dead network path) is as down as one that refuses
        with anyio.fail_after(CHECK_TIMEOUT_S):
            counts = await anyio.to_thread.run_sync(
                _check, ctx, getattr(state, _STATE, None), limiter=limiter, abandon_on_cancel=True
            )
    except (SQLAlchemyError, TimeoutError) as exc:
        logger.error("health check failed: %s", exc or "no answer in time")
        raise HTTPException(503, detail="database unreachable") from None
    setattr(state, _STATE, counts)
    return HealthPublic(
        status="ok",
        database=ctx.engine.dialect.name,
        schema_revision=counts.revision,
        providers=counts.providers,
        sites=counts.sites,
        as_of=counts.as_of,
    )


def _check(ctx: AppContext, counts: _Counts | None) -> _Counts:
    """Ask the database on the reserved connection; recount when the counts are stale."""
    with ctx.health_engine.connect() as conn:
        if counts is not None and time.monotonic() - counts.at <= COUNTS_TTL_S:
            conn.execute(select(1))  # the database answers now
            return counts
        return _Counts(  # the counts' queries ask it
            at=time.monotonic(),
            revision=current_revision(conn),
            providers=conn.scalar(select(func.count()).select_from(Provider)) or 0,
            sites=conn.scalar(select(func.count()).select_from(ClinicSite)) or 0,
            as_of=conn.scalar(select(func.max(ReferrerStat.as_of))),
        )
