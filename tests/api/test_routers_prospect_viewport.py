"""GET /v1/prospects/viewport: the app's map and list, one row per provider, the list's filters."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.prospecting.listing import MAP_FEATURE_CAP, map_points
from service.prospecting.schemas import ProspectMapView
from service.schemas import ProspectFilter
from tests.api.conftest import VIEWER, SeededDB, add_second_site_and_territory, signed_in


@pytest.fixture(scope="module")
def seeded(api_db: SeededDB) -> SeededDB:
    """Provider 0 is also a weaker prospect of AGS-S; provider 1 lies in territory 'Ana'."""
    with api_db.ctx.sessions.begin() as s:
        add_second_site_and_territory(s, api_db, plan="t", segment="white space")
    return api_db


def _rows(client: TestClient, **params) -> list[dict]:
    r = client.get("/v1/prospects/viewport", params=params, headers=VIEWER)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cap"] == MAP_FEATURE_CAP and body["truncated"] is False
    return [dict(zip(body["fields"], row, strict=True)) for row in body["rows"]]


def test_one_row_per_provider_at_its_best_site_or_the_chosen_one(client, seeded):
    rows = _rows(client)
    ids = [r["provider_id"] for r in rows]
    assert len(ids) == len(set(ids)) == 15  # 15 active providers, provider 0 once
    first = next(r for r in rows if r["provider_id"] == seeded.provider_ids[0])
    assert (first["site_code"], first["score"]) == ("AGS-N", 90.0)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    south = _rows(client, site="AGS-S")
    assert {r["site_code"] for r in south} == {"AGS-S"}
    assert seeded.provider_ids[0] in {r["provider_id"] for r in south}


def test_map_and_list_agree_on_every_filter(client, seeded):
    cases = [
        {"min_score": 60},
        {"max_drive_minutes": 8, "min_drive_minutes": 4},
        {"q": "smith"},
        {"history": "lapsed"},
        {"history": "never referred", "min_score": 30},
        {"service_line": "MRI", "site": "AGS-N"},
        {"territory_id": seeded.territory_id},
    ]
    for params in cases:
        listed = client.get("/v1/prospects", params={**params, "limit": 500}, headers=VIEWER)
        assert listed.status_code == 200, (params, listed.text)
        want = {i["provider_id"] for i in listed.json()["items"]}
        got = {r["provider_id"] for r in _rows(client, **params)}
        assert got == want, params
    assert {r["provider_id"] for r in _rows(client, history="lapsed")} == {seeded.provider_ids[0]}
    assert {r["provider_id"] for r in _rows(client, territory_id=seeded.territory_id)} == {
        seeded.provider_ids[1]
    }
    assert all("SMITH" in r["display_name"] for r in _rows(client, q="smith"))
    assert _rows(client, q="%") == [] and _rows(client, service_line="cardiology") == []
    assert all(r["score"] >= 60 for r in _rows(client, min_score=60))


def test_the_box_keeps_only_providers_inside(client, seeded):
    rows = _rows(client)
    lat, lon = rows[0]["lat"], rows[0]["lon"]
    near = _rows(client, west=lon - 1e-4, south=lat - 1e-4, east=lon + 1e-4, north=lat + 1e-4)
    assert {(r["lat"], r["lon"]) for r in near} == {(lat, lon)}
    assert _rows(client, west=0, south=0, east=1, north=1) == []


def test_a_bad_box_or_filter_is_a_422_naming_it(client, seeded):
    for params in ({"west": 0}, {"west": 2, "south": 0, "east": 1, "north": 1}, {"history": "x"}):
        r = client.get("/v1/prospects/viewport", params=params, headers=VIEWER)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/prospects/viewport?site=NOPE", headers=VIEWER).status_code == 404


def test_the_cap_bounds_every_answer(seeded):
    with seeded.ctx.sessions() as session:
        page = map_points(session, ProspectFilter(), cap=3)
    assert len(page["rows"]) == 3 and page["truncated"] is True


def test_the_territory_map_honours_min_score(client, seeded):
    """``/map?min_score=`` was silently ignored: every prospect was drawn."""
    browser = signed_in(client.app)
    low = "DOCTOR K JONES MD"  # score 20
    assert low in browser.get("/map").text
    html = browser.get("/map?min_score=60").text
    assert low not in html and "DOCTOR A JONES MD" in html


def test_the_app_page_is_a_shell_of_local_assets(client, seeded):
    browser = signed_in(client.app)
    r = browser.get("/app")
    assert r.status_code == 200 and "/static/app/app.js" in r.text
    assert "http://" not in r.text and "https://" not in r.text
    assert "DOCTOR" not in r.text  # no data baked into the page
    assert client.get("/app", headers={"Accept": "text/html"}, follow_redirects=False).is_redirect


def test_the_answer_is_the_documented_model(client, seeded):
    body = client.get("/v1/prospects/viewport", headers=VIEWER).json()
    assert ProspectMapView.model_validate(body).model_dump() == body


def test_a_zoomed_in_view_read_through_cells_matches_the_walk(seeded, monkeypatch):
    """The two ways of reading a view (the providers' H3 cells for a few, the walk best
    score first for many) answer the same rows, in the same order, capped alike."""
    from service.prospecting import listing

    with seeded.ctx.sessions() as session:
        everyone = map_points(session, ProspectFilter())
        lats = [r[2] for r in everyone["rows"]]
        lons = [r[3] for r in everyone["rows"]]
        box = (min(lons) - 0.01, min(lats) - 0.01, max(lons) + 0.01, max(lats) + 0.01)
        assert listing._sparse_view_cells(session, box) is not None  # read through the cells
        for filters, cap in (
            (ProspectFilter(), MAP_FEATURE_CAP),
            (ProspectFilter(min_score=30), 3),
        ):
            by_cells = map_points(session, filters, bbox=box, cap=cap)
            monkeypatch.setattr(listing, "SPARSE_VIEW_PROVIDERS", -1)  # never few: the walk
            assert listing._sparse_view_cells(session, box) is None
            walked = map_points(session, filters, bbox=box, cap=cap)
            monkeypatch.undo()
            assert by_cells == walked and by_cells["rows"]
        assert map_points(session, ProspectFilter(), bbox=box)["rows"] == everyone["rows"]
