"""Catchment hexagons as GeoJSON (role viewer)."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from api.deps import SessionDep, require_role
from api.problems import problem_responses
from api.routers.sites import SITE_CODE
from service.queries import catchments_geojson

__all__ = ["GEOJSON_MEDIA_TYPE", "GeoJSONResponse", "all_catchments", "router", "site_catchments"]

GEOJSON_MEDIA_TYPE = "application/geo+json"

Method = Literal["radius", "drive_time"]


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars/arrays made plain and non-finite floats made None.

    GeoJSON properties come from GeoDataFrame columns, which hold numpy types
    and NaN for missing numbers; JSON has neither.
    """
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class GeoJSONResponse(JSONResponse):
    """An RFC 7946 GeoJSON body (``application/geo+json``), numpy values made plain."""

    media_type = GEOJSON_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(
            _plain(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")


router = APIRouter(
    tags=["catchments"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403, 422),
)

_GEOJSON_DOC = {
    200: {
        "description": "A FeatureCollection of catchment hexagons (Polygon features).",
        "content": {
            GEOJSON_MEDIA_TYPE: {
                "example": {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "id": "0",
                            "properties": {
                                "site_code": "COL-NE",
                                "method": "drive_time",
                                "parameter": 10.0,
                                "truncated": False,
                                "estimated": False,
                                "h3": "882a930dbdfffff",
                                "drive_minutes": 6.4,
                                "distance_km": 3.9,
                                "white_space": 4,
                            },
                            "geometry": {"type": "Polygon", "coordinates": [[[-82.97, 40.08]]]},
                        }
                    ],
                }
            }
        },
    }
}

MethodQuery = Annotated[Method | None, Query(description="Catchment method; all when omitted.")]
ParameterQuery = Annotated[
    float | None,
    Query(
        gt=0, le=1000, description="Minutes (drive_time) or kilometres (radius); all when omitted."
    ),
]


@router.get(
    "/catchments",
    response_class=GeoJSONResponse,
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
