"""Map-side data that comes from the road network rather than the database."""

from __future__ import annotations

import geopandas as gpd

from core.errors import RoadNetworkError
from service.context import AppContext


def roads_frame(ctx: AppContext) -> gpd.GeoDataFrame | None:
    """Offline base-layer road lines for the map, or None without a road network."""
    try:
        return ctx.roads
    except RoadNetworkError:
        return None
