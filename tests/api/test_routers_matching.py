"""Matching over HTTP: explanations, decisions, unmerge, review queue, free text, problems."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.main import create_app
from core.settings import Settings
from data.models import SourceRecord
from service.context import open_context
from service.ingest.ingest import ingest_records
from service.linkage.resolve import resolve_providers
from tests.api.conftest import ADMIN, ADMIN_KEY, OSM_FILE, VIEWER, VIEWER_KEY
from tests.paths import FIXTURES

RPPS = FIXTURES / "enrichment" / "PS_LibreAcces_Personne_activite_sample.txt"
NPPES = FIXTURES / "npidata_pfile_sample_first10_v2024layout.csv"


@pytest.fixture
def linked(backend_url, tmp_path):
    settings = Settings(
        database_url=backend_url,
        admin_api_key=ADMIN_KEY,
        viewer_api_key=VIEWER_KEY,
        osm_file=OSM_FILE,
        cache_dir=tmp_path / "cache",
        max_reject_rate=0.8,
    )
    ctx = open_context(settings)
    ingest_records(ctx, NPPES, source="nppes")
    ingest_records(ctx, RPPS, source="rpps")
    resolve_providers(ctx)
    with ctx.sessions() as s:
        ids = s.scalars(
            select(SourceRecord.id)
            .where(SourceRecord.source_key.like("810000000017:%"))
            .order_by(SourceRecord.id)
        ).all()
        provider = s.get(SourceRecord, ids[0]).provider_id
    with TestClient(create_app(context=ctx)) as c:
        yield c, ids, provider
    ctx.close()


def test_explain_pair_and_merge(linked) -> None:
    client, (a, b), provider = linked
    r = client.get(f"/v1/matching/explain?left={a}&right={b}", headers=VIEWER)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["decision"] == "merge" and body["same_cluster"] is True
    assert sum(s["weight"] for s in body["steps"]) == pytest.approx(body["match_weight"])
    r = client.get(f"/v1/matching/providers/{provider}", headers=VIEWER)
    assert r.status_code == 200 and {m["id"] for m in r.json()["members"]} == {a, b}
    assert client.get("/v1/matching/explain?left=1&right=999999", headers=VIEWER).status_code == 404
    assert client.get("/v1/matching/providers/999999", headers=VIEWER).status_code == 404


def test_decisions_need_admin_and_apply(linked) -> None:
    client, (a, b), _ = linked
    body = {"left_record_id": a, "right_record_id": b, "decision": "reject", "apply": True}
    assert client.post("/v1/matching/decisions", json=body, headers=VIEWER).status_code == 403
    r = client.post("/v1/matching/decisions", json=body, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["link"]["mode"] == "incremental"
    expl = client.get(f"/v1/matching/explain?left={a}&right={b}", headers=VIEWER).json()
    assert expl["same_cluster"] is False and expl["reviewer_decision"] == "reject"
    bad = client.post(
        "/v1/matching/decisions",
        headers=ADMIN,
        json={"left_record_id": a, "right_record_id": a, "decision": "accept"},
    )
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )
    wrong = client.post(
        "/v1/matching/decisions",
        headers=ADMIN,
        json={"left_record_id": a, "right_record_id": b, "decision": "maybe"},
    )
    assert wrong.status_code == 422


def test_unmerge_review_queue_and_free_text(linked) -> None:
    client, (_a, b), _ = linked
    r = client.post(f"/v1/matching/records/{b}/unmerge", json={"apply": True}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["rejected_pairs"] == 1
    again = client.post(f"/v1/matching/records/{b}/unmerge", json={}, headers=ADMIN)
    assert again.status_code == 422  # alone in its golden record now
    page = client.get("/v1/matching/review?limit=5", headers=VIEWER)
    assert page.status_code == 200 and set(page.json()) == {"items", "next_cursor", "total"}
    assert (
        client.post(
            "/v1/matching/review/999999/decision", json={"decision": "accept"}, headers=ADMIN
        ).status_code
        == 404
    )
    r = client.post("/v1/matching/free-text", json={"texts": ["Dr Marie Dupont"]}, headers=VIEWER)
    assert r.status_code == 200
    (match,) = r.json()
    assert match["confidence"] > 0.8 and match["alternatives"]  # two Duponts now: both listed
