"""FHIR R4B Plan-Net resources over HTTP: reads, validation, Plan-Net checks, NDJSON export."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class

from core.errors import ServiceError
from service.integration import fhir
from tests.api.conftest import MARKETING, SITES, VIEWER, SeededDB


def _valid_r4b(resource: dict) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    assert fhir.plannet_problems(resource) == []


def test_practitioner_role_and_location_of_a_provider(client: TestClient, api_db: SeededDB) -> None:
    pid = api_db.provider_ids[0]
    r = client.get(f"/v1/fhir/Practitioner/{pid}", headers=VIEWER)
    assert r.status_code == 200 and r.headers["content-type"] == "application/fhir+json"
    prac = r.json()
    _valid_r4b(prac)
    assert prac["identifier"][0] == {
        "use": "official",
        "system": fhir.NPI_SYSTEM,
        "value": f"{1000000000:010d}",
    }
    assert prac["name"][0]["family"] == "JONES" and prac["meta"]["profile"][0].endswith(
        "plannet-Practitioner"
    )
    role = client.get(f"/v1/fhir/PractitionerRole/{pid}", headers=VIEWER).json()
    _valid_r4b(role)
    assert role["practitioner"]["reference"] == f"Practitioner/{pid}"
    assert role["specialty"][0]["coding"][0] == {
        "system": fhir.NUCC_SYSTEM,
        "code": "207R00000X",
        "display": "Internal Medicine",
    }
    loc = client.get(f"/v1/fhir/{role['location'][0]['reference']}", headers=VIEWER).json()
    _valid_r4b(loc)
    assert loc["address"]["city"] == "Aguascalientes" and -90 <= loc["position"]["latitude"] <= 90


def test_site_location_and_not_found(client: TestClient) -> None:
    site = client.get("/v1/fhir/Location/site-AGS-N", headers=VIEWER).json()
    _valid_r4b(site)
    assert site["name"] == "Clinic AGS-N" and site["position"]["latitude"] == pytest.approx(
        SITES["AGS-N"][0]
    )
    for path in (
        "/v1/fhir/Location/site-NOPE",
        "/v1/fhir/Practitioner/999999",
        "/v1/fhir/Organization/practice-999",
        "/v1/fhir/Location/other-1",
    ):
        r = client.get(path, headers=VIEWER)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json", (
            path
        )
    assert client.get("/v1/fhir/Patient/1", headers=VIEWER).status_code == 422
    assert client.get("/v1/fhir/Practitioner/a b", headers=VIEWER).status_code == 422


def test_ndjson_export_of_a_query_is_valid_and_audited(
    client: TestClient, api_db: SeededDB
) -> None:
    assert client.get("/v1/fhir/export.ndjson", headers=VIEWER).status_code == 403
    r = client.get("/v1/fhir/export.ndjson?site=AGS-S", headers=MARKETING)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+ndjson")
    lines = [json.loads(x) for x in r.text.splitlines()]
    kinds = [x["resourceType"] for x in lines]
    # AGS-S: providers 12, 13, 14 (15 is inactive): Practitioner + PractitionerRole + Location each
    assert kinds.count("Practitioner") == 3 and kinds.count("PractitionerRole") == 3
    assert kinds.count("Location") == 3
    for resource in lines:
        _valid_r4b(resource)
    only = client.get("/v1/fhir/export.ndjson?site=AGS-S&_type=Practitioner", headers=MARKETING)
    assert {json.loads(x)["resourceType"] for x in only.text.splitlines()} == {"Practitioner"}
    entries = client.get(
        "/v1/audit",
        headers={"X-API-Key": "test-admin"},
        params={"path": "/v1/fhir/export.ndjson", "action": "export"},
    ).json()["items"]
    assert entries and entries[-1]["records"]["format"] == "fhir-ndjson"


def test_plannet_checks_name_each_missing_element() -> None:
    bare = {
        "resourceType": "Practitioner",
        "id": "1",
        "name": [{"text": "X"}],
        "meta": {"profile": []},
    }
    fields = {p.field for p in fhir.plannet_problems(bare)}
    assert fields == {"meta.lastUpdated", "active", "name[0].family", "meta.profile"}
    role = {
        "resourceType": "PractitionerRole",
        "id": "1",
        "active": True,
        "meta": {
            "lastUpdated": "2026-01-01T00:00:00Z",
            "profile": [fhir.PLANNET + "PractitionerRole"],
        },
    }
    assert [p.field for p in fhir.plannet_problems(role)] == ["practitioner|organization|location"]
    with pytest.raises(ServiceError, match="Plan-Net"):
        fhir.validated(bare | {"active": True, "meta": {"lastUpdated": "2026-01-01T00:00:00Z"}})
    with pytest.raises(ServiceError, match="not valid FHIR R4B"):
        fhir.validated({"resourceType": "Location", "id": "x", "position": {"latitude": "north"}})


def test_organization_shapes_validate() -> None:
    org = SimpleNamespace(
        id=7,
        npi="1234567893",
        name="OHIO ORTHO GROUP",
        address_1="1 MAIN ST",
        city="COLUMBUS",
        state="OH",
        postal_code="43215",
        phone="6145550100",
        lat=40.0,
        lon=-83.0,
    )
    res = fhir.validated(fhir.organization_from_practice(org, as_of=None))
    assert res["id"] == "practice-7" and res["active"] is True and res["name"] == "OHIO ORTHO GROUP"
