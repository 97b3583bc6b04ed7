"""Authentication and roles over HTTP, and the guard on every route."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from api.deps import RoleRequirement, require_role
from core.settings import Settings
from service.security.keys import bootstrap_role
from tests.api.conftest import ADMIN, ADMIN_KEY, VIEWER, VIEWER_KEY

PUBLIC_PATHS = {
    "/health",
    "/v1/health",
    "/docs",
    "/",
    "/openapi.json",
    "/signin",
    "/v1/session/link",
}
#: Public routes on a path that also has guarded ones: signing in takes the key itself.
PUBLIC_ROUTES = {("POST", "/v1/session")}

# (method, path, json body) of every protected route, with valid-looking arguments.
V1_ROUTES = [
    ("GET", "/v1/providers", None),
    ("GET", "/v1/providers/1", None),
    ("GET", "/v1/sites", None),
    (
        "POST",
        "/v1/sites",
        {"site_code": "NEW-1", "name": "n", "service_line": "MRI", "lat": 21.87, "lon": -102.27},
    ),
    ("PATCH", "/v1/sites/AGS-N", {"name": "renamed"}),
    ("GET", "/v1/sites/AGS-N/catchments", None),
    ("GET", "/v1/catchments", None),
    ("GET", "/v1/prospects", None),
    ("GET", "/v1/prospects/export.csv", None),
    ("GET", "/map", None),
]
ADMIN_ROUTES = [r for r in V1_ROUTES if r[0] in ("POST", "PATCH")]


def _api_routes(app) -> list:
    """Every API route with its effective (router-merged) dependencies.

    FastAPI >= 0.16x keeps included routers as lazy branches of ``app.routes``;
    ``iter_route_contexts`` flattens them (older versions already flatten).
    """
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI
        return [r for r in app.routes if isinstance(r, APIRoute)]
    return [rc for rc in iter_route_contexts(app.routes) if isinstance(rc.original_route, APIRoute)]


def _roles(dependant) -> set[str]:
    found = set()
    for dep in dependant.dependencies:
        if isinstance(dep.call, RoleRequirement):
            found.add(dep.call.role)
        found |= _roles(dep)
    return found


def test_every_route_but_health_and_docs_declares_a_role(client: TestClient) -> None:
    routes = _api_routes(client.app)
    guarded = {
        (m, r.path): _roles(r.dependant)
        for r in routes
        for m in r.methods
        if r.path not in PUBLIC_PATHS and (m, r.path) not in PUBLIC_ROUTES
    }
    assert {path for _, path, _ in V1_ROUTES} - {
        "/v1/providers/1",
        "/v1/sites/AGS-N",
        "/v1/sites/AGS-N/catchments",
    } <= {path for _, path in guarded}
    unguarded = sorted(route for route, roles in guarded.items() if not roles)
    assert unguarded == []
    # and the public ones really are public
    for r in routes:
        for m in r.methods:
            if r.path in PUBLIC_PATHS or (m, r.path) in PUBLIC_ROUTES:
                assert _roles(r.dependant) == set(), r.path


def test_write_routes_need_admin(client: TestClient) -> None:
    routes = {(m, r.path): _roles(r.dependant) for r in _api_routes(client.app) for m in r.methods}
    assert "admin" in routes[("POST", "/v1/sites")]
    assert "admin" in routes[("PATCH", "/v1/sites/{site_code}")]
    assert "admin" not in routes[("GET", "/v1/sites")]


@pytest.mark.parametrize(("method", "path", "body"), V1_ROUTES)
def test_no_key_is_401_problem(
    client: TestClient, method: str, path: str, body: dict | None
) -> None:
    r = client.request(method, path, json=body)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["status"] == 401
    assert r.json()["instance"] == path


@pytest.mark.parametrize(("method", "path", "body"), V1_ROUTES)
def test_wrong_key_is_401(client: TestClient, method: str, path: str, body: dict | None) -> None:
    r = client.request(method, path, json=body, headers={"X-API-Key": VIEWER_KEY + "x"})
    assert r.status_code == 401
    assert r.json()["detail"] == "invalid API key"


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_viewer_key_on_admin_route_is_403(
    client: TestClient, method: str, path: str, body: dict
) -> None:
    r = client.request(method, path, json=body, headers=VIEWER)
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert "admin" in r.json()["detail"]


def test_health_needs_no_key(client: TestClient) -> None:
    for path in ("/health", "/v1/health"):
        r = client.get(path)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "ok"


def test_bearer_and_admin_keys_are_accepted_for_viewer_routes(client: TestClient) -> None:
    assert (
        client.get("/v1/sites", headers={"Authorization": f"Bearer {VIEWER_KEY}"}).status_code
        == 200
    )
    assert (
        client.get("/v1/sites", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).status_code == 200
    )
    assert client.get("/v1/sites", headers=ADMIN).status_code == 200
    assert (
        client.get("/v1/sites", headers={"Authorization": f"Basic {VIEWER_KEY}"}).status_code == 401
    )


def test_a_key_in_the_url_is_refused_everywhere(client: TestClient) -> None:
    for path in (
        "/v1/sites",
        "/v1/prospects",
        "/map",
        "/map/planning",
        "/health",
        "/signin",
        "/openapi.json",
        "/v1/session",
    ):
        for key in (VIEWER_KEY, ADMIN_KEY, "nope"):
            r = client.get(f"{path}?api_key={key}")
            assert r.status_code == 401, (path, key)
            assert "not accepted in URLs" in r.json()["detail"]
    # even beside a valid header key
    r = client.get(f"/v1/sites?api_key={VIEWER_KEY}", headers={"X-API-Key": VIEWER_KEY})
    assert r.status_code == 401


def test_require_role_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        require_role("superuser")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        require_role(1)  # type: ignore[arg-type]


_SETTINGS = Settings(admin_api_key="adm-key", viewer_api_key="view-key")


@hsettings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=20))
def test_bootstrap_role_only_matches_exact_keys(key: str) -> None:
    expected = {"adm-key": "admin", "view-key": "viewer"}.get(key)
    assert bootstrap_role(_SETTINGS, key) == expected


def test_bootstrap_role_exact() -> None:
    assert bootstrap_role(_SETTINGS, "adm-key") == "admin"
    assert bootstrap_role(_SETTINGS, "view-key") == "viewer"
    assert bootstrap_role(_SETTINGS, "view-key ") is None
