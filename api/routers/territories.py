"""Liaison territory plans: build a version (admin), read and draw them (viewer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from api.deps import ContextDep, require_role
from api.geojson import GeoJSONResponse, TerritoryCollection, geojson_doc
from api.problems import problem_responses
from service.planning.schemas import TerritoryPlanCreate, TerritoryPlanPublic, TerritoryPlanSummary
from service.planning.territories import build_plan, get_plan, list_plans, plan_geojson
from service.wire import UrlId

__all__ = ["router"]

router = APIRouter(
    prefix="/territory-plans", tags=["territories"], responses=problem_responses(401, 403, 422)
)

PlanName = Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
VersionQuery = Annotated[UrlId | None, Query(description="Version; the newest when omitted.")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TerritoryPlanPublic,
    summary="Build a new plan version",
    dependencies=[Depends(require_role("admin"))],
)
def create_plan(ctx: ContextDep, body: TerritoryPlanCreate) -> TerritoryPlanPublic:
    """Split the region into one contiguous territory per liaison, balanced on the measure,
    honouring locked cells and accounts; stored as the next version of ``name``."""
    return TerritoryPlanPublic.model_validate(build_plan(ctx, body, created_by="api admin"))


@router.get(
    "",
    response_model=list[TerritoryPlanSummary],
    summary="Plans and versions",
    dependencies=[Depends(require_role("viewer"))],
)
def plans(ctx: ContextDep) -> list[TerritoryPlanSummary]:
    return [TerritoryPlanSummary.model_validate(p) for p in list_plans(ctx)]


@router.get(
    "/{name}",
    response_model=TerritoryPlanPublic,
    summary="One plan version with its report",
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(404),
)
def plan(ctx: ContextDep, name: PlanName, version: VersionQuery = None) -> TerritoryPlanPublic:
    """Balance (max/min load), compactness and each liaison's territory."""
    return TerritoryPlanPublic.model_validate(get_plan(ctx, name, version=version))


@router.get(
    "/{name}/geojson",
    response_class=GeoJSONResponse,
    response_model=TerritoryCollection,
    summary="Territory outlines of a plan version",
    dependencies=[Depends(require_role("viewer"))],
    responses={
        **geojson_doc("One outline per territory (Polygon or MultiPolygon features)."),
        **problem_responses(404),
    },
)
def plan_outlines(ctx: ContextDep, name: PlanName, version: VersionQuery = None) -> GeoJSONResponse:
    return GeoJSONResponse(plan_geojson(ctx, name, version=version))
