"""The API against its own OpenAPI document: response schemas, examples, answers, time zones,
status codes, strict bodies and ``Allow`` on 405.

tests/api/test_schemathesis.py fuzzes the operations it can; here, every answer of a scripted
session (the operations schemathesis leaves out included) is checked against the document, on
both backends, and every timestamp in it must carry its offset.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from data.models import Job
from service.events import emit
from tests.api.conftest import ADMIN, SeededDB, signed_in
from tests.api.openapi_doc import RFC3339, path_template, validator

LOOKS_LIKE_A_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _examples(content: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    if "example" in content:
        yield "example", content["example"]
    for name, example in content.get("examples", {}).items():
        yield name, example.get("value")


def test_every_operation_documents_its_answers_schema(openapi: dict[str, Any]) -> None:
    bare = []
    for path, operations in openapi["paths"].items():
        for method, op in operations.items():
            for status, response in op["responses"].items():
                if status.startswith("2") and status != "204":
                    schemas = [c.get("schema") for c in response.get("content", {}).values()]
                    if not schemas or not all(s and s != {"type": "object"} for s in schemas):
                        bare.append(f"{method.upper()} {path} {status}")
    assert not bare, bare


def _closed(schema: Any, *, partial: bool = False) -> Any:
    """``schema`` with every object that lists its properties closed to others.

    An example naming a field the model does not have (the issue's ``specialty_fit``) would
    pass an open schema. Branches of ``anyOf``/``oneOf``/``allOf``/``not`` state partial rules
    (``{"required": ["npi"], "properties": {"npi": ...}}``), and so do conditionals: they stay open, the object they
    belong to is closed with ``unevaluatedProperties``, which sees through them.
    """
    if isinstance(schema, list):
        return [_closed(s, partial=partial) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "$defs"):
            out[key] = {name: _closed(sub) for name, sub in value.items()}
        elif key in ("anyOf", "oneOf", "allOf", "not", "if", "then", "else"):
            out[key] = _closed(value, partial=True)
        elif key in ("items", "prefixItems", "additionalProperties"):
            out[key] = _closed(value)
        else:  # keywords whose values are data (example, default, enum, const) or scalars
            out[key] = value
    if (
        "properties" in schema
        and not partial
        and not {"additionalProperties", "unevaluatedProperties"} & schema.keys()
    ):
        out["unevaluatedProperties"] = False
    return out


def _closed_document(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with the schemas of its operations and components closed (:func:`_closed`)."""

    def schemas_in(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: _closed(v) if k == "schema" else schemas_in(v) for k, v in node.items()}
        if isinstance(node, list):
            return [schemas_in(v) for v in node]
        return node

    components = doc["components"]
    return {
        **doc,
        "paths": schemas_in(doc["paths"]),
        "components": {
            **components,
            "schemas": {n: _closed(s) for n, s in components["schemas"].items()},
        },
    }


def test_every_example_validates_against_its_schema(openapi: dict[str, Any]) -> None:
    """Types, enums, formats, and no field the schema does not name (:func:`_closed`)."""
    openapi = _closed_document(openapi)
    wrong = []
    for path, operations in openapi["paths"].items():
        for method, op in operations.items():
            places = [(("responses", s), r) for s, r in op["responses"].items()]
            if "requestBody" in op:
                places.append((("requestBody",), op["requestBody"]))
            for where, part in places:
                for media, content in part.get("content", {}).items():
                    if "schema" not in content:
                        continue
                    check = validator(
                        openapi, "paths", path, method, *where, "content", media, "schema"
                    )
                    for name, example in _examples(content):
                        wrong += [
                            f"{method.upper()} {path} {where} {media} {name}: {e.message}"
                            for e in check.iter_errors(example)
                        ]
    for name, schema in openapi["components"]["schemas"].items():
        check = validator(openapi, "components", "schemas", name)
        for example in schema.get("examples", []):
            wrong += [f"{name}: {e.message}" for e in check.iter_errors(example)]
    assert not wrong, "\n".join(wrong)


def test_every_schema_speaks_json_schema(openapi: dict[str, Any]) -> None:
    """Bounds as ``minimum``/``maximum``: pydantic writes ``ge``/``le`` (which no client reads)
    when a bound follows a validator in ``Annotated``."""
    foreign = {"ge", "gt", "le", "lt", "min_length", "max_length", "multiple_of"}

    def walk(node: Any, where: str) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("type"), str) and foreign & node.keys():
                yield f"{where}: {sorted(foreign & node.keys())}"
            for key, value in node.items():
                if key not in ("example", "examples", "default"):
                    yield from walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, f"{where}/{i}")

    assert not list(walk(openapi, "")), list(walk(openapi, ""))


