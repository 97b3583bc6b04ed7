"""HTTP tests for issue 6: referral webhook, review queue, alerts, CRM, workflow, exclusions,
segments and their exports, brief — on SQLite and PostGIS."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import date

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from data.models import ReferralEvent
from data.models.prospecting import ReferralReview
from service.prospecting.referrals import compute_referrer_stats
from tests.api.conftest import (
    ADMIN,
    EVIL_NAME,
    INTEGRATION,
    MARKETING,
    VIEWER,
    SeededDB,
    put_status,
)


def valid_npi(db: SeededDB, provider_id: int) -> str:
    """Give a seeded provider an NPI with a valid check digit (the seed's are not) and return it."""
    from core.identifiers import luhn_npi_valid
    from data.models import Provider

    base = f"{1700000000 + provider_id * 10:010d}"[:9]
    npi = next(base + d for d in "0123456789" if luhn_npi_valid(base + d))
    with db.ctx.sessions.begin() as s:
        s.get(Provider, provider_id).npi = npi
    return npi


def _events(db: SeededDB) -> int:
    with db.ctx.sessions() as s:
        return s.scalar(select(func.count()).select_from(ReferralEvent))


def test_webhook_links_by_npi_and_is_idempotent(client: TestClient, api_db: SeededDB) -> None:
    body = {
        "external_id": "W-1",
        "referral_date": "2024-06-01",
        "referrer_npi": valid_npi(api_db, api_db.provider_ids[2]),
        "service_line": "MRI",
        "site_code": "AGS-N",
        "patient_ref": "opaque-17",
    }
    before = _events(api_db)
    r = client.post("/v1/referrals", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    first = r.json()
    assert (
        first["created"]
        and first["link"] == "npi"
        and first["provider_id"] == api_db.provider_ids[2]
    )
    again = client.post("/v1/referrals", json=body, headers=ADMIN)
    assert again.status_code == 200 and again.json() == {**first, "created": False}
    assert _events(api_db) == before + 1
    changed = client.post(
        "/v1/referrals", json={**body, "referral_date": "2024-06-02"}, headers=ADMIN
    )
    assert changed.status_code == 409
    assert _events(api_db) == before + 1


def test_webhook_bad_payloads_store_nothing(client: TestClient, api_db: SeededDB) -> None:
    before = _events(api_db)
    bad = [
        (
            {"external_id": "W-2", "referral_date": "2024-06-01"},
            "give referrer_npi or referrer_name",
        ),
        (
            {"external_id": "W-3", "referral_date": "2024-13-01", "referrer_name": "Dr X"},
            "referral_date",
        ),
        (
            {"external_id": "W-4", "referral_date": "2024-06-01", "referrer_npi": "1000000001"},
            "check digit",
        ),
        (
            {
                "external_id": "W-5",
                "referral_date": "2024-06-01",
                "referrer_name": "Dr X",
                "patient_name": "Jane Roe",
            },
            "patient_name",
        ),
        (
            {"external_id": "", "referral_date": "2024-06-01", "referrer_name": "Dr X"},
            "external_id",
        ),
        ({"external_id": "W-6", "referral_date": "2999-01-01", "referrer_name": "Dr X"}, "future"),
    ]
    for body, needle in bad:
        r = client.post("/v1/referrals", json=body, headers=ADMIN)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert needle in r.text, (needle, r.text)
    assert client.post("/v1/referrals", json=bad[0][0], headers=VIEWER).status_code == 403
    assert _events(api_db) == before


def test_unlinked_name_is_queued_and_resolved(client: TestClient, api_db: SeededDB) -> None:
    body = {"external_id": "W-7", "referral_date": "2024-06-03", "referrer_name": "Dr. Zed Nobody"}
    r = client.post("/v1/referrals", json=body, headers=ADMIN)
    assert r.status_code == 201 and r.json()["link"] == "review" and r.json()["provider_id"] is None
    again = {
        **body,
        "external_id": "W-7b",
        "referrer_name": "DR. ZED NOBODY",
    }  # same text, other case
    assert client.post("/v1/referrals", json=again, headers=ADMIN).json()["link"] == "review"
    queue = client.get("/v1/referrals/review", headers=VIEWER).json()
    item = next(q for q in queue if q["external_id"] == "W-7")
    done = client.post(
        f"/v1/referrals/review/{item['id']}",
        headers=ADMIN,
        json={"provider_id": api_db.provider_ids[4], "resolved_by": "ana"},
    )
    assert done.status_code == 200 and done.json()["status"] == "linked"
    assert done.json()["same_name_linked"] == 1 and done.json()["resolved_at"]
    with api_db.ctx.sessions() as s:
        for ext in ("W-7", "W-7b"):
            ev = s.scalars(select(ReferralEvent).where(ReferralEvent.external_id == ext)).one()
            assert ev.provider_id == api_db.provider_ids[4]
        assert s.get(ReferralReview, item["id"]).resolved_by == "ana"


def test_activity_and_alerts(client: TestClient, api_db: SeededDB) -> None:
    pid = api_db.provider_ids[6]
    ctx = dataclasses.replace(
        api_db.ctx,
        settings=api_db.ctx.settings.model_copy(
            update={"as_of": date(2024, 6, 30), "tier_a_min": 3, "tier_b_min": 2}
        ),
    )
    npi = valid_npi(api_db, pid)
    for i, day in enumerate(["2024-05-02", "2024-05-09", "2024-05-16", "2024-06-16"]):
        r = client.post(
            "/v1/referrals",
            headers=ADMIN,
            json={"external_id": f"A-{i}", "referral_date": day, "referrer_npi": npi},
        )
        assert r.status_code == 201
    report = compute_referrer_stats(ctx)
    assert report.detail["alerts"]["raised"] >= 1
    alerts = client.get("/v1/alerts", params={"provider_id": pid}, headers=VIEWER).json()
    assert [a["rule"] for a in alerts] == ["tier-A-silent-14d"]
    hist = alerts[0]["history"]
    assert hist["last_referral"] == "2024-06-16" and hist["referrals_in_rule_window"] == 0
    assert {"month": "2024-05-01", "referrals": 3} in hist["monthly"]
    compute_referrer_stats(ctx)  # same day: no duplicate alert
    assert len(client.get("/v1/alerts", params={"provider_id": pid}, headers=VIEWER).json()) == 1


def test_interactions_preferences_and_brief(client: TestClient, api_db: SeededDB) -> None:
    pid = api_db.evil_provider_id
    item = {
        "provider_id": pid,
        "kind": "visit",
        "occurred_at": "2024-06-20T10:00:00Z",
        "summary": "<script>x</script> met the office",
        "external_id": "crm-1",
    }
    assert client.post("/v1/interactions", json=item, headers=ADMIN).status_code == 201
    assert client.post("/v1/interactions", json=item, headers=ADMIN).status_code == 200
    assert (
        client.post("/v1/interactions", json={**item, "kind": "fax"}, headers=ADMIN).status_code
        == 422
    )
    assert (
        client.post(
            "/v1/interactions", json={**item, "provider_id": 999999}, headers=ADMIN
        ).status_code
        == 404
    )
    r = client.put(
        f"/v1/providers/{pid}/preferences",
        headers=ADMIN,
        json={"channel": "secure messaging", "report_format": "pdf"},
    )
    assert r.status_code == 200 and r.json()["channel"] == "secure messaging"
    listed = client.get(f"/v1/providers/{pid}/interactions", headers=VIEWER).json()
    assert len(listed) == 1 and listed[0]["kind"] == "visit"
    b = client.get(f"/v1/providers/{pid}/brief", headers=VIEWER).json()
    assert (
        b["preferences"]["report_format"] == "pdf"
        and b["interactions"][0]["liaison"] == "env:admin"
    )
    assert b["provider"]["display_name"] == EVIL_NAME and b["prospects"]
    page = client.get(f"/v1/providers/{pid}/brief.html", headers=VIEWER)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>x" not in page.text and "&lt;script&gt;" in page.text
    assert client.get("/v1/providers/999999/brief", headers=VIEWER).status_code == 404


def _ids(client: TestClient, **params: object) -> set[int]:
    r = client.get("/v1/prospects", params={"limit": 500, **params}, headers=VIEWER)
    assert r.status_code == 200, r.text
    return {p["provider_id"] for p in r.json()["items"]}


def test_workflow_and_exclusions(client: TestClient, api_db: SeededDB) -> None:
    a, b, c = api_db.provider_ids[5], api_db.provider_ids[7], api_db.provider_ids[8]
    assert {a, b, c} <= _ids(client, site="AGS-N")
    r = put_status(client, a, {"status": "contacted", "assigned_to": "Ben"}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["assigned_to"] == "Ben"
    r = put_status(client, a, {"status": "meeting held"}, headers=INTEGRATION)
    hist = r.json()["history"]
    assert [h["status"] for h in hist] == ["contacted", "meeting held"]
    assert [h["changed_by"] for h in hist] == ["env:admin", "Ivo Brandt"]
    assert r.json()["assigned_to"] == "Ben"
    assert _ids(client, assigned_to="Ben") == {a}
    assert put_status(client, a, {"status": "maybe"}, headers=ADMIN).status_code == 422
    put_status(client, b, {"status": "not a fit"}, headers=ADMIN)
    assert b not in _ids(client, site="AGS-N")
    assert _ids(client, status="not a fit") == {b}
    npi_c = client.get(f"/v1/providers/{c}", headers=VIEWER).json()["npi"]
    r = client.post(
        "/v1/exclusions", headers=ADMIN, json={"npi": npi_c, "reason": "do not contact"}
    )
    assert r.status_code == 201
    assert (
        client.post(
            "/v1/exclusions", headers=ADMIN, json={"provider_id": c, "reason": "own physician"}
        ).status_code
        == 409
    )
    assert c not in _ids(client, site="AGS-N")
    exported = client.get("/v1/prospects/export.csv", headers=MARKETING)
    assert exported.status_code == 200
    export = exported.text
    assert npi_c not in export
    # a re-scoring rewrites prospect rows: status lives per provider and survives
    with api_db.ctx.sessions.begin() as s:
        from data.models import Prospect

        row = s.scalars(select(Prospect).where(Prospect.provider_id == a)).first()
        s.delete(row)
        s.flush()
        s.add(
            Prospect(
                site_id=row.site_id,
                provider_id=a,
                profile=row.profile,
                score=row.score,
                segment=row.segment,
                distance_km=row.distance_km,
                components=row.components,
            )
        )
    assert (
        client.get(f"/v1/prospects/{a}/status", headers=VIEWER).json()["status"] == "meeting held"
    )
    listed = client.get("/v1/prospects", params={"assigned_to": "Ben"}, headers=VIEWER).json()[
        "items"
    ]
    assert [(p["status"], p["assigned_to"]) for p in listed] == [("meeting held", "Ben")]
    client.delete(f"/v1/exclusions/{r.json()['id']}", headers=ADMIN)
    assert c in _ids(client, site="AGS-N")


def test_segments_counts_and_exports(client: TestClient, api_db: SeededDB) -> None:
    seg = {
        "name": "GPs near AGS-N",
        "filters": {"site": "AGS-N", "specialty": "Internal Medicine", "max_drive_minutes": 30},
    }
    r = client.put("/v1/segments", json=seg, headers=ADMIN)
    assert r.status_code == 200, r.text
    listed = client.get(
        "/v1/prospects",
        headers=VIEWER,
        params={
            "site": "AGS-N",
            "specialty": "Internal Medicine",
            "max_drive_minutes": 30,
            "limit": 500,
            "count": True,
        },
    ).json()
    assert r.json()["count"] == listed["total"] > 0
    assert (
        client.put("/v1/segments", json={**seg, "filters": {"bogus": 1}}, headers=ADMIN).status_code
        == 422
    )
    names = [s["name"] for s in client.get("/v1/segments", headers=VIEWER).json()]
    assert "GPs near AGS-N" in names

    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get("/v1/segments/GPs near AGS-N/export.csv", headers=MARKETING).text
            )
        )
    )
    assert len(rows) == listed["total"]
    evil = [r for r in rows if int(r["provider_id"]) == api_db.evil_provider_id]
    assert evil and evil[0]["display_name"] == "'" + EVIL_NAME

    x = client.get("/v1/segments/GPs near AGS-N/export.xlsx", headers=MARKETING)
    assert x.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(x.content)).active
    values = list(ws.iter_rows(values_only=True))
    header, data = values[0], values[1:]
    assert len(data) == listed["total"]
    col = {name: i for i, name in enumerate(header)}
    assert all(isinstance(r[col["score"]], int | float) for r in data)  # numbers, not text
    assert all(isinstance(r[col["provider_id"]], int) for r in data)
    assert all(isinstance(r[col["proximity_estimated"]], bool) for r in data)
    names_x = [r[col["display_name"]] for r in data]
    assert "'" + EVIL_NAME in names_x and EVIL_NAME not in names_x
    for row in ws.iter_rows():
        assert all(cell.data_type != "f" for cell in row)

    g = client.get("/v1/segments/GPs near AGS-N/export.geojson", headers=MARKETING)
    fc = json.loads(g.content)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == listed["total"]
    assert all(f["geometry"]["type"] == "Point" for f in fc["features"]), fc["features"][:2]
    assert client.get("/v1/segments/nope/export.csv", headers=MARKETING).status_code == 404
    assert (
        client.get("/v1/segments/GPs near AGS-N/export.pdf", headers=MARKETING).status_code == 422
    )


