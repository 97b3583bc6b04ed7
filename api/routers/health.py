"""Liveness and readiness: is the database reachable, at which schema revision, how full."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from api.deps import ContextDep, SessionDep
from api.problems import problem_responses
from data.db import current_revision
from data.models import ClinicSite, Provider, ReferrerStat
from service.schemas import HealthPublic

__all__ = ["health", "router"]

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
def health(ctx: ContextDep, session: SessionDep) -> HealthPublic:
    """Check that the database answers and report its schema revision and row counts.

    ``as_of`` is the date of the latest referrer statistics (None before any
    referrals were loaded). Answers 503 when the database cannot be queried.
    """
    try:
        providers = session.scalar(select(func.count()).select_from(Provider)) or 0
        sites = session.scalar(select(func.count()).select_from(ClinicSite)) or 0
        as_of = session.scalar(select(func.max(ReferrerStat.as_of)))
        revision = current_revision(ctx.engine)
    except SQLAlchemyError as exc:
        logger.error("health check failed: %s", exc)
        raise HTTPException(503, detail="database unreachable") from None
    return HealthPublic(
        status="ok",
        database=ctx.engine.dialect.name,
        schema_revision=revision,
        providers=providers,
        sites=sites,
        as_of=as_of,
    )
