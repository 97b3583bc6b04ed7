"""The app's offline base map: the road network of a map view as GeoJSON (role viewer).

Served from the OSM extract the drive times use (``PRM_OSM_FILE``), so the app draws
streets with no internet; with ``PRM_TILE_URL`` set it shows those tiles instead.
"""

from __future__ import annotations

import threading
import weakref
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from api.deps import ContextDep, require_role
from api.geojson import GeoJSONResponse, RoadCollection, geojson_doc
from api.problems import problem_responses
from core.errors import InputError, Problem
from maps.basemap import RoadIndex
from service.context import AppContext
from service.placement.mapdata import roads_frame
from service.wire import url_int, url_number

__all__ = ["router"]

router = APIRouter(
    tags=["map"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403, 422),
)

Longitude = Annotated[url_number(ge=-180, le=180), Query(description="Degrees.")]
Latitude = Annotated[url_number(ge=-90, le=90), Query(description="Degrees.")]
Zoom = Annotated[
    url_int(ge=0, le=22),
    Query(description="The map's zoom: which road classes are drawn, and how simplified."),
]

# one index per context: the extract does not change while the process runs
_INDEXES: weakref.WeakKeyDictionary[AppContext, RoadIndex | None] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _index(ctx: AppContext) -> RoadIndex | None:
    with _LOCK:
        if ctx not in _INDEXES:
            roads = roads_frame(ctx)  # parsed once per context (cached on disk across runs)
            _INDEXES[ctx] = RoadIndex(roads) if roads is not None and len(roads) else None
        return _INDEXES[ctx]


def _view(ctx: AppContext, box: tuple[float, float, float, float], zoom: int) -> dict:
    index = _index(ctx)
    if index is None:  # no road network: an empty base map, the markers still drawn
        return {"type": "FeatureCollection", "features": [], "truncated": False, "cap": 0}
    west, south, east, north = box
    return index.view(west=west, south=south, east=east, north=north, zoom=zoom)


@router.get(
    "/map/roads",
    response_class=GeoJSONResponse,
    response_model=RoadCollection,
    summary="Roads of a map view, for the app's offline base map",
    responses=geojson_doc("A FeatureCollection of road lines (LineString features)."),
)
async def map_roads(
    ctx: ContextDep,
    west: Longitude,
    south: Latitude,
    east: Longitude,
    north: Latitude,
    zoom: Zoom,
) -> GeoJSONResponse:
    """The roads crossing the box ``west, south, east, north`` from the OSM extract, drawn
    at ``zoom``: major classes only when zoomed out, lines simplified to about a pixel, major
    roads first, at most ``cap`` (4,000; ``truncated`` says more crossed the view).
    Empty when no road network is configured."""
    if west > east or south > north:
        raise InputError(
            "empty map view",
            problems=[Problem("west must not exceed east, nor south north", field="west")],
        )
    body = await run_in_threadpool(_view, ctx, (west, south, east, north), zoom)
    return GeoJSONResponse(body, headers={"Cache-Control": "private, max-age=3600"})
