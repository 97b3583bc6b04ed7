"""The HTML territory and planning map pages (role viewer, by browser session: ``/signin``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import geopandas as gpd
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import ContextDep, SessionDep, require_role
from api.problems import problem_responses
from api.routers.catchments import Method
from api.routers.drivetime import Minutes
from api.routers.prospects import FilterDep
from data.models import Prospect, ReferrerStat
from maps.territory import build_territory_map, render_map_html
from service.placement.mapdata import roads_frame
from service.prospecting.listing import prospects_frame
from service.queries import catchment_frame, site_by_code, sites_frame
from service.schemas import ProspectFilter
from service.stamp import data_stamp
from service.wire import UrlId, url_number

__all__ = ["ASSET_URL", "largest_catchments", "map_stamp", "router", "territory_map"]

ASSET_URL = "/static"
"""Where :mod:`api.main` mounts :data:`maps.assets.ASSET_DIR`."""

router = APIRouter(
    tags=["map"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403, 404, 422),
)


def largest_catchments(hexes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Keep, per site and method, only the cells of the catchment with the largest parameter."""
    if hexes.empty:
        return hexes
    largest = hexes.groupby(["site_code", "method"])["parameter"].transform("max")
    return hexes[hexes["parameter"] == largest]


def map_stamp(session: Session) -> str:
    """ "as of ..." text: the newest scoring run and referral statistics, if any."""
    scored = session.scalar(select(func.max(Prospect.computed_at)))
    referrals = session.scalar(select(func.max(ReferrerStat.as_of)))
    parts = [f"prospects scored {scored:%Y-%m-%d}" if scored else "no prospects scored yet"]
    if referrals:
        parts.append(f"referrals as of {referrals:%Y-%m-%d}")
    registries = [
        f"{r.source} {r.file_name} ({r.loaded_at:%Y-%m-%d})"
        if r.loaded_at
        else f"{r.source} {r.file_name}"
        for r in data_stamp(session).registries
    ]
    if registries:
        parts.append("registries: " + ", ".join(registries))
    parts.append(f"page built {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    return "as of " + "; ".join(parts)


@router.get(
    "/map",
    response_class=HTMLResponse,
    summary="Interactive territory map (HTML)",
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def territory_map(
    ctx: ContextDep,
    session: SessionDep,
    filters: FilterDep,
    method: Annotated[
        Method, Query(description="Catchment method drawn (largest parameter per site).")
    ] = "drive_time",
    parameter: Annotated[
        url_number(gt=0, le=1000) | None, Query(description="Exact catchment parameter to draw.")
    ] = None,
) -> HTMLResponse:
    """A standalone Leaflet page: sites, catchment hexes shaded by white space, scored
    prospects (popups with the score breakdown) over the offline road network.

    The prospects are those of the prospect list's filters (``site``, ``min_score``,
    ``status``, ...: the same parameters as ``/v1/prospects``). Every script and style
    sheet comes from ``/static``; an online tile layer is offered only when
    ``settings.tile_url`` is set. Open it in a browser as ``/map`` once signed in (a
    browser that is not is sent to ``/signin``). The liaison's app is ``/app``.
    """
    site = filters.site
    sites = sites_frame(session)
    if site:
        site_by_code(session, site)
        sites = sites[sites["site_code"] == site]
    hexes = catchment_frame(session, site_code=site, method=method, parameter=parameter)
    if parameter is None:
        hexes = largest_catchments(hexes)
    prospects = prospects_frame(session, filters)
    settings = ctx.settings
    m = build_territory_map(
        sites=sites,
        hexes=hexes,
        prospects=prospects,
        roads=roads_frame(ctx),
        asset_url=ASSET_URL,
        tile_url=settings.tile_url,
        tile_attribution=settings.tile_attribution,
        title=f"Territory map: {site}" if site else "Territory map",
        stamp=map_stamp(session),
    )
    return HTMLResponse(render_map_html(m))


@router.get(
    "/map/planning",
    response_class=HTMLResponse,
    summary="Planning map: isochrones, nearest-site assignment, territories, candidates (HTML)",
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def planning_map(
    ctx: ContextDep,
    session: SessionDep,
    minutes: Annotated[
        list[Minutes] | None, Query(max_length=6, description="Isochrone limits.")
    ] = None,
    plan: Annotated[
        str | None, Query(max_length=100, description="Territory plan (newest when omitted).")
    ] = None,
    plan_version: Annotated[UrlId | None, Query()] = None,
    scenario: Annotated[
        str | None, Query(max_length=100, description="Expansion scenario (newest when omitted).")
    ] = None,
) -> HTMLResponse:
    """Sites over the offline roads with four overlays: drive-time isochrones per site
    (truncated/estimated ones labelled), every cell coloured by its nearest site by drive
    time, the liaison territories of a plan coloured by liaison, and the candidate sites of
    an expansion scenario sized by the white space they add."""
    from geo.h3grid import cells_to_geodataframe
    from maps.planning import add_planning_layers
    from service.placement.drivetime import assignment_cells, isochrones_geojson
    from service.planning.expansion import scenario_frame
    from service.planning.territories import plan_frame

    iso = gpd.GeoDataFrame.from_features(isochrones_geojson(ctx, minutes=minutes), crs="EPSG:4326")
    table = assignment_cells(ctx)
    assignment = cells_to_geodataframe(
        table["h3"].to_numpy(),
        site_code=table["site_code"],
        drive_minutes=table["drive_minutes"],
        estimated=table["estimated"].astype(bool),
    )
    empty_hexes = gpd.GeoDataFrame(
        {c: [] for c in ("h3", "site_code", "method", "parameter", "white_space", "truncated")},
        geometry=[],
        crs="EPSG:4326",
    )
    territories = plan_frame(ctx, plan, version=plan_version)
    candidates = scenario_frame(ctx, scenario)
    m = build_territory_map(
        sites=sites_frame(session),
        hexes=empty_hexes,
        prospects=prospects_frame(session, ProspectFilter(), limit=0),
        roads=roads_frame(ctx),
        asset_url=ASSET_URL,
        tile_url=ctx.settings.tile_url,
        tile_attribution=ctx.settings.tile_attribution,
        title="Planning map",
        stamp=map_stamp(session),
        extra_layers=lambda fm: add_planning_layers(
            fm,
            isochrones=iso,
            assignment=assignment,
            territories=territories,
            candidates=candidates,
        ),
        fit_also=(territories, candidates),  # candidates may lie away from every site
    )
    return HTMLResponse(render_map_html(m))
