"""Drive-time isochrones, nearest-site assignment and overlap (role viewer).

Computed from the loaded road network on request; every feature or row says
whether it is ``truncated`` (the search reached the network's edge) or
``estimated`` (straight line: no road network covers that site or point).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import ContextDep, CursorQuery, reject_offset, require_role
from api.geojson import AssignmentCellCollection, GeoJSONResponse, IsochroneCollection, geojson_doc
from api.problems import problem_responses
from api.routers.sites import SITE_CODE
from service.placement.drivetime import (
    MAX_ASSIGNMENT_PAGE,
    assignment_cells,
    assignment_providers,
    isochrones_geojson,
    overlap,
)
from service.planning.schemas import SiteOverlap
from service.schemas import Page, ProviderAssignment
from service.wire import url_int, url_number

__all__ = ["router"]

router = APIRouter(
    tags=["drive time"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403, 422),
)

_ISOCHRONES = geojson_doc("Isochrone polygons (Polygon or MultiPolygon features).")

#: A drive time: under a minute is no isochrone (and a vanishing one no radius at all).
Minutes = url_number(ge=1, le=180)
MinutesQuery = Annotated[
    list[Minutes] | None,
    Query(
        description="Time limits in minutes (repeat the parameter); settings' "
        "isochrone_minutes when omitted.",
        max_length=6,
    ),
]


@router.get(
    "/isochrones",
    response_class=GeoJSONResponse,
    response_model=IsochroneCollection,
    summary="Isochrone polygons of every site",
    responses=_ISOCHRONES,
)
def all_isochrones(ctx: ContextDep, minutes: MinutesQuery = None) -> GeoJSONResponse:
    """One polygon per site and time limit, with ``cell_count``, ``truncated``,
    ``estimated``, ``snap_m``, ``off_network`` and a ``label`` that says so."""
    return GeoJSONResponse(isochrones_geojson(ctx, minutes=minutes))


@router.get(
    "/sites/{site_code}/isochrones",
    response_class=GeoJSONResponse,
    response_model=IsochroneCollection,
    summary="Isochrone polygons of one site",
    responses={**_ISOCHRONES, **problem_responses(404)},
)
def site_isochrones(
    ctx: ContextDep, site_code: Annotated[str, SITE_CODE], minutes: MinutesQuery = None
) -> GeoJSONResponse:
    """Like ``/isochrones`` for one site; 404 for an unknown site."""
    return GeoJSONResponse(isochrones_geojson(ctx, site_code=site_code, minutes=minutes))


@router.get(
    "/assignment/cells",
    response_class=GeoJSONResponse,
    response_model=AssignmentCellCollection,
    summary="Nearest site by drive time of every cell",
    responses=geojson_doc("Hexagons (Polygon features) with their nearest site."),
)
def cells_assignment(ctx: ContextDep) -> GeoJSONResponse:
    """H3 hexagons (cells holding providers or in a catchment), each with the
    ``site_code`` it reaches fastest, ``drive_minutes``, ``estimated`` (the centre
    is farther than ``max_snap_m`` from a road, or no network) and ``snap_m``."""
    from geo.h3grid import cells_to_geodataframe, h3_str

    table = assignment_cells(ctx)
    frame = cells_to_geodataframe(
        table["h3"].to_numpy(),
        site_code=table["site_code"],
        drive_minutes=table["drive_minutes"].round(2),
        estimated=table["estimated"],
        snap_m=table["snap_m"].round(1),
    )
    frame["h3"] = [h3_str(int(c)) for c in frame["h3"]]
    return GeoJSONResponse(frame.to_geo_dict(na="null", drop_id=True))


@router.get(
    "/assignment/providers",
    response_model=Page[ProviderAssignment],
    summary="Nearest site by drive time of every provider",
    dependencies=[Depends(reject_offset)],
)
def providers_assignment(
    ctx: ContextDep,
    limit: Annotated[url_int(ge=1, le=MAX_ASSIGNMENT_PAGE), Query()] = 1000,
    cursor: CursorQuery = None,
) -> Page[ProviderAssignment]:
    """Located active providers by id: ``site_code``, ``drive_minutes``, ``estimated``,
    ``snap_m`` (metres to the road) and ``off_network`` (farther than ``max_snap_m``).

    Pass ``next_cursor`` back as ``cursor`` for the next page; ``total`` counts
    every located active provider. ``offset`` is refused (422): it was replaced by ``cursor``.
    """
    return assignment_providers(ctx, limit=limit, cursor=cursor)


@router.get(
    "/overlap", response_model=list[SiteOverlap], summary="Overlap between sites' isochrones"
)
def site_overlap(ctx: ContextDep, minutes: Annotated[Minutes, Query()] = 15.0) -> list[SiteOverlap]:
    """Pairs of sites sharing cells at this drive time, with shared providers."""
    return [SiteOverlap.model_validate(pair) for pair in overlap(ctx, minutes=minutes)]
