"""Every export route, in every format, is audited as an export with its row count, before it is
served; found from the app's routes, so a new export cannot be missed. SQLite and PostGIS."""

from __future__ import annotations

import csv
import io
import json
import typing
from collections.abc import Callable, Iterator

import openpyxl
import pytest
from fastapi import APIRouter, Depends
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from api.audit import ExportDep, declares_export, flush_audit
from api.deps import require_role
from api.main import create_app
from data.models import ExpansionCandidate, ExpansionScenario
from data.models.security import AuditEntry
from tests.api.conftest import MARKETING, SeededDB

#: Media types of files: a route answering in one of them serves records as a file.
FILE_TYPES = {
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/fhir+ndjson",
    "application/x-ndjson",
    "application/ndjson",
    "application/geo+json",
    "text/calendar",
}
#: Routes answering GeoJSON that are map layers, not exports: geometry of the clinic's own
#: sites, catchments, plans and grid cells (no person), drawn by the map and audited as bulk reads.
MAP_LAYERS = {
    "/v1/catchments",
    "/v1/sites/{site_code}/catchments",
    "/v1/isochrones",
    "/v1/sites/{site_code}/isochrones",
    "/v1/assignment/cells",
    "/v1/territory-plans/{name}/geojson",
    "/v1/map/roads",  # the OSM extract's roads: the app's base map, no record of anyone
}
SEGMENT = "all of AGS-N"
VISIT_DAY = "/v1/visit-lists/2027-05-03"  # the marketing caller's own day
#: How to call each export route: its URL per format. A new export route needs a line here.
REQUESTS: dict[str, Callable[[str], tuple[str, dict]]] = {
    "/v1/prospects/export.csv": lambda fmt: ("/v1/prospects/export.csv", {"site": "AGS-N"}),
    "/v1/expansion/compare.csv": lambda fmt: (
        "/v1/expansion/compare.csv",
        {"names": ["audit-a", "audit-b"]},
    ),
    "/v1/fhir/export.ndjson": lambda fmt: ("/v1/fhir/export.ndjson", {"site": "AGS-N"}),
    "/v1/segments/{name}/export.{fmt}": lambda fmt: (f"/v1/segments/{SEGMENT}/export.{fmt}", {}),
    "/v1/visit-lists/{day}/export.csv": lambda fmt: (f"{VISIT_DAY}/export.csv", {}),
    "/v1/visit-lists/{day}/export.ics": lambda fmt: (f"{VISIT_DAY}/export.ics", {}),
    "/v1/visit-lists/{day}/route.geojson": lambda fmt: (f"{VISIT_DAY}/route.geojson", {}),
}


def _routes(app) -> list:
    from fastapi.routing import iter_route_contexts

    return [
        r
        for r in iter_route_contexts(app.routes)
        if isinstance(getattr(r, "original_route", r), APIRoute)
    ]


def _media_types(route) -> set[str]:
    cls = route.response_class
    declared = {getattr(getattr(cls, "value", cls), "media_type", None)}
    declared |= {
        t for answer in (route.responses or {}).values() for t in (answer.get("content") or {})
    }
    return {t.split(";")[0].strip() for t in declared if t}


def _formats(route) -> list[str]:
    """The formats of an export route: the values of its ``fmt`` path parameter, else its one format."""
    for param in route.dependant.path_params:
        if param.name == "fmt":
            return list(typing.get_args(param.field_info.annotation))
    return [""]


def export_routes(app) -> dict[str, list[str]]:
    """Path -> formats of every route that declares an export."""
    return {r.path: _formats(r) for r in _routes(app) if declares_export(r)}


def _rows(response) -> int:
    """Records in an export body, whatever its format."""
    kind = response.headers["content-type"].split(";")[0]
    if kind == "text/csv":
        return len(list(csv.reader(io.StringIO(response.text)))) - 1
    if kind.endswith("spreadsheetml.sheet"):
        return openpyxl.load_workbook(io.BytesIO(response.content)).active.max_row - 1
    if kind == "text/calendar":
        return response.text.count("BEGIN:VEVENT")
    if kind == "application/geo+json":
        return len(response.json()["features"])
    return len(response.text.splitlines())  # NDJSON


