"""Drive time, liaison territories and expansion over HTTP (real app, real database)."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN, MARKETING, SITES, VIEWER, SeededDB


def test_isochrones_geojson_flags(client: TestClient) -> None:
    r = client.get("/v1/isochrones", params=[("minutes", 2), ("minutes", 5)], headers=VIEWER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    feats = r.json()["features"]
    assert {(f["properties"]["site_code"], f["properties"]["minutes"]) for f in feats} == {
        (s, m) for s in SITES for m in (2.0, 5.0)
    }
    for f in feats:
        p = f["properties"]
        assert p["estimated"] is False and p["off_network"] is False and p["snap_m"] < 500
        assert p["cell_count"] > 0 and f["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert ("truncated at network edge" in p["label"]) == p["truncated"]
    # the Aguascalientes extract is ~2.5 km across: 5 minutes reaches its edge
    assert any(f["properties"]["truncated"] for f in feats if f["properties"]["minutes"] == 5.0)
    one = client.get("/v1/sites/AGS-N/isochrones", params={"minutes": 2}, headers=VIEWER).json()
    assert [f["properties"]["site_code"] for f in one["features"]] == ["AGS-N"]
    assert client.get("/v1/sites/NOPE/isochrones", headers=VIEWER).status_code == 404
    bad = client.get("/v1/isochrones", params={"minutes": -1}, headers=VIEWER)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


def test_assignment_and_overlap(client: TestClient, api_db: SeededDB) -> None:
    cells = client.get("/v1/assignment/cells", headers=VIEWER).json()["features"]
    assert cells and {f["properties"]["site_code"] for f in cells} <= set(SITES)
    # cells whose centre is more than 500 m from a road are estimated, the rest routed
    assert all(f["properties"]["estimated"] == (f["properties"]["snap_m"] > 500) for f in cells)
    assert sum(not f["properties"]["estimated"] for f in cells) >= 5
    provs = client.get("/v1/assignment/providers", params={"limit": 50}, headers=VIEWER).json()
    assert provs["total"] == 15 and len(provs["items"]) == 15  # the inactive one left out
    assert all(i["site_code"] in SITES and i["drive_minutes"] >= 0 for i in provs["items"])
    pairs = client.get("/v1/overlap", params={"minutes": 5}, headers=VIEWER).json()
    assert pairs and pairs[0]["site_a"] == "AGS-N" and pairs[0]["site_b"] == "AGS-S"
    assert 0 < pairs[0]["share_a"] <= 1 and pairs[0]["shared_cells"] > 0
    assert client.get("/v1/overlap").status_code == 401


def test_overlap_of_isochrones_too_small_to_hold_a_provider(api_db: SeededDB) -> None:
    """A cell set with no provider in it is an empty measure, not a text-plus-number error."""
    from service.placement.drivetime import cell_measures, overlap

    with api_db.ctx.sessions() as session:
        empty = cell_measures(session, res=api_db.ctx.settings.catchment_resolution, cells=[])
    assert empty.empty and empty["workload"].dtype == "float64"
    assert all(p["shared_providers"] == 0 for p in overlap(api_db.ctx, minutes=1e-9))


def test_territory_plans_versions_and_roles(client: TestClient, api_db: SeededDB) -> None:
    body = {
        "name": "ags",
        "liaisons": ["Ana", "Ben"],
        "measure": "providers",
        "region": "catchments",
        "locked_accounts": {"Ben": [api_db.provider_ids[0]]},
    }
    assert client.post("/v1/territory-plans", json=body, headers=VIEWER).status_code == 403
    r = client.post("/v1/territory-plans", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["version"] == 1 and [t["liaison"] for t in plan["territories"]] == ["Ana", "Ben"]
    assert all(t["contiguous"] for t in plan["territories"])
    assert sum(t["load"] for t in plan["territories"]) == 15  # every active provider once
    assert plan["report"]["locked_cells"] == 1
    again = client.post("/v1/territory-plans", json=body, headers=ADMIN).json()
    assert again["version"] == 2
    assert (
        client.get("/v1/territory-plans/ags", params={"version": 1}, headers=VIEWER).json()[
            "version"
        ]
        == 1
    )
    listed = client.get("/v1/territory-plans", headers=VIEWER).json()
    assert [(p["name"], p["version"]) for p in listed] == [("ags", 2), ("ags", 1)]
    geo = client.get("/v1/territory-plans/ags/geojson", headers=VIEWER).json()
    assert [f["properties"]["liaison"] for f in geo["features"]] == ["Ana", "Ben"]
    bad = client.post(
        "/v1/territory-plans",
        headers=ADMIN,
        json={"name": "x", "liaisons": ["A"], "locked_cells": {"A": ["nothex"]}},
    )
    assert bad.status_code == 422
    assert any(e.get("field") == "locked_cells" for e in bad.json()["errors"])
    assert client.get("/v1/territory-plans/none", headers=VIEWER).status_code == 404


def test_expansion_scenarios_compare_and_export(client: TestClient) -> None:
    body = {
        "name": "s1",
        "minutes": 3,
        "pick": 1,
        "measure": "providers",
        "candidates": [
            {"label": "west", "lat": 21.8700, "lon": -102.2800},
            {"label": "far", "lat": 21.95, "lon": -102.20},
        ],
    }
    assert client.post("/v1/expansion/scenarios", json=body, headers=VIEWER).status_code == 403
    r = client.post("/v1/expansion/scenarios", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    s1 = r.json()
    assert s1["method"] == "ilp" and s1["optimal"] is True and len(s1["summary"]["chosen"]) == 1
    by = {c["label"]: c for c in s1["candidates"]}
    assert by["far"]["estimated"] is True and by["west"]["estimated"] is False
    assert client.post("/v1/expansion/scenarios", json=body, headers=ADMIN).status_code == 409
    body2 = dict(body, name="s2", pick=2, method="greedy")
    s2 = client.post("/v1/expansion/scenarios", json=body2, headers=ADMIN).json()
    assert "1 - 1/e" in s2["guarantee"] and s2["optimal"] is False
    cmp = client.get(
        "/v1/expansion/compare", params=[("names", "s1"), ("names", "s2")], headers=VIEWER
    ).json()
    assert [s["name"] for s in cmp["scenarios"]] == ["s1", "s2"]
    assert len(cmp["candidates"]) == 4
    out = client.get(
        "/v1/expansion/compare.csv", params=[("names", "s1"), ("names", "s2")], headers=MARKETING
    )
    rows = list(csv.DictReader(io.StringIO(out.text)))
    assert out.status_code == 200 and len(rows) == 4 and rows[0]["scenario"] == "s1"
    assert (
        client.get("/v1/expansion/compare", params={"names": "nope"}, headers=VIEWER).status_code
        == 404
    )
    bad = client.post(
        "/v1/expansion/scenarios",
        headers=ADMIN,
        json={"name": "s3", "candidates": [{"label": "x", "postal_code": "00000"}]},
    )
    assert bad.status_code == 422


def test_expansion_never_picks_a_candidate_adding_nothing_or_off_the_roads(
    client: TestClient,
) -> None:
    # "twin" reaches exactly what "west" reaches; "far" lies off the road network
    body = {
        "name": "no-idle-picks",
        "minutes": 3,
        "pick": 3,
        "candidates": [
            {"label": "west", "lat": 21.8700, "lon": -102.2800},
            {"label": "twin", "lat": 21.8700, "lon": -102.2800},
            {"label": "far", "lat": 21.95, "lon": -102.20},
        ],
    }
    for method in ("ilp", "greedy"):
        r = client.post(
            "/v1/expansion/scenarios", headers=ADMIN, json=dict(body, method=method, replace=True)
        )
        assert r.status_code == 201, r.text
        scn = r.json()
        chosen = scn["summary"]["chosen"]
        assert len(chosen) == 1 and chosen[0] in ("west", "twin"), (method, chosen)
        idle = "twin" if chosen == ["west"] else "west"
        assert scn["summary"]["unpicked"] == {idle: "adds nothing", "far": "off the road network"}
        flags = {c["label"]: c["flag"] for c in scn["candidates"]}
        assert flags == {chosen[0]: None, idle: "adds nothing", "far": "off the road network"}
        assert all(m > 0 for m in scn["summary"]["marginal"]) and scn["added"] > 0
    cmp = client.get("/v1/expansion/compare", params={"names": "no-idle-picks"}, headers=VIEWER)
    assert cmp.json()["scenarios"][0]["unpicked"]["far"] == "off the road network"


def test_planning_map_page(client: TestClient) -> None:

    client.post(
        "/v1/territory-plans", headers=ADMIN, json={"name": "map-plan", "liaisons": ["Zoe", "Yan"]}
    )
    client.post(
        "/v1/expansion/scenarios",
        headers=ADMIN,
        json={
            "name": "map-scn",
            "minutes": 3,
            "candidates": [
                {"label": "west", "lat": 21.8700, "lon": -102.2800},
                {"label": "far", "lat": 21.95, "lon": -102.20},
            ],
        },
    )
    r = client.get("/map/planning?minutes=2&minutes=6", headers=VIEWER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert (
        "Isochrones 2 min" in page and "Isochrones 6 min (some truncated at network edge)" in page
    )
    assert "Nearest site by drive time" in page
    assert "Territories: map-plan v1 (by liaison)" in page and "Zoe" in page and "Yan" in page
    assert "Candidate sites: map-scn" in page and "estimated (straight line)" in page
    assert "cdn." not in page and "unpkg" not in page
    # the layer control refers to every overlay by variable: it must come after them all
    assert page.rindex("L.geoJson(") < page.index("L.control.layers")
    assert client.get("/map/planning").status_code == 401
    assert client.get("/map/planning?plan=none", headers=VIEWER).status_code == 404
