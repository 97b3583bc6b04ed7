"""The demo clinic's four sites, at real street addresses well inside the extract.

Each site is anchored in a real part of central Columbus (downtown, the
Clintonville side to the north, the east side, the west side), then moved to a
random named street point within a few hundred metres of the anchor and given
an address the street index geocodes back to.  Anchors are chosen at least
6 km from the extract's edge so 10-minute drive catchments mostly fit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from core.errors import GeoError
from demo.addresses import COLUMBUS_BBOX, abbreviate_street, place_buildings

__all__ = ["SITE_SPECS", "SiteSpec", "edge_distance_km", "place_sites"]


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """Where and what a clinic site is, before it gets a street address."""

    site_code: str
    name: str
    service_line: str
    anchor_lat: float
    anchor_lon: float


SITE_SPECS: tuple[SiteSpec, ...] = (
    SiteSpec("DT-MRI", "Downtown MRI & Imaging Center", "imaging", 39.9625, -82.9960),
    SiteSpec(
        "N-ORTHO", "Clintonville Orthopaedics & Sports Medicine", "orthopaedics", 40.0300, -83.0140
    ),
    SiteSpec("E-IMG", "Eastside Imaging", "imaging", 39.9720, -82.9050),
    SiteSpec("W-IMG", "Westgate Imaging", "imaging", 39.9560, -83.0750),
)


def edge_distance_km(
    lat: float, lon: float, bbox: tuple[float, float, float, float] = COLUMBUS_BBOX
) -> float:
    """Distance in km from a point to the nearest side of ``bbox`` (west, south, east, north)."""
    west, south, east, north = bbox
    kx = 111.32 * np.cos(np.radians(lat))
    return float(
        min((lon - west) * kx, (east - lon) * kx, (lat - south) * 110.54, (north - lat) * 110.54)
    )


def place_sites(
    segments: pd.DataFrame,
    index: Any,
    rng: np.random.Generator,
    *,
    specs: tuple[SiteSpec, ...] = SITE_SPECS,
    radius_m: float = 500.0,
    min_edge_km: float = 6.0,
) -> pd.DataFrame:
    """Give every site a real street address near its anchor.

    Parameters
    ----------
    segments
        From :func:`demo.addresses.street_segments`.
    index
        A :class:`geo.geocode.StreetIndex`.
    rng
        Seeded generator.
    specs
        The sites.
    radius_m
        How far from its anchor a site may land.
    min_edge_km
        Every site must be at least this far from the extract's bounding box.

    Returns
    -------
    pandas.DataFrame
        Columns ``site_code``, ``name``, ``service_line``, ``address``, ``city``,
        ``state``, ``postal_code``, ``lat``, ``lon``.

    Raises
    ------
    GeoError
        If an anchor is too close to the edge or has no numbered street near it.
    """
    rows = []
    for spec in specs:
        if edge_distance_km(spec.anchor_lat, spec.anchor_lon) < min_edge_km:
            raise GeoError(
                f"site {spec.site_code} anchor is within {min_edge_km} km of the extract edge"
            )
        dlat = radius_m / 110_540.0
        dlon = radius_m / (111_320.0 * np.cos(np.radians(spec.anchor_lat)))
        box = shapely.box(
            spec.anchor_lon - dlon,
            spec.anchor_lat - dlat,
            spec.anchor_lon + dlon,
            spec.anchor_lat + dlat,
        )
        b = place_buildings(segments, index, rng, 1, zip_only_share=0.0, within=box).iloc[0]
        street = abbreviate_street(b["street"], style="abbr").title()
        rows.append(
            {
                **{k: v for k, v in asdict(spec).items() if not k.startswith("anchor")},
                "address": f"{b['number']} {street}",
                "city": "Columbus",
                "state": "OH",
                "postal_code": b["zip5"],
                "lat": round(float(b["lat"]), 6),
                "lon": round(float(b["lon"]), 6),
            }
        )
    return pd.DataFrame(rows)
