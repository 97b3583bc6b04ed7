"""A site on a straight 100 km road, and doctors at known drive times from it (the scoring reach).

The road runs due east from the site: a node every kilometre, each kilometre
driven in 30 s both ways (120 km/h, faster than the settings' straight-line
estimate of 30 km/h / 1.3, so a box drawn from the estimate alone would miss
the far end of the reach). The site's catchment is the H3 cells (resolution
8) within 4 of its own, 3 km or so. The doctors, by name:

* ``near``: 2 km east, 1 minute: in the catchment;
* ``twenty``: 40 km east, 20 minutes (routed), outside every catchment;
* ``beyond``: 95 km east, 47.5 minutes: beyond the default 45-minute reach;
* ``off``: 2 km north of the road's 10th km, off the network (farther than
  ``max_snap_m``): its minutes are the straight-line estimate (about 26.5);
* ``off_far``: 20 km north of the site, off the network: estimated at 52 minutes;
* ``unplaced``: no coordinates, no drive time, never within reach.
"""

from __future__ import annotations

import math

import networkx as nx

from data.models import Catchment, CatchmentCell, ClinicSite, Provider
from geo.distance import EARTH_RADIUS_KM
from geo.h3grid import grid_disk, latlng_to_cells
from geo.road_router import RoadRouter
from service.context import AppContext

SITE = (40.0, -83.0)
ROAD_KM = 100
SECONDS_PER_KM = 30.0
_KM_LAT = math.pi * EARTH_RADIUS_KM / 180.0  # km per degree of latitude
_KM_LON = _KM_LAT * math.cos(math.radians(SITE[0]))  # ... of longitude at the site's latitude


def east(km: float, north: float = 0.0) -> tuple[float, float]:
    """The point ``km`` east and ``north`` km north of the site (lat, lon)."""
    return SITE[0] + north / _KM_LAT, SITE[1] + km / _KM_LON


#: name -> (lat, lon), or None for no coordinates
DOCTORS: dict[str, tuple[float, float] | None] = {
    "near": east(2),
    "twenty": east(40),
    "beyond": east(95),
    "off": east(10, north=2),
    "off_far": east(0, north=20),
    "unplaced": None,
}
#: Drive minutes of the routed doctors (the road's times exactly: they sit on its nodes).
ROUTED_MINUTES = {"near": 1.0, "twenty": 20.0, "beyond": 47.5}
#: Who is within the default 45 minutes.
IN_REACH = {"near", "twenty", "off"}


def road() -> nx.MultiDiGraph:
    """The straight road east of the site (see the module docstring)."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for k in range(ROAD_KM + 1):
        lat, lon = east(k)
        G.add_node(k, x=lon, y=lat)
    for k in range(ROAD_KM):
        for u, v in ((k, k + 1), (k + 1, k)):
            G.add_edge(u, v, travel_time=SECONDS_PER_KM, length=1000.0)
    return G


def _cells(lat: float, lon: float) -> dict[str, int]:
    return {f"h3_r{r}": int(latlng_to_cells(lat, lon, r)[0]) for r in (7, 8, 9)}


def build(ctx: AppContext) -> dict[str, int]:
    """Give ``ctx`` the road as its router and store the site, its catchment and the doctors.

    Returns the doctors' provider ids by name.
    """
    G = road()
    ctx._resources["graph"] = G
    ctx._resources["router"] = RoadRouter.from_graph(G)
    ids: dict[str, int] = {}
    with ctx.sessions.begin() as s:
        site = ClinicSite(
            site_code="ROAD",
            name="Clinic on the road",
            service_line="MRI",
            city="Columbus",
            lat=SITE[0],
            lon=SITE[1],
            **_cells(*SITE),
        )
        s.add(site)
        s.flush()
        cells = [int(c) for c in grid_disk(int(latlng_to_cells(*SITE, 8)[0]), 4)]
        catchment = Catchment(
            site_id=site.id, method="radius", parameter=3.0, resolution=8, cell_count=len(cells)
        )
        s.add(catchment)
        s.flush()
        s.add_all(CatchmentCell(catchment_id=catchment.id, h3=c, distance_km=0.5) for c in cells)
        for i, (name, where) in enumerate(DOCTORS.items()):
            prov = Provider(
                cluster_key=f"road{i}",
                npi=f"{1700000000 + i:010d}",
                entity_type="individual",
                display_name=name.upper(),
                last_name=name.upper(),
                taxonomy_code="207Q00000X",
                classification="Family Medicine",
                is_active=True,
                geocode_precision="street" if where else "none",
                **({"lat": where[0], "lon": where[1], **_cells(*where)} if where else {}),
            )
            s.add(prov)
            s.flush()
            ids[name] = prov.id
    return ids
