"""Liveness and readiness: is the database reachable, at which schema revision, how full.

Load balancers and orchestrators ask every few seconds. The database is
queried on every call (``SELECT 1``: it answers, or the answer is 503); the
schema revision and the row counts are recounted at most every
:data:`COUNTS_TTL_S` seconds per worker: counting 9 million providers on
PostgreSQL takes a core for most of a second.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from api.deps import ContextDep, SessionDep
from api.problems import problem_responses
from data.db import current_revision
from data.models import ClinicSite, Provider, ReferrerStat
from service.schemas import HealthPublic

__all__ = ["COUNTS_TTL_S", "health", "router"]

COUNTS_TTL_S = 30.0
"""How old the counts and revision that ``/health`` reports may be (seconds)."""

_STATE = "prm_health_counts"  # app.state attribute: this worker's last counts


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
def health(request: Request, ctx: ContextDep, session: SessionDep) -> HealthPublic:
    """Check that the database answers and report its schema revision and row counts.

    The database is queried on every call; the revision and counts are at
    most 30 s old. ``as_of`` is the date of the latest referrer statistics
    (None before any referrals were loaded). Answers 503 when the database
    cannot be queried.
    """
    try:
        counts = getattr(request.app.state, _STATE, None)
        if counts is not None and time.monotonic() - counts.at <= COUNTS_TTL_S:
            session.execute(select(1))  # the database answers now
        else:  # the counts' queries ask it
            counts = _Counts(
                at=time.monotonic(),
                revision=current_revision(ctx.engine),
                providers=session.scalar(select(func.count()).select_from(Provider)) or 0,
                sites=session.scalar(select(func.count()).select_from(ClinicSite)) or 0,
                as_of=session.scalar(select(func.max(ReferrerStat.as_of))),
            )
            setattr(request.app.state, _STATE, counts)
    except SQLAlchemyError as exc:
        logger.error("health check failed: %s", exc)
        raise HTTPException(503, detail="database unreachable") from None
    return HealthPublic(
        status="ok",
        database=ctx.engine.dialect.name,
        schema_revision=counts.revision,
        providers=counts.providers,
        sites=counts.sites,
        as_of=counts.as_of,
    )