@pytest.fixture(scope="module")
def exports(client: TestClient, api_db: SeededDB) -> Iterator[list[tuple[str, str, dict]]]:
    """(route, url, params) of every export route in every format, with something to export."""
    r = client.put(
        "/v1/segments", headers=MARKETING, json={"name": SEGMENT, "filters": {"site": "AGS-N"}}
    )
    assert r.status_code == 200, r.text
    r = client.put(
        VISIT_DAY, headers=MARKETING, json={"start": {"kind": "site", "site_code": "AGS-N"}}
    )
    assert r.status_code == 200, r.text
    r = client.put(f"{VISIT_DAY}/stops/{api_db.provider_ids[0]}", headers=MARKETING, json={})
    assert r.status_code == 200, r.text
    with api_db.ctx.sessions.begin() as s:
        for name, labels in (("audit-a", ["west", "east"]), ("audit-b", ["north"])):
            scenario = ExpansionScenario(
                name=name,
                minutes=10,
                measure="providers",
                pick=1,
                resolution=8,
                method="greedy",
                optimal=False,
                guarantee="1 - 1/e",
                added=1.0,
                summary={"chosen": labels[:1]},
            )
            s.add(scenario)
            s.flush()
            s.add_all(
                ExpansionCandidate(
                    scenario_id=scenario.id,
                    label=label,
                    cells=3,
                    new_cells=2,
                    overlap_cells=1,
                    white_space_providers=2.0,
                    white_space_potential=1.5,
                    cannibalised_providers=0.0,
                    cannibalised_potential=0.0,
                )
                for label in labels
            )
    missing = sorted(export_routes(client.app).keys() - REQUESTS.keys())
    assert not missing, f"no request known for the export routes {missing}: add one to REQUESTS"
    return [
        (path, *REQUESTS[path](fmt))
        for path, formats in export_routes(client.app).items()
        for fmt in formats
    ]


def test_every_route_serving_a_file_declares_an_export(client: TestClient) -> None:
    files = {r.path for r in _routes(client.app) if _media_types(r) & FILE_TYPES}
    declared = export_routes(client.app)
    assert files - MAP_LAYERS == declared.keys(), (
        "a route answering a file must take api.audit.ExportDep"
    )
    assert set(REQUESTS) == declared.keys()
    assert declared["/v1/segments/{name}/export.{fmt}"] == ["csv", "xlsx", "geojson"]


def _audit(api_db: SeededDB, client: TestClient, after: int, path: str) -> list[AuditEntry]:
    flush_audit(client.app.state)
    with api_db.ctx.sessions() as s:
        return list(
            s.scalars(select(AuditEntry).where(AuditEntry.id > after, AuditEntry.path == path))
        )


def _last_id(api_db: SeededDB) -> int:
    with api_db.ctx.sessions() as s:
        return s.scalar(select(func.max(AuditEntry.id))) or 0


def test_every_export_in_every_format_is_one_export_entry_with_its_rows(
    client: TestClient, api_db: SeededDB, exports: list[tuple[str, str, dict]]
) -> None:
    assert len(exports) == 9
    for route, url, params in exports:
        before = _last_id(api_db)
        r = client.get(url, params=params, headers=MARKETING)
        assert r.status_code == 200, (url, r.text[:300])
        rows = _rows(r)
        assert rows > 0, url
        [entry] = _audit(api_db, client, before, url)  # exactly one entry for the request
        assert (entry.action, entry.route, entry.status, entry.role) == (
            "export",
            route,
            200,
            "marketing",
        ), url
        assert entry.records["rows"] == rows and entry.records["format"], (url, entry.records)


