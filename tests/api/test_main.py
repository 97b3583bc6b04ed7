"""The application factory: offline docs, OpenAPI, index, lifespan."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from tests.api.conftest import OSM_FILE, SeededDB
from tests.conftest import schema_head


def test_docs_use_only_bundled_assets(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)""", r.text)
    assert urls and all(u.startswith("/static/") for u in urls), urls
    assert "cdn.jsdelivr" not in r.text and "fastapi.tiangolo.com" not in r.text
    for u in urls:
        assert client.get(u).status_code == 200, u
    assert client.get("/redoc").status_code == 404


def test_openapi_describes_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    info = spec["info"]
    assert info["title"] and info["version"] and "API key" in info["description"]
    paths = spec["paths"]
    for path in (
        "/v1/providers",
        "/v1/sites",
        "/v1/prospects",
        "/v1/prospects/export.csv",
        "/v1/catchments",
        "/v1/sites/{site_code}/catchments",
        "/map",
        "/v1/health",
    ):
        assert path in paths, path
    assert "/docs" not in paths and "/" not in paths
    schemes = spec["components"]["securitySchemes"]
    assert {"ApiKeyHeader", "Bearer", "SessionCookie"} <= set(schemes)
    assert "ApiKeyQuery" not in schemes
    assert spec["components"]["schemas"]["SiteCreate"]["examples"]
    post = paths["/v1/sites"]["post"]
    assert post["requestBody"]["content"]["application/json"]["examples"]
    assert paths["/v1/prospects"]["get"]["responses"]["200"]["content"]["application/json"][
        "example"
    ]
    # errors are documented as problem+json, not as FastAPI's default validation error
    err = paths["/v1/prospects"]["get"]["responses"]["422"]["content"]
    assert list(err) == ["application/problem+json"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert "SessionCookie" in str(paths["/v1/prospects"]["get"]["security"])
    assert "SessionCookie" in str(paths["/map"]["get"]["security"])


def test_index_links(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and 'href="/docs"' in r.text and 'href="/map"' in r.text


def test_factory_refuses_two_different_settings(api_db: SeededDB) -> None:
    with pytest.raises(ValueError, match="differ"):
        create_app(Settings(database_url="sqlite:///elsewhere.sqlite"), context=api_db.ctx)


def test_lifespan_opens_migrates_and_closes_its_own_context(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/own.sqlite",
        osm_file=OSM_FILE,
        cache_dir=tmp_path / "cache",
    )
    app = create_app(settings)
    assert not hasattr(app.state, "context")  # nothing happens before startup
    with TestClient(app) as c:
        body = c.get("/health").json()
        assert body["schema_revision"] == schema_head() and body["providers"] == 0
        assert app.state.context.settings is settings
    assert not hasattr(app.state, "context")
    assert (tmp_path / "own.sqlite").is_file()
