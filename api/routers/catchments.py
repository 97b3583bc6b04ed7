"""Catchment hexagons as GeoJSON (role viewer)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.deps import SessionDep, require_role
from api.geojson import CatchmentCollection, GeoJSONResponse, geojson_doc
from api.problems import problem_responses
from api.routers.sites import SITE_CODE
from service.queries import catchments_geojson
from service.wire import url_number

__all__ = ["Method", "all_catchments", "router", "site_catchments"]

Method = Literal["radius", "drive_time"]

router = APIRouter(
    tags=["catchments"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403, 422),
)

_GEOJSON_DOC = geojson_doc("A FeatureCollection of catchment hexagons (Polygon features).")

MethodQuery = Annotated[Method | None, Query(description="Catchment method; all when omitted.")]
ParameterQuery = Annotated[
    url_number(gt=0, le=1000) | None,
    Query(description="Minutes (drive_time) or kilometres (radius); all when omitted."),
]


@router.get(
    "/catchments",
    response_class=GeoJSONResponse,
    response_model=CatchmentCollection,
    summary="Catchment hexagons of every site",
    responses=_GEOJSON_DOC,
)
def all_catchments(
    session: SessionDep, method: MethodQuery = None, parameter: ParameterQuery = None
) -> GeoJSONResponse:
    """H3 cells of the stored catchments with travel cost and white-space count per cell."""
    return GeoJSONResponse(catchments_geojson(session, method=method, parameter=parameter))


@router.get(
    "/sites/{site_code}/catchments",
    response_class=GeoJSONResponse,
    response_model=CatchmentCollection,
    summary="Catchment hexagons of one site",
    responses={**_GEOJSON_DOC, **problem_responses(404)},
)
def site_catchments(
    session: SessionDep,
    site_code: Annotated[str, SITE_CODE],
    method: MethodQuery = None,
    parameter: ParameterQuery = None,
) -> GeoJSONResponse:
    """H3 cells of one site's catchments; 404 for an unknown site."""
    return GeoJSONResponse(
        catchments_geojson(session, site_code=site_code, method=method, parameter=parameter)
    )