def _refuse_audit_inserts(api_db: SeededDB, *, on: bool) -> None:
    """A database that refuses to write the audit log (a real refusal, by a trigger)."""
    with api_db.ctx.sessions.begin() as s:
        if api_db.backend == "sqlite":
            s.execute(
                text(
                    "CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log "
                    "BEGIN SELECT RAISE(ABORT, 'audit log refused'); END"
                )
                if on
                else text("DROP TRIGGER audit_refused")
            )
        elif on:
            s.execute(
                text(
                    "CREATE FUNCTION audit_refused() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'audit log refused'; END $$"
                )
            )
            s.execute(
                text(
                    "CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log "
                    "FOR EACH ROW EXECUTE FUNCTION audit_refused()"
                )
            )
        else:
            s.execute(text("DROP TRIGGER audit_refused ON audit_log"))
            s.execute(text("DROP FUNCTION audit_refused()"))


def test_an_export_whose_entry_cannot_be_written_is_not_served(
    client: TestClient, api_db: SeededDB, exports: list[tuple[str, str, dict]]
) -> None:
    _refuse_audit_inserts(api_db, on=True)
    try:
        for _route, url, params in exports:
            r = client.get(url, params=params, headers=MARKETING)
            assert r.status_code == 500, (url, r.status_code, r.text[:300])
            assert r.headers["content-type"] == "application/problem+json", url
            assert "content-disposition" not in r.headers and "provider_id" not in r.text, url
    finally:
        _refuse_audit_inserts(api_db, on=False)
    flush_audit(client.app.state)  # the refusals' own entries, held while the log refused them


def test_a_file_served_without_a_recorded_export_is_refused(api_db: SeededDB) -> None:
    """The middleware's net under a route that forgets: a declared export never recorded, and a
    file answer from a route that declares nothing, are both refused before their first byte."""
    extra = APIRouter(dependencies=[Depends(require_role("marketing"))])

    @extra.get("/v1/forgot-to-record.csv")
    def forgot(export: ExportDep) -> Response:
        return Response("provider_id\n1\n", media_type="text/csv")

    @extra.get("/v1/undeclared.csv")
    def undeclared() -> Response:
        return Response("provider_id\n1\n", media_type="text/csv")

    @extra.get("/v1/undeclared-download")
    def download() -> Response:
        return Response(
            b"provider_id\n1\n",
            media_type="application/octet-stream",
            headers={"Content-Disposition": 'attachment; filename="x.bin"'},
        )

    app = create_app(context=api_db.ctx)
    app.include_router(extra)
    with TestClient(app) as client:
        before = _last_id(api_db)
        for url in ("/v1/forgot-to-record.csv", "/v1/undeclared.csv", "/v1/undeclared-download"):
            r = client.get(url, headers=MARKETING)
            assert r.status_code == 500 and r.json()["title"] == "Export not audited", (url, r.text)
            assert "provider_id" not in r.text
        flush_audit(client.app.state)
        with api_db.ctx.sessions() as s:
            logged = {
                e.path: (e.action, e.status)
                for e in s.scalars(select(AuditEntry).where(AuditEntry.id > before))
            }
    assert logged["/v1/forgot-to-record.csv"] == ("export", 500)
    assert logged["/v1/undeclared.csv"] == logged["/v1/undeclared-download"] == ("read", 500)


def test_the_audit_list_shows_export_rows(
    client: TestClient, api_db: SeededDB, exports: list[tuple[str, str, dict]]
) -> None:
    client.get(f"/v1/segments/{SEGMENT}/export.xlsx", headers=MARKETING)
    items = client.get(
        "/v1/audit", headers={"X-API-Key": "test-admin"}, params={"action": "export", "limit": 1}
    ).json()["items"]
    assert items[0]["records"]["format"] == "xlsx" and items[0]["records"]["rows"] > 0
    assert json.dumps(items[0]["records"]).count("segment") == 1
