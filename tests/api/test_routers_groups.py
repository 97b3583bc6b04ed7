"""Specialty groups: listed, and used to filter prospects."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from data.models import Taxonomy
from service.ingest.ingest import ingest_nucc
from tests.api.conftest import VIEWER, SeededDB
from tests.paths import FIXTURES

NUCC = FIXTURES / "nucc_taxonomy_220.csv"


def test_groups_need_the_nucc_code_set(client: TestClient, api_db: SeededDB) -> None:
    with api_db.ctx.sessions.begin() as s:  # whatever other tests loaded
        s.execute(delete(Taxonomy))
    r = client.get("/v1/prospects", params={"group": "primary care"}, headers=VIEWER)
    assert r.status_code == 422
    assert "load the NUCC code set first" in r.json()["errors"][0]["message"]


@pytest.fixture
def with_nucc(api_db: SeededDB) -> SeededDB:
    ingest_nucc(api_db.ctx, NUCC)
    return api_db


@pytest.mark.usefixtures("with_nucc")
def test_groups_listed_with_their_codes(client: TestClient) -> None:
    groups = {g["name"]: g for g in client.get("/v1/specialty-groups", headers=VIEWER).json()}
    assert "207Q00000X" in groups["primary care"]["codes"]
    assert "207X00000X" in groups["orthopaedics"]["codes"]
    assert groups["orthopaedics"]["nucc_version"] == "22.0"


@pytest.mark.usefixtures("with_nucc")
def test_prospects_filtered_by_group(client: TestClient) -> None:
    everyone = client.get("/v1/prospects", params={"limit": 500}, headers=VIEWER).json()["items"]
    primary = client.get(
        "/v1/prospects", params={"limit": 500, "group": "primary care"}, headers=VIEWER
    ).json()["items"]
    assert primary and len(primary) <= len(everyone)
    assert {p["taxonomy_code"] for p in primary} <= {"207Q00000X", "207R00000X"}
    none = client.get(
        "/v1/prospects", params={"group": "podiatry", "count": True}, headers=VIEWER
    ).json()
    assert none["total"] == 0
    bad = client.get("/v1/prospects", params={"group": "astrology"}, headers=VIEWER)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "group"
    assert "orthopaedics" in bad.json()["errors"][0]["message"]
