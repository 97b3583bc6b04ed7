"""GeoJSON answers (RFC 7946): the response class and a typed FeatureCollection per route.

The bodies are built by the service (GeoDataFrames, or rows for exports) and sent as they are,
without a second validation: a metro's catchments are thousands of hexagons. The models here
are their contract: :mod:`geojson_pydantic` geometries, with the ``properties`` of each kind of
feature typed; the OpenAPI document shows them, and the tests check every answer against them.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

import numpy as np
from fastapi.responses import JSONResponse
from geojson_pydantic import (
    Feature,
    FeatureCollection,
    LineString,
    MultiLineString,
    MultiPolygon,
    Point,
    Polygon,
)
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "GEOJSON_MEDIA_TYPE",
    "AssignmentCellCollection",
    "CatchmentCollection",
    "GeoJSONResponse",
    "IsochroneCollection",
    "RoadCollection",
    "RouteCollection",
    "SegmentPointCollection",
    "TerritoryCollection",
    "geojson_doc",
]

GEOJSON_MEDIA_TYPE = "application/geo+json"


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


def geojson_doc(description: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entry describing a GeoJSON route's 200 (its schema is the route's
    ``response_model``, under :data:`GEOJSON_MEDIA_TYPE`: the route's ``response_class``)."""
    return {200: {"description": description}}


# A hexagon of the examples (H3 cell 882a930dbdfffff, a closed ring of lon/lat positions).
# Examples hold no null: FastAPI drops None values from the whole OpenAPI document.
_HEXAGON = {
    "type": "Polygon",
    "coordinates": [
        [
            [-82.9712, 40.0821],
            [-82.9655, 40.0790],
            [-82.9661, 40.0733],
            [-82.9724, 40.0707],
            [-82.9781, 40.0738],
            [-82.9775, 40.0795],
            [-82.9712, 40.0821],
        ]
    ],
}


def _collection(*features: dict[str, Any]) -> ConfigDict:
    return ConfigDict(
        json_schema_extra={"examples": [{"type": "FeatureCollection", "features": list(features)}]}
    )


class CatchmentProperties(BaseModel):
    """One hexagon of a stored catchment."""

    h3: str = Field(description="H3 cell id (hex).")
    site_code: str
    method: Literal["radius", "drive_time"]
    parameter: float = Field(description="Minutes (drive_time) or kilometres (radius).")
    truncated: bool = Field(description="The drive-time search reached the road network's edge.")
    estimated: bool = Field(description="Straight-line estimate: no road network covers the site.")
    drive_minutes: float | None = Field(None, description="Drive from the site; null for radius.")
    distance_km: float | None = None
    white_space: int = Field(description="Prospects of the site located in the cell.")


class CatchmentFeature(Feature[Polygon, CatchmentProperties]):
    """A catchment hexagon."""


class CatchmentCollection(FeatureCollection[CatchmentFeature]):
    """Catchment hexagons (Polygon features)."""

    model_config = _collection(
        {
            "type": "Feature",
            "id": "0",
            "geometry": _HEXAGON,
            "properties": {
                "h3": "882a930dbdfffff",
                "site_code": "COL-NE",
                "method": "drive_time",
                "parameter": 10.0,
                "truncated": False,
                "estimated": False,
                "drive_minutes": 6.4,
                "distance_km": 3.9,
                "white_space": 4,
            },
        }
    )


class IsochroneProperties(BaseModel):
    """One site's area within a drive time."""

    site_code: str
    minutes: float
    cell_count: int = Field(description="H3 cells reached within the time.")
    truncated: bool = Field(description="The search reached the road network's edge.")
    estimated: bool = Field(description="Straight-line estimate: no road network covers the site.")
    snap_m: float | None = Field(None, description="Metres from the site to its road node.")
    off_network: bool = Field(description="The site is farther than max_snap_m from a road.")
    label: str = Field(description="E.g. 'COL-NE · 20 min drive (truncated at network edge)'.")


class IsochroneFeature(Feature[Polygon | MultiPolygon, IsochroneProperties]):
    """An isochrone polygon."""


class IsochroneCollection(FeatureCollection[IsochroneFeature]):
    """One polygon per site and time limit."""

    model_config = _collection(
        {
            "type": "Feature",
            "geometry": _HEXAGON,
            "properties": {
                "site_code": "COL-NE",
                "minutes": 10.0,
                "cell_count": 37,
                "truncated": False,
                "estimated": False,
                "snap_m": 12.5,
                "off_network": False,
                "label": "COL-NE · 10 min drive",
            },
        }
    )


class AssignmentCellProperties(BaseModel):
    """The site a hexagon reaches fastest by road."""

    h3: str = Field(description="H3 cell id (hex).")
    site_code: str
    drive_minutes: float | None
    estimated: bool = Field(
        description="The centre is farther than max_snap_m from a road, "
        "or there is no network: straight-line estimate."
    )
    snap_m: float | None = Field(None, description="Metres from the centre to its road node.")


class AssignmentCellFeature(Feature[Polygon, AssignmentCellProperties]):
    """A hexagon and its nearest site."""


