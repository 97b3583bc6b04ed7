"""Uploads (admin): a file loads as a background job; size limits give 413 problems."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from service.context import open_context
from tests.api.conftest import ADMIN, ADMIN_KEY, OSM_FILE, VIEWER, VIEWER_KEY
from tests.paths import FIXTURES

DATA = FIXTURES
NPPES = DATA / "npidata_pfile_sample_first10_v2024layout.csv"


@pytest.fixture
def upload_client(backend_url, tmp_path):
    settings = Settings(
        database_url=backend_url,
        admin_api_key=ADMIN_KEY,
        viewer_api_key=VIEWER_KEY,
        osm_file=OSM_FILE,
        cache_dir=tmp_path / "cache",
        max_upload_bytes=40_000,
    )
    ctx = open_context(settings)
    with TestClient(create_app(context=ctx)) as c:
        yield c
    ctx.close()


def wait(client: TestClient, url: str) -> dict:
    for _ in range(300):
        body = client.get(url, headers=ADMIN).json()
        if body["status"] != "running":
            return body
        time.sleep(0.1)
    raise AssertionError("job did not finish")


def test_upload_loads_as_a_job_with_its_batch_report(upload_client: TestClient) -> None:
    c = upload_client
    files = {"file": (NPPES.name, NPPES.read_bytes(), "text/csv")}
    assert c.post("/v1/uploads/nppes", files=files, headers=VIEWER).status_code == 403
    r = c.post("/v1/uploads/nppes", files=files, headers=ADMIN)
    assert r.status_code == 202, r.text
    body = wait(c, r.headers["location"])
    assert body["status"] == "done", body
    (report,) = body["detail"]["reports"]
    assert (
        report["file_name"] == NPPES.name and report["inserted"] == 10 and report["rejected"] == 0
    )
    assert c.get("/v1/health", headers=VIEWER).status_code == 200
    # the same file again changes nothing
    again = wait(c, c.post("/v1/uploads/nppes", files=files, headers=ADMIN).headers["location"])
    assert again["detail"]["reports"][0]["unchanged"] == 10


def test_bad_upload_ends_as_a_failed_job_naming_the_file(upload_client: TestClient) -> None:
    bad = b'"NPI","Nonsense"\n"1234567893","x"\n'
    r = upload_client.post("/v1/uploads/nppes", files={"file": ("weird.csv", bad)}, headers=ADMIN)
    body = wait(upload_client, r.headers["location"])
    assert body["status"] == "failed" and body["detail"]["error"] == "Unrecognised file layout"
    assert any(p.get("file") == "weird.csv" for p in body["detail"]["problems"])


def test_oversized_upload_is_413_problem(upload_client: TestClient) -> None:
    big = b"x" * 200_000
    r = upload_client.post("/v1/uploads/nppes", files={"file": ("big.csv", big)}, headers=ADMIN)
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 413


def test_unknown_kind_is_422(upload_client: TestClient) -> None:
    r = upload_client.post("/v1/uploads/horoscope", files={"file": ("a.csv", b"x")}, headers=ADMIN)
    assert r.status_code == 422


def test_upload_over_the_limit_within_the_framing_margin_is_413_too(
    upload_client: TestClient, tmp_path
) -> None:
    r = upload_client.post(
        "/v1/uploads/nppes", files={"file": ("mid.csv", b"y" * 50_000)}, headers=ADMIN
    )
    assert r.status_code == 413 and r.json()["errors"][0]["file"] == "mid.csv"
    assert not list((tmp_path / "uploads").glob("*/*"))  # the partial file is gone


def test_interactions_upload_takes_a_mapping_and_reports_ignored_columns(
    upload_client: TestClient,
) -> None:
    from tests.service.test_clinic_files import add_providers

    c = upload_client
    (_, npi1), (p2, _) = add_providers(c.app.state.context)
    body = (
        "Visit day,NPI,provider_id,Type,Rep,Comments,Region\n"
        f"2024-06-03,{npi1},,visit,Ana,hello,North\n"
        f"2024-06-04,,{p2},email,Ben,,South\n"
    ).encode()
    form = {
        "mapping": json.dumps({"columns": {"occurred_at": "Visit day"}}),
        "column": ["liaison=Rep"],
    }
    r = c.post(
        "/v1/uploads/interactions",
        files={"file": ("crm.csv", body, "text/csv")},
        data=form,
        headers=ADMIN,
    )
    assert r.status_code == 202, r.text
    done = wait(c, r.headers["location"])
    assert done["status"] == "done", done
    (report,) = done["detail"]["reports"]
    assert (report["source"], report["inserted"], report["rejected"]) == ("interactions", 2, 0)
    assert [(w["code"], w["columns"]) for w in report["warnings"]] == [
        ("columns_ignored", ["Region"])
    ]
    interactions = c.get(f"/v1/providers/{p2}/interactions", headers=VIEWER).json()
    assert [(i["kind"], i["liaison"]) for i in interactions] == [("email", "Ben")]
    again = c.post(
        "/v1/uploads/interactions",
        files={"file": ("crm.csv", body, "text/csv")},
        data=form,
        headers=ADMIN,
    )
    report = wait(c, again.headers["location"])["detail"]["reports"][0]
    assert (report["inserted"], report["unchanged"]) == (0, 2)


def test_an_upload_mapping_that_cannot_apply_is_a_422_before_any_load(
    upload_client: TestClient, tmp_path
) -> None:
    c = upload_client
    sites = b"Site ID,name,service_line,lat,lon\nTX1,Clinic,MRI,29.5,-95.6\n"
    unknown = c.post(
        "/v1/uploads/sites",
        files={"file": ("sites.csv", sites)},
        data={"column": ["colour=Site ID"]},
        headers=ADMIN,
    )
    assert unknown.status_code == 422, unknown.text
    assert "site_code, name, service_line" in unknown.json()["errors"][0]["message"]
    for kind, form in (
        ("nppes", {"column": ["npi=NPI"]}),
        ("sites", {"mapping": "not json"}),
        ("sites", {"column": ["site_code"]}),
    ):
        r = c.post(
            f"/v1/uploads/{kind}", files={"file": ("f.csv", sites)}, data=form, headers=ADMIN
        )
        assert r.status_code == 422, (kind, form, r.text)
    assert not list((tmp_path / "uploads").glob("*/*"))  # nothing saved, nothing loading
    mapped = c.post(
        "/v1/uploads/sites",
        files={"file": ("sites.csv", sites)},
        data={"mapping": json.dumps({"columns": {"site_code": "Site ID"}})},
        headers=ADMIN,
    )
    report = wait(c, mapped.headers["location"])["detail"]["reports"][0]
    assert (report["source"], report["inserted"], report["warnings"]) == ("sites", 1, [])


def test_a_competitor_list_uploads_with_a_mapping_and_replaces_the_list(
    upload_client: TestClient,
) -> None:
    c = upload_client
    first = b"Centre,service_line,lat,lon\nDowntown Imaging,MRI,39.962,-83.001\nOpen MRI,,40.06,-82.87\n"
    second = b"Centre,service_line,lat,lon\nOpen MRI,,40.06,-82.87\n"
    reports = []
    for body in (first, second):
        files = {"file": ("competitors.csv", body, "text/csv")}
        form = {"column": ["name=Centre"]}
        assert c.post("/v1/uploads/competitors", files=files, data=form,
                      headers=VIEWER).status_code == 403  # fmt: skip
        r = c.post("/v1/uploads/competitors", files=files, data=form, headers=ADMIN)
        assert r.status_code == 202, r.text
        job = wait(c, r.headers["location"])
        assert job["status"] == "done", job
        reports.append(job["detail"]["reports"][0])
    assert (reports[0]["source"], reports[0]["inserted"], reports[0]["warnings"]) == (
        "competitors",
        2,
        [],
    )
    assert (reports[1]["unchanged"], reports[1]["warnings"][0]["code"]) == (1, "rows_removed")
    unknown = c.post(
        "/v1/uploads/competitors",
        files={"file": ("competitors.csv", first)},
        data={"column": ["colour=Centre"]},
        headers=ADMIN,
    )
    assert unknown.status_code == 422 and "code, name, service_line" in unknown.text


def test_an_upload_names_its_encoding_or_has_it_detected(upload_client: TestClient) -> None:
    c = upload_client
    utf16 = (FIXTURES / "faulty" / "nppes_utf16.csv").read_bytes()
    files = {"file": ("utf16.csv", utf16, "text/csv")}
    detected = wait(c, c.post("/v1/uploads/nppes", files=files, headers=ADMIN).headers["location"])
    assert detected["status"] == "done", detected
    (report,) = detected["detail"]["reports"]
    assert report["inserted"] == 4 and [w["code"] for w in report["warnings"]] == [
        "encoding_detected"
    ]
    named = c.post("/v1/uploads/nppes", files=files, data={"encoding": "UTF-16"}, headers=ADMIN)
    body = wait(c, named.headers["location"])
    assert body["detail"]["reports"][0]["unchanged"] == 4
    assert body["detail"]["reports"][0]["warnings"] == []
    unknown = c.post("/v1/uploads/nppes", files=files, data={"encoding": "klingon"}, headers=ADMIN)
    assert unknown.status_code == 422
    assert [p["field"] for p in unknown.json()["errors"]] == ["body.encoding"]
