"""Map-side data that comes from the road network rather than the database."""

from __future__ import annotations

import geopandas as gpd

from core.errors import RoadNetworkError
from service.context import AppContext

#: Road classes drawn on the offline base layer. Residential streets are left
#: out at metro scale: they multiply the page size by six without helping a hunter.
BASE_LAYER_CLASSES = frozenset(
    {
        "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
        "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
    }
)  # fmt: skip


def roads_frame(ctx: AppContext) -> gpd.GeoDataFrame | None:
    """Offline base-layer road lines for the map, or None without a road network."""
    try:
        return ctx.roads
    except RoadNetworkError:
        return None
