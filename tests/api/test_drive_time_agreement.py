"""One doctor, one drive time: every view of a provider's drive minutes agrees, on both backends.

Demo-like providers are spread over the bundled Aguascalientes extract (and a
few off it, farther than ``max_snap_m`` from any road), catchments and prospects
are built by the real stages, then the drive minutes from a site to a provider
must agree to 0.01 min across the prospect list, the assignment endpoint, the
brief, a segment export, the scorer's own proximity
(:func:`service.prospecting.universe.add_proximity`) and the learned score's
history and backtest (:func:`service.prospecting.learning.nearest_place`: the
minutes to the nearest site of the line), and a routed provider's road must lie
inside the isochrone band its minutes name.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.main import create_app
from data.models import ClinicSite, Provider
from service.placement.catchments import build_catchments
from service.prospecting.learning import nearest_place
from service.prospecting.scoring import score_sites
from service.prospecting.universe import add_proximity
from tests.api.conftest import ADMIN, MARKETING, SeededDB, _located

pytestmark = pytest.mark.slow  # builds catchments and scores on a real road network

BANDS = (10.0, 20.0, 30.0)
TOLERANCE = 0.01 + 1e-9  # minutes: two values rounded to 2 decimals from the same time


@pytest.fixture(scope="module")
def demo(api_db: SeededDB) -> Iterator[TestClient]:
    """The seeded database plus 60 spread providers (5 off the road network), scored for real."""
    ctx = api_db.ctx
    rng = np.random.default_rng(15)
    lat = np.concatenate([rng.uniform(21.858, 21.880, 55), rng.uniform(21.895, 21.905, 5)])
    lon = np.concatenate([rng.uniform(-102.285, -102.255, 55), rng.uniform(-102.28, -102.26, 5)])
    with ctx.sessions.begin() as s:
        for i in range(lat.size):
            s.add(
                Provider(
                    cluster_key=f"demo{i:03d}",
                    npi=f"{1500000000 + i:010d}",
                    entity_type="individual",
                    display_name=f"DEMO {i}",
                    last_name="DEMO",
                    taxonomy_code="207Q00000X",
                    classification="Family Medicine",
                    address_1=f"{i} Calle",
                    city="Aguascalientes",
                    postal_code="20000",
                    is_active=True,
                    geocode_precision="street",
                    **_located(float(lat[i]), float(lon[i])),
                )
            )
    build_catchments(ctx)
    score_sites(ctx)
    with TestClient(create_app(context=ctx)) as client:
        yield client


def _prospects(client: TestClient) -> dict[tuple[str, int], dict]:
    out: dict[tuple[str, int], dict] = {}
    cursor = None
    while True:
        params = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/prospects", params=params, headers=ADMIN).json()
        for p in page["items"]:
            out[(p["site_code"], p["provider_id"])] = p
        cursor = page["next_cursor"]
        if not cursor:
            return out


def test_drive_minutes_agree_everywhere(api_db: SeededDB, demo: TestClient) -> None:
    ctx = api_db.ctx
    listed = _prospects(demo)
    assert len(listed) > 40
    estimated = {k for k, p in listed.items() if p["proximity_estimated"]}
    assert 0 < len(estimated) < len(listed)  # both rules are exercised
    assert all(p["drive_minutes"] is not None for p in listed.values())

    # the assignment endpoint: the nearest site's minutes, for the same pair
    page = demo.get("/v1/assignment/providers", params={"limit": 5000}, headers=ADMIN).json()
    assigned = {(a["site_code"], a["provider_id"]): a for a in page["items"]}
    both = listed.keys() & assigned.keys()
    assert len(both) > 30 and both & estimated
    for key in both:
        assert abs(assigned[key]["drive_minutes"] - listed[key]["drive_minutes"]) <= TOLERANCE, key
        assert assigned[key]["estimated"] == listed[key]["proximity_estimated"], key

    # the brief of each provider, per site
    for site, pid in listed:
        shown = {
            p["site_code"]: p
            for p in demo.get(f"/v1/providers/{pid}/brief", headers=ADMIN).json()["prospects"]
        }
        assert abs(shown[site]["drive_minutes"] - listed[(site, pid)]["drive_minutes"]) <= TOLERANCE

    # a segment export of each site
    for site in ("AGS-N", "AGS-S"):
        name = f"agreement {site}"
        r = demo.put(
            "/v1/segments", json={"name": name, "filters": {"site": site}}, headers=MARKETING
        )
        assert r.status_code == 200, r.text
        export = demo.get(f"/v1/segments/{name}/export.geojson", headers=MARKETING).json()
        rows = [f["properties"] for f in export["features"]]
        assert {(site, r["provider_id"]) for r in rows} == {k for k in listed if k[0] == site}
        for r in rows:
            assert (
                abs(r["drive_minutes"] - listed[(site, r["provider_id"])]["drive_minutes"])
                <= TOLERANCE
            )

    # the scorer's proximity and the learned score's (history, backtest): minutes unrounded
    with ctx.sessions() as s:
        sites = {x.site_code: x for x in s.scalars(select(ClinicSite))}
        where = {p.id: (p.lat, p.lon) for p in s.scalars(select(Provider))}
    pids = sorted({pid for _, pid in listed})
    lat = pd.Series([where[pid][0] for pid in pids])
    lon = pd.Series([where[pid][1] for pid in pids])
    for code, site in sites.items():
        minutes, flagged, _ = nearest_place(ctx, [site], lat, lon)
        scorer = pd.DataFrame({"lat": lat, "lon": lon})
        add_proximity(ctx, scorer, site)
        np.testing.assert_allclose(minutes, scorer["drive_minutes"], atol=1e-9)
        assert flagged.tolist() == scorer["proximity_estimated"].tolist()
        for i, pid in enumerate(pids):
            if (code, pid) in listed:
                p = listed[(code, pid)]
                assert abs(minutes[i] - p["drive_minutes"]) <= 0.005 + 1e-9, (code, pid)
                assert bool(flagged[i]) == p["proximity_estimated"], (code, pid)
    # the line's history: the nearest of its sites (both seeded sites offer MRI)
    assert {x.service_line for x in sites.values()} == {"MRI"}
    line, _, _ = nearest_place(ctx, list(sites.values()), lat, lon)
    for i, pid in enumerate(pids):
        nearest = min(p["drive_minutes"] for (_, q), p in listed.items() if q == pid)
        assert abs(line[i] - nearest) <= 0.005 + 1e-9, pid


def test_routed_providers_fall_in_their_isochrone_band(api_db: SeededDB, demo: TestClient) -> None:
    """A provider routed in m minutes has its road node inside the first band >= m."""
    ctx = api_db.ctx
    listed = _prospects(demo)
    router = ctx.router
    with ctx.sessions() as s:
        where = {p.id: (p.lat, p.lon) for p in s.scalars(select(Provider))}
    checked = 0
    for site in ("AGS-N", "AGS-S"):
        iso = demo.get(f"/v1/sites/{site}/isochrones", headers=ADMIN).json()["features"]
        bands = {f["properties"]["minutes"]: shapely.geometry.shape(f["geometry"]) for f in iso}
        assert set(bands) == set(BANDS)
        for (code, pid), p in listed.items():
            m = p["drive_minutes"]
            if code != site or p["proximity_estimated"] or m > BANDS[-1]:
                continue
            node = router.snap(*where[pid])["position"].iloc[0]
            point = shapely.Point(router.lon[node], router.lat[node])
            band = next(b for b in BANDS if m <= b)
            assert bands[band].contains(point), (site, pid, m)
            checked += 1
    assert checked > 30
