"""Background pipeline jobs (admin): start, follow progress, conflicts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from data.models import Job
from service.context import open_context
from service.ingest import ingest_nucc, ingest_records
from service.sites import load_sites
from tests.api.conftest import ADMIN, ADMIN_KEY, OSM_FILE, VIEWER, VIEWER_KEY, SeededDB

DATA = Path(__file__).resolve().parent.parent / "data"
SERVICE_DATA = Path(__file__).resolve().parent.parent / "service" / "data"


@pytest.fixture
def real_client(backend_url, tmp_path):  # noqa: ANN001, ANN201
    """An app over a database loaded from the real NPPES sample (no pipeline run yet)."""
    settings = Settings(database_url=backend_url, admin_api_key=ADMIN_KEY, viewer_api_key=VIEWER_KEY,
                        osm_file=OSM_FILE, cache_dir=tmp_path / "cache")  # fmt: skip
    ctx = open_context(settings)
    ingest_nucc(ctx, DATA / "nucc_taxonomy_220.csv")
    ingest_records(ctx, DATA / "npidata_pfile_sample_first10.csv", source="nppes")
    load_sites(ctx, SERVICE_DATA / "sites_small.csv")
    with TestClient(create_app(context=ctx)) as c:
        yield c
    ctx.close()


def wait(client: TestClient, url: str, *, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(url, headers=ADMIN).json()
        if body["status"] != "running" or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def test_viewer_cannot_start_jobs(client: TestClient) -> None:
    r = client.post("/v1/jobs/pipeline", headers=VIEWER)
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"


def test_pipeline_job_runs_to_done_with_stage_reports(real_client: TestClient) -> None:
    client = real_client
    r = client.post("/v1/jobs/pipeline", headers=ADMIN)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "running"
    url = r.headers["location"]
    assert url == f"/v1/jobs/{r.json()['id']}"
    body = wait(client, url)
    assert body["status"] == "done", body
    assert body["finished_at"] is not None
    stages = [rep["stage"] for rep in body["detail"]["reports"]]
    assert stages == ["link", "geocode", "catchments", "tiers", "score"]
    assert body["stage"] is not None  # progress was recorded on the way


def test_second_job_of_a_kind_conflicts(client: TestClient, api_db: SeededDB) -> None:
    with api_db.ctx.sessions.begin() as s:
        job = Job(kind="pipeline", status="running", done=0)
        s.add(job)
    try:
        r = client.post("/v1/jobs/pipeline", headers=ADMIN)
        assert r.status_code == 409
        assert "already running" in r.json()["detail"]
    finally:
        with api_db.ctx.sessions.begin() as s:
            s.get(Job, job.id).status = "failed"


def test_unknown_job_is_404(client: TestClient) -> None:
    r = client.get("/v1/jobs/999999", headers=ADMIN)
    assert r.status_code == 404
    assert client.get("/v1/jobs/0", headers=ADMIN).status_code == 422


def test_failed_job_reports_the_error_and_its_problems(client: TestClient) -> None:
    # the seeded API database holds hand-made source records lacking link columns
    r = client.post("/v1/jobs/pipeline", headers=ADMIN)
    assert r.status_code == 202
    body = wait(client, r.headers["location"])
    assert body["status"] == "failed"
    assert body["detail"]["error"] == "Matching error"
    assert {p.get("field") for p in body["detail"]["problems"]} >= {"first_name", "last_name"}
