"""Prospect workflow (status, liaison, history) and exclusion lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from api.deps import ContextDep, require_role
from api.problems import problem_responses
from service.prospecting.schemas import ExclusionCreate, ExclusionPublic, StatusPublic, StatusUpdate
from service.prospecting.workflow import (
    add_exclusion,
    get_status,
    list_exclusions,
    remove_exclusion,
    set_status,
)
from service.schemas import UrlId

__all__ = ["router"]

router = APIRouter(
    tags=["workflow"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403, 404, 422),
)
ProviderId = Annotated[UrlId, Path()]


@router.get(
    "/prospects/{provider_id}/status",
    response_model=StatusPublic,
    summary="Workflow status of a prospect, with its history",
)
def status_get(ctx: ContextDep, provider_id: ProviderId) -> StatusPublic:
    return get_status(ctx, provider_id)


@router.put(
    "/prospects/{provider_id}/status",
    response_model=StatusPublic,
    summary="Change status and/or liaison (integration)",
    dependencies=[Depends(require_role("integration"))],
)
def status_set(ctx: ContextDep, provider_id: ProviderId, change: StatusUpdate) -> StatusPublic:
    """Statuses: new, contacted, meeting held, referring, not a fit. Survives re-scoring
    and registry refreshes; 'not a fit' hides the prospect from lists and exports."""
    return set_status(ctx, provider_id, change)


@router.get("/exclusions", response_model=list[ExclusionPublic], summary="Exclusion lists")
def exclusions(ctx: ContextDep) -> list[ExclusionPublic]:
    return list_exclusions(ctx)


@router.post(
    "/exclusions",
    response_model=ExclusionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add to do-not-contact / own physicians (admin)",
    dependencies=[Depends(require_role("admin"))],
    responses=problem_responses(409),
)
def exclusion_add(ctx: ContextDep, item: ExclusionCreate) -> ExclusionPublic:
    return add_exclusion(ctx, item)


@router.delete(
    "/exclusions/{exclusion_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an exclusion (admin)",
    dependencies=[Depends(require_role("admin"))],
)
def exclusion_remove(ctx: ContextDep, exclusion_id: Annotated[UrlId, Path()]) -> None:
    remove_exclusion(ctx, exclusion_id)