def test_the_prospect_example_names_real_segments_and_components(openapi: dict[str, Any]) -> None:
    """The example of the list the issue found wrong ("white space", "specialty_fit")."""
    content = openapi["paths"]["/v1/prospects"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]
    item = content["example"]["items"][0]
    assert item["segment"] == "high-potential GP nearby"
    assert [c["name"] for c in item["components"]] == [
        "specialty",
        "proximity",
        "potential",
        "recency",
    ]


# ----------------------------------------------------------------------------- answers


def _times(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every text in ``value`` that looks like a time of day on a date."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _times(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _times(v, f"{where}[{i}]")
    elif isinstance(value, str) and LOOKS_LIKE_A_TIME.match(value):
        yield where, value


class Contract:
    """Sends requests and checks each answer against the document and for time zones."""

    def __init__(self, client: TestClient, openapi: dict[str, Any]) -> None:
        self.client, self.doc = client, openapi
        self.checked: list[str] = []

    def __call__(self, method: str, url: str, *, status: int = 200, **kwargs: Any) -> Any:
        kwargs.setdefault("headers", ADMIN)
        r = self.client.request(method, url, **kwargs)
        assert r.status_code == status, (method, url, r.status_code, r.text[:500])
        path = url.split("?")[0]
        template = path_template(self.doc, path)
        media = r.headers["content-type"].split(";")[0]
        responses = self.doc["paths"][template][method.lower()]["responses"]
        assert str(status) in responses, f"{method} {template} answered an undocumented {status}"
        contents = responses[str(status)].get("content", {})
        documented = {m.split(";")[0]: m for m in contents}
        assert media in documented, (method, template, media, list(contents))
        if media.endswith("json"):
            body = r.json()
            check = validator(
                self.doc,
                "paths",
                template,
                method.lower(),
                "responses",
                str(status),
                "content",
                documented[media],
                "schema",
            )
            errors = [f"{list(e.absolute_path)}: {e.message}" for e in check.iter_errors(body)]
            assert not errors, (method, url, errors[:5])
            naive = [(w, v) for w, v in _times(body) if not RFC3339.fullmatch(v)]
            assert not naive, (method, url, naive)
            self.checked.append(f"{method} {template} {status}")
            return body
        return r.content


def _finished(client: TestClient, job_id: int, *, timeout_s: float = 600.0) -> int:
    """``job_id`` once its job has ended (a generous bound: a job that hangs is a failure)."""
    deadline = time.monotonic() + timeout_s
    while client.get(f"/v1/jobs/{job_id}", headers=ADMIN).json()["status"] == "running":
        assert time.monotonic() < deadline, f"job {job_id} still running after {timeout_s} s"
        time.sleep(0.2)
    return job_id


def test_answers_match_the_document_and_times_carry_their_offset(
    client: TestClient, api_db: SeededDB, openapi: dict[str, Any]
) -> None:
    call = Contract(client, openapi)
    pid, other = api_db.provider_ids[0], api_db.provider_ids[1]
    key = call(
        "POST",
        "/v1/keys",
        status=201,
        json={"name": "crm", "person": "Ana Ruiz", "role": "integration", "days": 30},
    )
    call("GET", "/v1/keys")
    call("DELETE", f"/v1/keys/{key['id']}")
    session = signed_in(client.app)
    assert RFC3339.fullmatch(session.get("/v1/session").json()["expires_at"])
    item = {
        "provider_id": pid,
        "kind": "visit",
        "occurred_at": "2024-06-20T12:30:00+02:00",
        "external_id": "crm-contract-1",
    }
    first = call("POST", "/v1/interactions", status=201, json=item)
    assert first["occurred_at"] == "2024-06-20T10:30:00Z"  # the instant, in UTC
    call("POST", "/v1/interactions", status=200, json=item)  # the CRM sends it again
    call("GET", f"/v1/providers/{pid}/interactions")
    call("PUT", f"/v1/providers/{pid}/preferences", json={"channel": "email", "updated_by": "Ana"})
    call("GET", f"/v1/providers/{pid}/preferences")
    etag = call("GET", f"/v1/prospects/{pid}/status")["etag"]
    call(
        "PUT",
        f"/v1/prospects/{pid}/status",
        json={"status": "contacted"},
        headers={**ADMIN, "If-Match": etag},
    )
    call("GET", f"/v1/providers/{pid}/brief")
    call("GET", f"/v1/referrers/{pid}/activity")
    call("PATCH", f"/v1/providers/{pid}", json={"phone": "6145550100", "note": "by phone"})
    call("GET", f"/v1/providers/{pid}")
    sub = call(
        "POST",
        "/v1/webhooks",
        status=201,
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["alert.at_risk"]},
    )
    call("GET", "/v1/webhooks")
    with api_db.ctx.sessions.begin() as s:
        emit(api_db.ctx, "alert.at_risk", {"provider_id": pid}, session=s)
        s.add(Job(kind="contract", status="done", finished_at=datetime(2026, 11, 1, 9, tzinfo=UTC)))
        s.flush()
        job_id = s.query(Job.id).filter(Job.kind == "contract").scalar()
    call("POST", "/v1/webhooks/dispatch")  # nobody listens on port 9: the delivery will retry
    call("GET", "/v1/webhooks/deliveries")
    call("DELETE", f"/v1/webhooks/{sub['id']}")
    call("GET", f"/v1/jobs/{job_id}")
    call("POST", f"/v1/privacy/objections/{other}", json={"reason": "email"})
    call("GET", "/v1/privacy/objections")
    call("POST", f"/v1/privacy/erasures/{other}")
    call("GET", "/v1/audit?limit=20")
    call("GET", "/v1/catchments")
    call("GET", "/v1/sites/AGS-N/catchments?method=drive_time")
    call("GET", "/v1/isochrones?minutes=5")
    call("GET", "/v1/sites/AGS-S/isochrones?minutes=5")
    call("GET", "/v1/assignment/cells")
    call("GET", "/v1/overlap?minutes=10")
    call(
        "POST",
        "/v1/territory-plans",
        status=201,
        json={
            "name": "contract",
            "liaisons": ["Ana", "Ben"],
            "region": "providers",
            "max_seconds": 5,
        },
    )
    call("GET", "/v1/territory-plans")
    call("GET", "/v1/territory-plans/contract")
    call("GET", "/v1/territory-plans/contract/geojson")
    call(
        "POST",
        "/v1/expansion/scenarios",
        status=201,
        json={
            "name": "contract",
            "minutes": 10,
            "pick": 1,
            "candidates": [
                {"label": "A", "lat": 21.87, "lon": -102.28},
                {"label": "B", "lat": 21.86, "lon": -102.25},
            ],
        },
    )
    call("GET", "/v1/expansion/scenarios")
    call("GET", "/v1/expansion/scenarios/contract")
    call("GET", "/v1/expansion/compare?names=contract")
    call("PUT", "/v1/segments", json={"name": "north", "filters": {"site": "AGS-N"}})
    call("GET", "/v1/segments/north/export.geojson")
    # the seeded referrals name no provider: the backtest's refusal is a documented problem
    call("POST", "/v1/scoring/backtests", status=422, json={"service_line": "MRI"})
    call("POST", "/v1/matching/free-text", json={"texts": ["Dr Jones"], "top": 2})
    call("GET", f"/v1/matching/providers/{pid}")
    call("GET", f"/v1/fhir/Practitioner/{pid}")
    call("GET", "/v1/prospects?site=AGS-N&count=true")
    call("GET", "/v1/alerts?since=2024-01-01")
    receipt = call(
        "POST",
        "/v1/referrals",
        status=201,
        json={
            "external_id": "contract-1",
            "referral_date": "2024-06-03",
            "referrer_name": "Dr Nobody Known",
        },
    )
    call(
        "POST",
        "/v1/referrals",
        json={  # delivered again: 200, documented
            "external_id": "contract-1",
            "referral_date": "2024-06-03",
            "referrer_name": "Dr Nobody Known",
        },
    )
    if receipt.get("review_id"):
        call(
            "POST",
            f"/v1/referrals/review/{receipt['review_id']}",
            json={"provider_id": pid, "resolved_by": "Ana"},
        )
    call("GET", "/v1/referrals/review?status=linked")
    # last, as they start background work (schemathesis leaves them out): the job as started,
    # and as it ended
    sites = b"site_code,name,service_line,city,lat,lon\nCT-1,Contract Clinic,MRI,Aguascalientes,21.88,-102.29\n"
    job = call(
        "POST", "/v1/uploads/sites", status=202, files={"file": ("sites.csv", sites, "text/csv")}
    )
    call("GET", f"/v1/jobs/{_finished(client, job['id'])}")
    job = call("POST", "/v1/jobs/pipeline", status=202)
    call("GET", f"/v1/jobs/{_finished(client, job['id'])}")
    assert len(call.checked) >= 50  # JSON answers checked (exports and pages: their media type)


