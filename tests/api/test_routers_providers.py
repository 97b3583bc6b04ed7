"""Provider search and detail."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN, EVIL_NAME, VIEWER, SeededDB


def test_search_walks_all_active_providers_by_name(client: TestClient, api_db: SeededDB) -> None:
    seen, cursor = [], None
    while True:
        r = client.get(
            "/v1/providers?limit=4" + (f"&cursor={cursor}" if cursor else ""), headers=VIEWER
        )
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["total"] == 15
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ids = [p["id"] for p in seen]
    assert len(ids) == len(set(ids)) == 15
    assert api_db.inactive_provider_id not in ids
    names = [p["display_name"] for p in seen]
    assert names == sorted(names)


def test_search_filters(client: TestClient, api_db: SeededDB) -> None:
    def total(query: str) -> int:
        r = client.get(f"/v1/providers?{query}", headers=VIEWER)
        assert r.status_code == 200, r.text
        return r.json()["total"]

    assert total("q=smith") == 6  # odd i, minus the formula name and the inactive one
    assert total("q=1000000002") == 1
    assert total("specialty=207R00000X") == 5
    assert total("postal_code=20000") == 15
    assert total("postal_code=20000&active=false") == 1
    assert total("entity_type=organization") == 0
    assert total("q=hyperlink") == 1


def test_invalid_search_parameters(client: TestClient) -> None:
    r = client.get("/v1/providers?limit=0&postal_code=abc&entity_type=robot", headers=VIEWER)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {
        "query.limit",
        "query.postal_code",
        "query.entity_type",
    }


def test_detail_with_tier_and_source_records(client: TestClient, api_db: SeededDB) -> None:
    pid = api_db.provider_ids[0]
    r = client.get(f"/v1/providers/{pid}", headers=VIEWER)
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == pid and body["tier"] == "B" and body["referrals_window"] == 9
    assert [s["line"] for s in body["source_records"]] == [2]
    evil = client.get(f"/v1/providers/{api_db.evil_provider_id}", headers=VIEWER).json()
    assert evil["display_name"] == EVIL_NAME  # JSON is not a spreadsheet: left as stored


def test_unknown_provider_is_404_and_bad_id_422(client: TestClient) -> None:
    r = client.get("/v1/providers/999999", headers=VIEWER)
    assert r.status_code == 404 and r.json()["title"] == "Not found"
    r = client.get("/v1/providers/abc", headers=VIEWER)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.provider_id"


def test_search_text_is_literal_not_a_like_pattern(client: TestClient) -> None:
    everyone = client.get("/v1/providers", params={"limit": 500}, headers=VIEWER).json()["total"]
    assert everyone > 0
    for pattern in ("%", "_", "%%"):
        r = client.get("/v1/providers", params={"q": pattern}, headers=VIEWER)
        assert r.status_code == 200 and r.json()["total"] == 0, pattern


def test_admin_corrects_a_provider_viewer_cannot(client: TestClient, api_db: SeededDB) -> None:
    pid = api_db.provider_ids[0]
    body = {"phone": "6145550100", "note": "called the practice"}
    assert client.patch(f"/v1/providers/{pid}", json=body, headers=VIEWER).status_code == 403
    r = client.patch(f"/v1/providers/{pid}", json=body, headers=ADMIN)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["phone"] == "+16145550100"  # ten digits of a US number, stored as E.164
    assert [(o["field"], o["value"], o["note"]) for o in got["overrides"]] == [
        ("phone", "+16145550100", "called the practice")
    ]
    assert got["lineage"]["phone"].startswith("manual:")
    bad = client.patch(f"/v1/providers/{pid}", json={"phone": "12", "colour": "red"}, headers=ADMIN)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} >= {"body.phone", "body.colour"}
