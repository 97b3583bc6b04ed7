"""A segment saved from the app's filters holds exactly the providers the app showed for them.

The app (``/app``) lists ``GET /v1/prospects/viewport``; "Save as segment" sends the same
filters to ``PUT /v1/segments``. One filter model and statement serve both, so a segment's
export (CSV, XLSX, GeoJSON) names the same providers as the app, on SQLite and PostGIS.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import openpyxl
import pytest
from fastapi.testclient import TestClient

from data.models.prospecting import ProspectStatus
from tests.api.conftest import (
    LIAISON,
    LIAISON_PERSON,
    MARKETING,
    VIEWER,
    SeededDB,
    add_second_site_and_territory,
)

#: The app's filter form (maps/assets/app/app.html) as JSON, as segments.js sends it.
NUMBERS = ("min_score", "min_drive_minutes", "max_drive_minutes", "territory_id")
BOOLEANS = ("in_catchment",)  # selects marked data-boolean: sent as JSON true / false


@pytest.fixture(scope="module")
def assigned(api_db: SeededDB) -> SeededDB:
    """Provider 0 is also a prospect of AGS-S, provider 1 lies in a territory, provider 2 is
    being worked by the test liaison."""
    with api_db.ctx.sessions.begin() as s:
        add_second_site_and_territory(s, api_db, plan="seg", segment="moderate-fit nearby")
        s.add(
            ProspectStatus(
                provider_id=api_db.provider_ids[2],
                status="contacted",
                assigned_to=LIAISON_PERSON,
                updated_by=LIAISON_PERSON,
                updated_at=datetime.now(UTC),
            )
        )
    return api_db


def _app_ids(client: TestClient, params: dict) -> list[int]:
    r = client.get("/v1/prospects/viewport", params=params, headers=VIEWER)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["truncated"] is False
    at = body["fields"].index("provider_id")
    return [row[at] for row in body["rows"]]


def _export_ids(client: TestClient, name: str) -> dict[str, set[int]]:
    got = {}
    r = client.get(f"/v1/segments/{name}/export.csv", headers=MARKETING)
    assert r.status_code == 200, r.text
    got["csv"] = {int(row["provider_id"]) for row in csv.DictReader(io.StringIO(r.text))}
    r = client.get(f"/v1/segments/{name}/export.xlsx", headers=MARKETING)
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    at = rows[0].index("provider_id")
    got["xlsx"] = {int(row[at]) for row in rows[1:]}
    r = client.get(f"/v1/segments/{name}/export.geojson", headers=MARKETING)
    got["geojson"] = {f["properties"]["provider_id"] for f in r.json()["features"]}
    return got


def test_a_segment_of_the_apps_filters_holds_what_the_app_showed(
    client: TestClient, assigned: SeededDB
) -> None:
    cases = [
        {},
        {"site": "AGS-S"},
        {"service_line": "MRI"},
        {"min_drive_minutes": "4", "max_drive_minutes": "8"},
        {"min_score": "60"},
        {"status": "contacted"},
        {"assigned_to": LIAISON_PERSON},
        {"territory_id": str(assigned.territory_id)},
        {"history": "lapsed"},
        {"history": "never referred", "min_score": "30"},
        {"q": "smith"},
        {"q": "smith", "site": "AGS-N", "service_line": "MRI", "min_score": "10"},
        {"in_catchment": "true", "site": "AGS-N"},
    ]
    for n, params in enumerate(cases):
        shown = _app_ids(client, params)
        body = {k: float(v) if k in NUMBERS else v for k, v in params.items()}
        body |= {k: body[k] == "true" for k in BOOLEANS if k in body}
        if "territory_id" in body:
            body["territory_id"] = int(body["territory_id"])
        name = f"app filter {n}"
        r = client.put("/v1/segments", json={"name": name, "filters": body}, headers=MARKETING)
        assert r.status_code == 200, (params, r.text)
        saved = r.json()
        assert saved["providers"] == len(shown), params
        assert saved["created_by"] == "Mara Quinn"  # the signed-in person, not a typed name
        for fmt, ids in _export_ids(client, name).items():
            assert ids == set(shown), (params, fmt)
    # the filters that narrow matched someone: the comparison is not of empty sets only
    assert _app_ids(client, {"assigned_to": LIAISON_PERSON}) == [assigned.provider_ids[2]]
    assert _app_ids(client, {"territory_id": assigned.territory_id}) == [assigned.provider_ids[1]]


def test_a_liaison_or_viewer_can_neither_save_nor_export_a_segment(client: TestClient) -> None:
    body = {"name": "not mine", "filters": {"min_score": 50}}
    for headers in (LIAISON, VIEWER):
        assert client.put("/v1/segments", json=body, headers=headers).status_code == 403
        for fmt in ("csv", "xlsx", "geojson"):
            r = client.get(f"/v1/segments/app filter 0/export.{fmt}", headers=headers)
            assert r.status_code == 403, (fmt, r.text)