# ----------------------------------------------------------------------------- statuses


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        # a body that is not UTF-8 (JSON must be)
        (
            "POST",
            "/v1/sites",
            {
                "content": b'{"site_code": "\xff\xfe"}',
                "headers": ADMIN | {"content-type": "application/json"},
            },
            400,
        ),
        ("POST", "/v1/prospects/1/status", {"headers": ADMIN}, 405),
        ("GET", "/v1/prospects?segment=a%00b", {"headers": ADMIN}, 400),
        ("GET", "/v1/health?api_key=x", {}, 401),
        (
            "POST",
            "/v1/keys",
            {"content": b"x" * (2 << 20), "headers": ADMIN | {"content-type": "application/json"}},
            413,
        ),
        ("PATCH", "/v1/sites/AGS-N", {"json": {"lon": False}, "headers": ADMIN}, 422),
    ],
)
def test_answers_only_documented_statuses(
    client: TestClient, openapi: dict[str, Any], method: str, path: str, kwargs: dict, status: int
) -> None:
    r = client.request(method, path, **kwargs)
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith("application/problem+json")
    if status == 405:
        return  # no operation answers it: see test_405_lists_every_method_of_the_path
    template = path_template(openapi, path.split("?")[0])
    assert str(status) in openapi["paths"][template][method.lower()]["responses"]


