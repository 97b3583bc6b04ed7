"""RFC 9457 problem bodies for every kind of error."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from api.problems import install_problem_handlers, problem_response, validation_problems
from core.errors import ConfigError, InputError, NotFoundError, Problem
from tests.api.conftest import VIEWER

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "errors"}


def _assert_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert set(body) <= PROBLEM_KEYS and {"type", "title", "status"} <= set(body)
    assert body["status"] == status
    return body


def test_invalid_query_parameters_list_every_field(client: TestClient) -> None:
    body = _assert_problem(client.get("/v1/prospects?min_score=500&limit=0", headers=VIEWER), 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"query.min_score", "query.limit"}
    assert {e["value"] for e in body["errors"]} == {"500", "0"}
    assert body["instance"] == "/v1/prospects"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=501", "query.limit"),
        ("max_drive_minutes=0", "query.max_drive_minutes"),
        ("sort=colour", "query.sort"),
        ("min_score=abc", "query.min_score"),
    ],
)
def test_each_bad_prospect_parameter_is_named(client: TestClient, query: str, field: str) -> None:
    body = _assert_problem(client.get(f"/v1/prospects?{query}", headers=VIEWER), 422)
    assert [e["field"] for e in body["errors"]] == [field]


def test_bad_cursor_is_422_naming_cursor(client: TestClient) -> None:
    body = _assert_problem(client.get("/v1/prospects?cursor=not-a-cursor!", headers=VIEWER), 422)
    assert body["errors"][0]["field"] == "cursor"


def test_bad_body_lists_every_field(client: TestClient) -> None:
    r = client.post(
        "/v1/sites",
        json={"site_code": "bad code!", "postal_code": "1"},
        headers={"X-API-Key": "test-admin"},
    )
    body = _assert_problem(r, 422)
    fields = {e["field"] for e in body["errors"]}
    assert {"body.site_code", "body.postal_code", "body.name", "body.service_line"} <= fields


def test_unknown_route_is_404_problem(client: TestClient) -> None:
    body = _assert_problem(client.get("/v1/nothing-here"), 404)
    assert body["instance"] == "/v1/nothing-here"


def test_wrong_method_is_405_problem_with_allow(client: TestClient) -> None:
    r = client.delete("/v1/prospects", headers=VIEWER)
    _assert_problem(r, 405)
    assert "GET" in r.headers["allow"]


def test_service_errors_and_unexpected_errors() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/input")
    def _input() -> None:
        raise InputError(
            "bad file",
            problems=[Problem("too short", file="a.csv", line=3, field="npi", value="12")],
        )

    @app.get("/missing")
    def _missing() -> None:
        raise NotFoundError("no such thing")

    @app.get("/config")
    def _config() -> None:
        raise ConfigError("secret path /etc/prm.key unreadable")

    @app.get("/boom")
    def _boom() -> None:
        raise RuntimeError("password=hunter2 in traceback")

    with TestClient(app, raise_server_exceptions=False) as c:
        body = _assert_problem(c.get("/input"), 422)
        assert body["title"] == "Invalid input" and body["detail"] == "bad file"
        assert body["errors"] == [
            {"message": "too short", "file": "a.csv", "line": 3, "field": "npi", "value": "12"}
        ]
        assert _assert_problem(c.get("/missing"), 404)["type"] == "urn:prm:problem:not-found"
        for path in ("/config", "/boom"):
            r = c.get(path)
            body = _assert_problem(r, 500)
            assert "hunter2" not in r.text and "/etc/prm.key" not in r.text
            assert "Traceback" not in r.text


def test_401_carries_www_authenticate() -> None:
    r = problem_response(status=401, detail="missing API key")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "www-authenticate" not in problem_response(status=403).headers


@given(
    st.lists(
        st.tuples(
            st.lists(
                st.one_of(
                    st.sampled_from(["query", "body", "path"]),
                    st.text(max_size=8),
                    st.integers(0, 9),
                ),
                min_size=1,
                max_size=4,
            ),
            st.text(max_size=300),
        ),
        max_size=6,
    )
)
def test_validation_problems_keep_every_error(errors: list[tuple[list, str]]) -> None:
    raw = [
        {"loc": tuple(loc), "msg": "bad", "type": "value_error", "input": value}
        for loc, value in errors
    ]
    problems = validation_problems(raw)
    assert len(problems) == len(raw)
    for p, (loc, value) in zip(problems, errors, strict=True):
        assert p.field == ".".join(map(str, loc)) or (
            p.field is None and not "".join(map(str, loc))
        )
        assert p.value is not None and len(p.value) <= 200
        assert value.startswith(p.value.rstrip("…"))


@pytest.mark.parametrize(
    "url",
    [
        "/v1/prospects?segment=a%00b&count=true",
        "/v1/prospects?site=%00",
        "/v1/providers?q=x%00",
        "/v1/sites/AB%00C",
    ],
)
def test_nul_characters_are_a_400_problem_before_any_query(client: TestClient, url: str) -> None:
    """PostgreSQL cannot hold NUL in text: found by schemathesis as a 500 on the prospect count."""
    body = _assert_problem(client.get(url, headers=VIEWER), 400)
    assert "NUL" in body["detail"]
