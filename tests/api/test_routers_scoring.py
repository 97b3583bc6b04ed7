"""``/v1/scoring``: fitted models listed, fitted, backtested and promoted over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from service.context import open_context
from tests.api.conftest import ADMIN, ADMIN_KEY, BACKENDS, OSM_FILE, VIEWER, VIEWER_KEY
from tests.clinicworld import load_world, small_world
from tests.conftest import database_url


@pytest.fixture(scope="module", params=BACKENDS)
def scoring_client(request, tmp_path_factory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("scoring")
    settings = Settings(
        database_url=database_url(request.param, tmp),
        admin_api_key=ADMIN_KEY,
        viewer_api_key=VIEWER_KEY,
        osm_file=OSM_FILE,
        cache_dir=tmp / "cache",
        scoring_model_dir=tmp / "models",
        as_of=date(2025, 6, 30),
        rate_limit_per_second=1e6,
        rate_limit_burst=10**6,
    )
    ctx = open_context(settings)
    load_world(ctx, small_world(2500))
    try:
        with TestClient(create_app(context=ctx)) as client:
            yield client
    finally:
        ctx.close()


def _job(c: TestClient, started) -> dict:
    """The finished job of a 202 answer (polled through its Location)."""
    assert started.status_code == 202, started.text
    for _ in range(600):
        job = c.get(started.headers["Location"], headers=ADMIN).json()
        if job["status"] != "running":
            return job
        time.sleep(0.1)
    raise AssertionError("the job did not end")


def test_models_are_fitted_listed_and_promoted_over_http(scoring_client: TestClient) -> None:
    c = scoring_client
    assert c.get("/v1/scoring/models", headers=VIEWER).json() == []
    viewer = c.post("/v1/scoring/models", json={"service_line": "MRI"}, headers=VIEWER)
    assert viewer.status_code == 403
    job = _job(c, c.post("/v1/scoring/models", json={"service_line": "MRI"}, headers=ADMIN))
    assert job["status"] == "done", job
    assert job["stage"] == "backtest" and job["done"] == job["total"]
    body = job["detail"]["reports"][0]
    assert body["version"] == 1 and body["train_starts"] >= 30 and body["gate"]["passed"]
    assert {o["order"] for o in body["orders"]} >= {"model", "profile", "distance only"}
    [listed] = c.get("/v1/scoring/models", params={"service_line": "MRI"}, headers=VIEWER).json()
    assert listed["version"] == 1 and listed["active"] is False
    png = c.get("/v1/scoring/models/MRI/1/calibration.png", headers=VIEWER)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    promoted = c.post("/v1/scoring/models/MRI/1/promote", headers=ADMIN)
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["gate"]["ci_low"] > 0
    assert c.get("/v1/scoring/models", headers=VIEWER).json()[0]["active"] is True
    again = c.post("/v1/scoring/models/MRI/1/promote", headers=ADMIN)
    assert again.status_code == 422 and "already served" in again.json()["detail"]


def test_refusals_are_problems(scoring_client: TestClient) -> None:
    c = scoring_client
    outside = _job(
        c,
        c.post(
            "/v1/scoring/models", json={"service_line": "MRI", "as_of": "2019-01-01"}, headers=ADMIN
        ),
    )
    assert outside["status"] == "failed" and "outside the data" in outside["detail"]["detail"]
    assert outside["detail"]["problems"][0]["field"] == "as_of"  # fmt: skip
    other = c.post("/v1/scoring/backtests", json={"service_line": "CT"}, headers=ADMIN)
    assert other.status_code == 404 and "no site offers" in other.json()["detail"]
    assert c.post("/v1/scoring/models/MRI/99/promote", headers=ADMIN).status_code == 404
    assert c.get("/v1/scoring/models/MRI/99/calibration.png", headers=VIEWER).status_code == 404
