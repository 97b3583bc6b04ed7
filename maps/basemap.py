"""The offline base map of the app: the OSM extract's roads, per map view, bounded per answer.

``/map`` draws the whole road network into its page (:func:`maps.layers.road_collection`);
the app (``/app``) asks for the roads of its view instead (``GET /v1/map/roads``), so the
answer stays small whatever the extract: the classes drawn depend on the zoom (motorways to
secondary roads when zoomed out, every base-layer class close up), lines are simplified to
about a pixel at that zoom, and at most :data:`ROAD_FEATURE_CAP` lines come back, major roads
first. The lines and their spatial index are built once per road frame
(:class:`RoadIndex`): the extract does not change while the process runs.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from maps.layers import ROAD_COLUMNS, ROAD_STYLES, road_class, validate_frame

__all__ = ["ROAD_FEATURE_CAP", "RoadIndex", "classes_at_zoom"]

#: Most lines one answer holds, whatever the view and the extract.
ROAD_FEATURE_CAP = 4000
#: Coordinate decimals sent (about 1 m).
DECIMALS = 5

# the least important class drawn from each zoom up: (zoom, class); ROAD_STYLES is ordered
# from the most important class to the least
_LEAST_AT_ZOOM = ((0, "trunk"), (10, "primary"), (12, "secondary"), (13, "tertiary"))
_RANK = {name: i for i, name in enumerate(ROAD_STYLES)}


def classes_at_zoom(zoom: int) -> frozenset[str]:
    """The road style classes drawn at ``zoom`` (every class from 14 up)."""
    if zoom >= 14:
        return frozenset(ROAD_STYLES)
    least = next(name for z, name in reversed(_LEAST_AT_ZOOM) if zoom >= z)
    return frozenset(c for c in ROAD_STYLES if _RANK[c] <= _RANK[least])


class RoadIndex:
    """The road lines of one frame, each drawn once, with a spatial index over them.

    Parameters
    ----------
    roads
        Road lines with a ``highway`` column (:attr:`service.context.AppContext.roads`).
        The two directions of a two-way street (same line, reversed) are kept once.
    """

    def __init__(self, roads: gpd.GeoDataFrame) -> None:
        roads = validate_frame(
            roads,
            layer="roads",
            columns=ROAD_COLUMNS,
            geom_types=("LineString", "MultiLineString"),
        )
        lines = shapely.normalize(roads.geometry.array)
        _, first = np.unique(shapely.to_wkb(lines), return_index=True)
        first.sort()
        self.lines = np.asarray(lines)[first]
        self.classes = np.array([road_class(v) for v in roads["highway"].iloc[first]], dtype=object)
        # major roads first, then the longest: what a capped answer keeps
        rank = np.array([_RANK[c] for c in self.classes])
        self.order = np.lexsort((-shapely.length(self.lines), rank))
        self.position = np.empty_like(self.order)
        self.position[self.order] = np.arange(len(self.order))
        self.tree = shapely.STRtree(self.lines)

    def view(
        self,
        *,
        west: float,
        south: float,
        east: float,
        north: float,
        zoom: int,
        cap: int = ROAD_FEATURE_CAP,
    ) -> dict[str, Any]:
        """The roads crossing a view drawn at ``zoom``, as a GeoJSON FeatureCollection.

        Returns
        -------
        dict
            ``features``: one LineString (or MultiLineString) per road, major roads first,
            each with its ``highway`` class and the stroke ``color`` and ``weight`` of
            :data:`maps.layers.ROAD_STYLES`; ``truncated``: more lines crossed the view than
            the ``cap`` sent (zoom in); ``cap``.
        """
        hits = self.tree.query(shapely.box(west, south, east, north))
        wanted = classes_at_zoom(zoom)
        hits = hits[np.isin(self.classes[hits], list(wanted))]
        hits = hits[np.argsort(self.position[hits], kind="stable")]
        truncated = len(hits) > cap
        hits = hits[:cap]
        # about a pixel at this zoom (256-pixel tiles; degrees of longitude at the equator)
        tolerance = 360.0 / (256 * 2**zoom)
        shown = shapely.simplify(self.lines[hits], tolerance, preserve_topology=False)
        shown = shapely.transform(shown, lambda xy: np.round(xy, DECIMALS))
        features = []
        for geom, cls in zip(shown, self.classes[hits], strict=True):
            if shapely.is_empty(geom):
                continue
            weight, colour = ROAD_STYLES[cls]
            features.append(
                {
                    "type": "Feature",
                    "geometry": shapely.geometry.mapping(geom),
                    "properties": {"highway": cls, "color": colour, "weight": weight},
                }
            )
        return {
            "type": "FeatureCollection",
            "features": features,
            "truncated": truncated,
            "cap": cap,
        }