def test_a_repeated_interaction_is_documented_as_200(openapi: dict[str, Any]) -> None:
    responses = openapi["paths"]["/v1/interactions"]["post"]["responses"]
    assert {"200", "201", "409"} <= set(responses)
    assert responses["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/InteractionPublic"
    }


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/v1/sites", "GET, POST"),
        ("PUT", "/v1/session", "DELETE, GET, POST"),
        ("PATCH", "/v1/webhooks", "GET, POST"),
        ("DELETE", "/v1/webhooks/dispatch", "POST"),  # not the DELETE of /v1/webhooks/{id}
        ("GET", "/v1/jobs/pipeline", "POST"),  # not the GET of /v1/jobs/{id}
        ("POST", "/v1/providers/1", "GET, PATCH"),
    ],
)
def test_405_lists_every_method_of_the_path(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    r = client.request(method, path, headers=ADMIN)
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == allowed
    assert r.json()["status"] == 405


def test_the_documented_prospect_page_is_the_bytes_sent(
    client: TestClient, openapi: dict[str, Any]
) -> None:
    """The fast path writes its own JSON: it must validate against the documented schema."""
    check = validator(
        openapi,
        "paths",
        "/v1/prospects",
        "get",
        "responses",
        "200",
        "content",
        "application/json",
        "schema",
    )
    for query in ("limit=3", "site=AGS-S&count=true", "sort=name&limit=500"):
        r = client.get(f"/v1/prospects?{query}", headers=ADMIN)
        body = json.loads(r.content)
        assert not [e.message for e in check.iter_errors(body)]
        assert body["items"]
