"""Background pipeline jobs (admin): start, follow progress, conflicts."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from data.models import Job
from service.context import open_context
from service.ingest.ingest import ingest_nucc, ingest_records
from service.ingest.sites import load_sites
from tests.api.conftest import ADMIN, ADMIN_KEY, OSM_FILE, VIEWER, VIEWER_KEY, SeededDB
from tests.paths import FIXTURES
from tests.service.owners import lease_expired, start_job_owner, wait_stopped, wait_until

DATA = FIXTURES
SERVICE_DATA = FIXTURES / "service"


@pytest.fixture
def real_client(backend_url, tmp_path):
    """An app over a database loaded from the real NPPES sample (no pipeline run yet)."""
    settings = Settings(
        database_url=backend_url,
        admin_api_key=ADMIN_KEY,
        viewer_api_key=VIEWER_KEY,
        osm_file=OSM_FILE,
        cache_dir=tmp_path / "cache",
    )
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
    assert "eta_seconds" in body and body["eta_seconds"] is None  # ended: nothing left
    link = {rep["stage"]: rep["detail"] for rep in body["detail"]["reports"]}["link"]
    assert link["mode"] == "full"  # the first link: no stored model
    for query, mode in (("", "incremental"), ("?full_link=true", "full")):
        r = client.post(f"/v1/jobs/pipeline{query}", headers=ADMIN)
        body = wait(client, r.headers["location"])
        link = {rep["stage"]: rep["detail"] for rep in body["detail"]["reports"]}["link"]
        assert link["mode"] == mode, query


def test_a_running_jobs_eta_follows_its_stage_rate(
    client: TestClient, api_db: SeededDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from core.progress import Rate
    from service import jobs

    ticks = iter(range(0, 1000, 10))  # the job's clock: 10 s between updates, whatever the machine
    monkeypatch.setattr(jobs, "Rate", lambda: Rate(clock=lambda: float(next(ticks))))
    reported, release = threading.Event(), threading.Event()

    def fn(ctx, progress):
        progress("geocode", 0, 100)
        progress("geocode", 25, 100)  # 25 in 10 s: 75 left take 30 s
        reported.set()
        release.wait(60)
        return []

    job = jobs.start_job(api_db.ctx, "eta-test", fn)
    try:
        assert reported.wait(60)
        body = client.get(f"/v1/jobs/{job.id}", headers=ADMIN).json()
        assert (body["stage"], body["done"], body["total"]) == ("geocode", 25, 100)
        assert body["eta_seconds"] == 30.0
    finally:
        release.set()
    assert wait(client, f"/v1/jobs/{job.id}")["eta_seconds"] is None


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


def _job_at_a_server_start(settings: Settings, job_id: int) -> dict:
    """The job as ``GET /v1/jobs/{id}`` shows it right after a server (its lifespan) started."""
    with TestClient(create_app(settings)) as c:
        r = c.get(f"/v1/jobs/{job_id}", headers=ADMIN)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def job_settings(backend_url, tmp_path) -> Settings:
    settings = Settings(
        database_url=backend_url,
        admin_api_key=ADMIN_KEY,
        viewer_api_key=VIEWER_KEY,
        osm_file=OSM_FILE,
        cache_dir=tmp_path / "cache",
    )
    open_context(settings).close()  # migrated before the job's owner starts
    return settings


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process states from /proc")
@pytest.mark.slow
def test_a_killed_processs_job_reads_interrupted_after_a_server_start(
    job_settings: Settings,
) -> None:
    owner, job_id = start_job_owner(job_settings.database_url)  # another process, lease 1 s
    owner.kill()  # SIGKILL: its job can record nothing
    owner.wait()
    seen: list[dict] = []
    wait_until(
        lambda: (
            seen.append(_job_at_a_server_start(job_settings, job_id))
            or seen[-1]["status"] != "running"
        ),
        what="the job's end",
    )
    assert seen[-1]["status"] == "interrupted", seen[-1]
    assert seen[-1]["detail"]["error"] == "Interrupted" and seen[-1]["finished_at"] is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process states from /proc")
@pytest.mark.slow
def test_a_server_start_leaves_a_live_processs_job_running(job_settings: Settings) -> None:
    owner, job_id = start_job_owner(job_settings.database_url)
    try:
        os.kill(owner.pid, signal.SIGSTOP)  # alive, but renewing nothing: its lease expires
        wait_stopped(owner)
        reader = open_context(job_settings, migrate=False)
        try:
            wait_until(lambda: lease_expired(reader, Job, job_id), what="the lease's expiry")
        finally:
            reader.close()
        assert _job_at_a_server_start(job_settings, job_id)["status"] == "running"
        os.kill(owner.pid, signal.SIGCONT)
        owner.stdin.close()
        assert owner.wait(timeout=120) == 0
        assert _job_at_a_server_start(job_settings, job_id)["status"] == "done"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


def test_pipeline_job_takes_a_scope(real_client: TestClient) -> None:
    client = real_client
    bad = client.post("/v1/jobs/pipeline", headers=ADMIN, json={"states": ["OH", "XX"]})
    assert bad.status_code == 422 and "XX" in bad.text
    bad = client.post("/v1/jobs/pipeline", headers=ADMIN, json={"within_minutes": 0})
    assert bad.status_code == 422 and "within_minutes" in bad.text
    r = client.post("/v1/jobs/pipeline", headers=ADMIN, json={"states": ["OH"]})
    assert r.status_code == 202, r.text
    body = wait(client, r.headers["location"])
    assert body["status"] == "done", body
    geocoded = {rep["stage"]: rep["detail"] for rep in body["detail"]["reports"]}["geocode"]
    assert geocoded["providers"] == 1  # the one Ohio record of the sample
