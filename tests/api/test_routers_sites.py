"""Sites: list (viewer), create and change (admin), conflicts and unknown codes."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN, SITES, VIEWER

NEW_SITE = {
    "site_code": "AGS-E",
    "name": "East Clinic",
    "service_line": "MRI",
    "lat": 21.8700,
    "lon": -102.2600,
}


def test_list_sites(client: TestClient) -> None:
    r = client.get("/v1/sites", headers=VIEWER)
    assert r.status_code == 200
    codes = [s["site_code"] for s in r.json()]
    assert codes == sorted(codes)
    assert set(SITES) <= set(codes)
    north = next(s for s in r.json() if s["site_code"] == "AGS-N")
    assert (north["lat"], north["lon"]) == SITES["AGS-N"]


def test_create_then_duplicate_is_409(client: TestClient) -> None:
    r = client.post("/v1/sites", json=NEW_SITE, headers=ADMIN)
    assert r.status_code == 201, r.text
    assert r.json()["site_code"] == "AGS-E" and r.json()["id"] > 0
    assert "AGS-E" in {s["site_code"] for s in client.get("/v1/sites", headers=VIEWER).json()}
    again = client.post("/v1/sites", json=NEW_SITE | {"name": "Other"}, headers=ADMIN)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["title"] == "Conflict"


def test_patch_changes_only_given_fields(client: TestClient) -> None:
    r = client.patch("/v1/sites/AGS-S", json={"name": "South Clinic"}, headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "South Clinic"
    assert body["service_line"] == "MRI"
    assert (body["lat"], body["lon"]) == SITES["AGS-S"]


def test_patch_unknown_site_is_404(client: TestClient) -> None:
    r = client.patch("/v1/sites/NOPE", json={"name": "x"}, headers=ADMIN)
    assert r.status_code == 404
    assert r.json()["instance"] == "/v1/sites/NOPE"


def test_invalid_site_bodies_are_422(client: TestClient) -> None:
    r = client.patch("/v1/sites/AGS-S", json={"lat": 123}, headers=ADMIN)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.lat"]
    r = client.post(
        "/v1/sites", content=b"{not json", headers=ADMIN | {"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"


def test_patch_null_for_a_required_field_is_422(client: TestClient) -> None:
    # found by schemathesis: a null name or service line used to be a 500 (NOT NULL)
    r = client.patch("/v1/sites/AGS-N", headers=ADMIN, json={"name": None, "service_line": None})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"body.name", "body.service_line"}
