"""Request values as the document spells them: JSON types as sent, trimmed text, numbers in URLs
as JSON spells them, one value per one-value parameter, integral numbers as integers
(the wire types of :mod:`service.wire`), over HTTP on both backends.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN, LIAISON, SeededDB
from tests.api.openapi_doc import path_template, validator


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PATCH", "/v1/sites/AGS-N", {"lon": False}, "body.lon"),
        ("PATCH", "/v1/sites/AGS-N", {"lat": "21.9"}, "body.lat"),
        (
            "POST",
            "/v1/sites",
            {"site_code": "X1", "name": "X", "service_line": "MRI", "lat": True, "lon": 1},
            "body.lat",
        ),
        ("POST", "/v1/matching/free-text", {"texts": ["x"], "top": "3"}, "body.top"),
        ("POST", "/v1/matching/free-text", {"texts": ["x"], "top": True}, "body.top"),
        (
            "POST",
            "/v1/matching/decisions",
            {"decision": "accept", "left_record_id": 1, "right_record_id": 2, "apply": 1},
            "body.apply",
        ),
        ("POST", "/v1/keys", {"name": "k", "role": "viewer", "days": "30"}, "body.days"),
        (
            "POST",
            "/v1/referrals",
            {"external_id": "s-1", "referral_date": 0, "referrer_name": "Dr X"},
            "body.referral_date",
        ),
        (
            "POST",
            "/v1/interactions",
            {"provider_id": 1, "kind": "call", "occurred_at": "2024-06-03T10:30:00"},
            "body.occurred_at",
        ),
        (
            "PUT",
            "/v1/segments",
            {"name": "s", "filters": {"min_score": False}},
            "body.filters.min_score",
        ),
        (
            "PUT",
            "/v1/segments",
            {"name": "s", "filters": {"group_codes": ["x"]}},
            "body.filters.group_codes",
        ),
    ],
)
def test_request_bodies_take_json_types_as_sent(
    client: TestClient, method: str, path: str, body: dict, field: str
) -> None:
    r = client.request(method, path, json=body, headers=ADMIN)
    assert r.status_code == 422, r.text
    assert field in {e.get("field") for e in r.json()["errors"]}, r.text


_NPI = "1234567893"
_REFERRAL = {
    "external_id": "trim-1",
    "referral_date": "2024-06-03",
    "referrer_name": "Dr Nobody Known",
}


@pytest.mark.parametrize(
    ("method", "path", "body", "valid"),
    [
        (
            "POST",
            "/v1/referrals",
            _REFERRAL | {"external_id": " "},
            False,
        ),  # stored empty once trimmed
        ("POST", "/v1/referrals", _REFERRAL | {"external_id": "\u3000\u00a0"}, False),
        ("POST", "/v1/referrals", _REFERRAL | {"external_id": "  trim-2 "}, True),  # trimmed
        (
            "POST",
            "/v1/referrals",
            _REFERRAL | {"referrer_name": " a "},
            False,
        ),  # one letter once trimmed
        (
            "POST",
            "/v1/referrals",
            _REFERRAL | {"referrer_name": None, "referrer_npi": f" {_NPI}"},
            False,
        ),
        ("POST", "/v1/referrals/review/1", {"resolved_by": "  ", "provider_id": None}, False),
        ("PUT", "/v1/segments", {"name": "   ", "filters": {}}, False),
        ("PUT", "/v1/segments", {"name": " north ", "filters": {}}, True),
        ("POST", "/v1/scoring/backtests", {"service_line": " "}, False),
    ],
)
def test_trimmed_text_is_refused_exactly_when_the_schema_says(
    client: TestClient, openapi: dict[str, Any], method: str, path: str, body: dict, valid: bool
) -> None:
    """Text is validated as sent and trimmed after: what the schema allows is accepted, and a
    blank required text (allowed by ``minLength`` alone) is refused by the schema too."""
    template = path_template(openapi, path)
    check = validator(
        openapi,
        "paths",
        template,
        method.lower(),
        "requestBody",
        "content",
        "application/json",
        "schema",
    )
    assert check.is_valid(body) == valid, [e.message for e in check.iter_errors(body)]
    r = client.request(method, path, json=body, headers=ADMIN)
    assert (r.status_code != 422) == valid, r.text
    if valid and "external_id" in body:
        assert r.json()["external_id"] == body["external_id"].strip()


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/providers/%0B1", "path.provider_id"),  # a vertical tab, then 1
        ("/v1/providers/%201", "path.provider_id"),
        ("/v1/providers/+1", "path.provider_id"),
        ("/v1/providers/1_0", "path.provider_id"),
        ("/v1/prospects?limit=%2B5", "query.limit"),  # +5
        ("/v1/prospects?organization_id=%201", "query.organization_id"),
        ("/v1/prospects?min_score=inf", "query.min_score"),
        ("/v1/prospects?min_score=.5", "query.min_score"),
        ("/v1/prospects?max_drive_minutes=1_0", "query.max_drive_minutes"),
        ("/v1/overlap?minutes=%2010", "query.minutes"),
        ("/v1/isochrones?minutes=5&minutes=nan", "query.minutes.1"),
        ("/v1/prospects/viewport?west=%20-102.3&south=21.8&east=-102.2&north=21.9", "query.west"),
    ],
)
def test_numbers_in_urls_are_spelled_as_json_spells_them(
    client: TestClient, path: str, field: str
) -> None:
    r = client.get(path, headers=ADMIN)
    assert r.status_code == 422, r.text
    assert field in {e.get("field") for e in r.json()["errors"]}, r.text


def test_numbers_in_urls_as_json_spells_them_are_taken(
    client: TestClient, api_db: SeededDB
) -> None:
    for path in (
        f"/v1/providers/{api_db.provider_ids[0]}",
        "/v1/prospects?limit=5.0&min_score=1e1",
        "/v1/prospects?min_score=-0&max_drive_minutes=30.5",
        "/v1/overlap?minutes=10",
    ):
        assert client.get(path, headers=ADMIN).status_code == 200, path


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/v1/audit?actor=a&actor=b", 422, "query.actor"),  # FastAPI kept the last one
        ("/v1/prospects?min_score=1&min_score=2&city=x", 422, "query.min_score"),
        ("/v1/prospects?postal_code=20000&postal_code=20010", 200, None),  # an array
        ("/v1/isochrones?minutes=5&minutes=10", 200, None),
    ],
)
def test_a_one_value_parameter_is_given_once(
    client: TestClient, path: str, status: int, field: str | None
) -> None:
    r = client.get(path, headers=ADMIN)
    assert r.status_code == status, r.text
    if field:
        assert [e["field"] for e in r.json()["errors"]] == [field]


def test_visit_stops_take_numbers_as_json_has_them(client: TestClient, api_db: SeededDB) -> None:
    """A path id spelled otherwise is refused; a visit of 45.0 minutes is one of 45."""
    r = client.delete("/v1/visit-lists/2024-06-03/stops/+1", headers=LIAISON)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["path.provider_id"]
    pid = api_db.provider_ids[0]
    r = client.put(
        f"/v1/visit-lists/2030-06-03/stops/{pid}", json={"duration_min": 45.0}, headers=LIAISON
    )
    assert r.status_code == 200, r.text
    assert [s["duration_min"] for s in r.json()["stops"]] == [45]


@pytest.mark.parametrize(
    ("path", "body", "valid"),
    [
        ("/v1/visit-lists/2030-06-04", {"start": {"kind": "site", "site_code": " "}}, False),
        ("/v1/visit-lists/2030-06-04", {"start": {"kind": "site", "site_code": " AGS-N "}}, True),
        (
            "/v1/visit-lists/2030-06-04",
            {"start": {"kind": "address", "address": "\u00a0", "postal_code": "20000"}},
            False,
        ),
        (
            "/v1/visit-lists/2030-06-04",
            {"start": {"kind": "address", "address": "x", "postal_code": " 20000"}},
            False,  # a pattern holds for the text as sent
        ),
    ],
)
def test_visit_places_are_trimmed_as_the_schema_says(
    client: TestClient, openapi: dict[str, Any], path: str, body: dict, valid: bool
) -> None:
    check = validator(
        openapi, "paths", path_template(openapi, path), "put", "requestBody", "content",
        "application/json", "schema",
    )  # fmt: skip
    assert check.is_valid(body) == valid, [e.message for e in check.iter_errors(body)]
    r = client.put(path, json=body, headers=LIAISON)
    assert (r.status_code != 422) == valid, r.text
    if valid:
        assert r.json()["start"]["label"].startswith("AGS-N"), r.json()["start"]


def test_a_visit_outcome_takes_an_rfc3339_instant(client: TestClient, api_db: SeededDB) -> None:
    pid = api_db.provider_ids[3]
    etag = client.get(f"/v1/prospects/{pid}/status", headers=LIAISON).headers["etag"]
    r = client.post(
        f"/v1/prospects/{pid}/visit-outcome",
        json={"outcome": "not_met", "occurred_at": "2026-12-08T16:10:00+01:00"},
        headers={**LIAISON, "If-Match": etag},
    )
    assert r.status_code == 201, r.text


def test_integral_numbers_are_integers(client: TestClient) -> None:
    """JSON Schema's integer: 2.0 is one (a client's float formatting is not a type error)."""
    r = client.post(
        "/v1/matching/free-text", json={"texts": ["Dr Jones"], "top": 2.0}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
