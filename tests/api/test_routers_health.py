"""Health endpoints."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import SeededDB
from tests.conftest import schema_head


def test_health_reports_database_revision_and_counts(client: TestClient, api_db: SeededDB) -> None:
    for path in ("/health", "/v1/health"):
        body = client.get(path).json()
        assert body["status"] == "ok"
        assert body["database"] == ("sqlite" if api_db.backend == "sqlite" else "postgresql")
        assert body["schema_revision"] == schema_head()
        assert body["providers"] == 16
        assert body["sites"] >= 2
        assert body["as_of"] == "2024-06-30"


def test_health_is_503_when_the_database_is_gone(tmp_path: Path) -> None:
    from api.main import create_app
    from core.settings import Settings
    from service.context import open_context

    # a directory is not a database file: every query fails
    ctx = open_context(
        Settings(database_url=f"sqlite:///{tmp_path}", recover_interrupted_jobs=False),
        migrate=False,
    )
    try:
        r = TestClient(create_app(context=ctx)).get("/health")
    finally:
        ctx.close()
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert "unreachable" in r.json()["detail"]


def test_counts_are_cached_but_the_database_is_asked_every_time(
    api_db: SeededDB, monkeypatch
) -> None:
    import time

    from api.main import create_app
    from api.routers import health as health_module
    from tests.api.conftest import ADMIN

    app = create_app(context=api_db.ctx)
    with TestClient(app) as c:
        before = c.get("/health").json()["sites"]
        site = {
            "site_code": "HEALTH-1",
            "name": "Probe",
            "service_line": "MRI",
            "lat": 21.87,
            "lon": -102.26,
        }
        assert c.post("/v1/sites", json=site, headers=ADMIN).status_code == 201
        assert (
            c.get("/health").json()["sites"] == before
        )  # a probe every few seconds recounts nothing
        later = time.monotonic() + health_module.COUNTS_TTL_S + 1
        monkeypatch.setattr(health_module.time, "monotonic", lambda: later)
        assert c.get("/health").json()["sites"] == before + 1  # at most COUNTS_TTL_S old


def test_a_database_that_does_not_answer_is_503_not_a_hang(api_db: SeededDB, monkeypatch) -> None:
    import threading

    from api.main import create_app
    from api.routers import health as health_module

    stuck = threading.Event()
    monkeypatch.setattr(health_module, "CHECK_TIMEOUT_S", 0.2)
    monkeypatch.setattr(
        health_module, "_check", lambda ctx, counts: stuck.wait(60)
    )  # a dead network path
    try:
        r = TestClient(create_app(context=api_db.ctx)).get("/health")
    finally:
        stuck.set()
    assert r.status_code == 503 and "unreachable" in r.json()["detail"]