class AssignmentCellCollection(FeatureCollection[AssignmentCellFeature]):
    """Every hexagon holding a provider or in a catchment, with its nearest site."""

    model_config = _collection(
        {
            "type": "Feature",
            "geometry": _HEXAGON,
            "properties": {
                "h3": "882a930dbdfffff",
                "site_code": "COL-NE",
                "drive_minutes": 6.4,
                "estimated": False,
                "snap_m": 85.2,
            },
        }
    )


class TerritoryProperties(BaseModel):
    """One liaison's territory of a plan version."""

    plan: str
    version: int
    measure: str = Field(description="What the plan balances: providers, potential or workload.")
    number: int = Field(description="Territory number, from 1.")
    liaison: str
    load: float = Field(description="The measure summed over the territory.")
    share: float = Field(description="The territory's share of the total load.")
    cells: int
    compactness: float | None = None


class TerritoryFeature(Feature[Polygon | MultiPolygon, TerritoryProperties]):
    """A territory outline."""


class TerritoryCollection(FeatureCollection[TerritoryFeature]):
    """One outline per territory of a plan version."""

    model_config = _collection(
        {
            "type": "Feature",
            "geometry": _HEXAGON,
            "properties": {
                "plan": "columbus-2027",
                "version": 3,
                "measure": "potential",
                "number": 1,
                "liaison": "Ana",
                "load": 41.5,
                "share": 0.26,
                "cells": 212,
                "compactness": 0.41,
            },
        }
    )


class SegmentPointProperties(BaseModel):
    """One prospect of an exported segment: the CSV export's columns.

    Text that a spreadsheet would run as a formula is prefixed with a quote.
    """

    site_code: str
    provider_id: int
    npi: str | None
    display_name: str
    taxonomy_code: str | None
    classification: str | None
    address_1: str | None
    city: str | None
    postal_code: str | None
    phone: str | None
    score: float
    segment: str
    drive_minutes: float | None
    distance_km: float | None
    proximity_estimated: bool
    profile: str
    status: str
    assigned_to: str | None
    score_breakdown: str = Field(description="Each score component's points and reason.")


class SegmentPointFeature(Feature[Point, SegmentPointProperties]):
    """A prospect at its provider's location (null geometry when not located)."""


class SegmentPointCollection(FeatureCollection[SegmentPointFeature]):
    """Every prospect of a segment, best score first."""

    model_config = _collection(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-82.9988, 39.9551]},
            "properties": {
                "site_code": "COL-NE",
                "provider_id": 1201,
                "npi": "1234567893",
                "display_name": "JANE Q DOE MD",
                "taxonomy_code": "207Q00000X",
                "classification": "Family Medicine",
                "address_1": "500 S HIGH ST",
                "city": "COLUMBUS",
                "postal_code": "43215",
                "phone": "+16145550100",
                "score": 72.5,
                "segment": "high-potential GP nearby",
                "drive_minutes": 8.2,
                "distance_km": 5.1,
                "proximity_estimated": False,
                "profile": "imaging_mri@1.1.0",
                "status": "contacted",
                "assigned_to": "Ana",
                "score_breakdown": "specialty 45.0 (Family Medicine refers to MRI often); "
                "proximity 16.5 (8.2 min drive)",
            },
        }
    )


class RouteProperties(BaseModel):
    """A point of a day's route (start, stop, end) or the line through them (route)."""

    role: Literal["start", "stop", "end", "route"]
    label: str | None = Field(None, description="The start's or end's name (start, end).")
    seq: int | None = Field(None, description="Visiting order, from 1 (stop).")
    provider_id: int | None = Field(None, description="(stop)")
    display_name: str | None = Field(None, description="(stop)")
    arrival: str | None = Field(None, description="Local arrival time, ISO 8601 (stop).")
    departure: str | None = Field(None, description="Local departure time, ISO 8601 (stop).")
    drive_min: float | None = Field(None, description="Total drive of the day (route).")


class RouteFeature(Feature[Point | LineString, RouteProperties]):
    """A point of the route, or the line joining them in visiting order (straight segments)."""


class RouteCollection(FeatureCollection[RouteFeature]):
    """Start, stops and end as points, and the route as a LineString joining them in order."""

    model_config = _collection(
        {
            "type": "Feature",
            "id": "0",
            "geometry": {"type": "Point", "coordinates": [-82.97, 40.08]},
            "properties": {"role": "start", "label": "COL-NE"},
        }
    )


class RoadProperties(BaseModel):
    """A road of the offline base map: its style class and stroke."""

    highway: str = Field(description="Style class: motorway, trunk, primary, ... or other.")
    color: str = Field(description="Stroke colour, #rrggbb.")
    weight: float = Field(description="Stroke width, pixels.")


class RoadFeature(Feature[LineString | MultiLineString, RoadProperties]):
    """One road line of the view, simplified to about a pixel at the zoom asked."""


class RoadCollection(FeatureCollection[RoadFeature]):
    """The roads crossing the view, major roads first, at most ``cap`` of them."""

    truncated: bool = Field(description="More roads crossed the view than sent: zoom in.")
    cap: int = Field(description="Most roads one answer holds (fixed by the server).")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "geometry": {
                                "type": "LineString",
                                "coordinates": [[-82.99, 39.96], [-82.98, 39.961]],
                            },
                            "properties": {"highway": "primary", "color": "#7d7d7d", "weight": 2.6},
                        }
                    ],
                    "truncated": False,
                    "cap": 4000,
                }
            ]
        }
    )