def test_backtest_endpoint_validates(client: TestClient) -> None:
    """The learned score's backtest (``/v1/scoring/backtests``) replaced ``/v1/backtests``."""
    url = "/v1/scoring/backtests"
    assert client.post(url, json={"service_line": "NOPE"}, headers=MARKETING).status_code == 404
    for bad in ({"service_line": "MRI", "k": 5}, {"service_line": "MRI", "as_of": 20240630}):
        assert client.post(url, json=bad, headers=MARKETING).status_code == 422, bad
    assert (
        client.post("/v1/backtests", json={"site": "AGS-N"}, headers=MARKETING).status_code == 404
    )


def test_worked_prospect_who_starts_referring_moves_to_referring(
    client: TestClient, api_db: SeededDB
) -> None:
    pid = api_db.provider_ids[3]
    assert (
        put_status(client, pid, {"status": "contacted", "assigned_to": "Ana"}, headers=ADMIN)
    ).status_code == 200
    as_of = api_db.ctx.settings.as_of or date.today()
    npi = valid_npi(api_db, pid)
    for i in range(3):
        body = {
            "external_id": f"REF-{pid}-{i}",
            "referral_date": as_of.replace(day=1).isoformat(),
            "referrer_npi": npi,
            "service_line": "MRI",
            "site_code": "AGS-N",
        }
        assert client.post("/v1/referrals", json=body, headers=ADMIN).status_code == 201
    report = compute_referrer_stats(api_db.ctx)
    assert report.detail["prospects_now_referring"] == 1
    status = client.get(f"/v1/prospects/{pid}/status", headers=VIEWER).json()
    assert (status["status"], status["assigned_to"]) == ("referring", "Ana")
    last = status["history"][-1]
    assert (last["previous_status"], last["changed_by"]) == (
        "contacted",
        "system: referral activity",
    )
    assert compute_referrer_stats(api_db.ctx).detail["prospects_now_referring"] == 0  # once only


def test_roles_of_prospecting_routes(client: TestClient, api_db: SeededDB) -> None:
    from tests.api.conftest import ROLE_HEADERS

    seg = {"name": "role check", "filters": {"site": "AGS-N"}}
    assert client.put("/v1/segments", json=seg, headers=VIEWER).status_code == 403
    assert client.put("/v1/segments", json=seg, headers=MARKETING).status_code == 200
    assert client.get("/v1/segments/role check/export.csv", headers=VIEWER).status_code == 403
    assert client.get("/v1/segments/role check/export.csv", headers=MARKETING).status_code == 200
    body = {
        "external_id": "ROLE-1",
        "referral_date": "2024-06-01",
        "referrer_name": "Dr Role Check",
    }
    assert client.post("/v1/referrals", json=body, headers=MARKETING).status_code == 403
    assert (
        client.post("/v1/referrals", json=body, headers=ROLE_HEADERS["integration"]).status_code
        == 201
    )
