"""The liaison role over HTTP: every route's allow/deny, claims, attribution, audit, visit outcomes.

Keys belong to named people: ``LIAISON`` is Lia Moreno's (tests/api/conftest.py), and a
second liaison's key is made here. Both backends (the ``api_db`` fixture).
"""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from api.audit import flush_audit
from core.errors import PreconditionFailedError
from data.models import Prospect
from data.models.security import AuditEntry
from service.prospecting.outcome import OUTCOME_STATUS
from service.prospecting.schemas import StatusUpdate
from service.prospecting.workflow import get_status, set_status
from service.security.keys import authenticate, create_key
from tests.api.conftest import (
    ADMIN,
    INTEGRATION,
    LIAISON,
    LIAISON_PERSON,
    MARKETING,
    VIEWER,
    SeededDB,
    put_status,
    signed_in,
)

ROLES = ("viewer", "liaison", "marketing")
HEADERS = {"viewer": VIEWER, "liaison": LIAISON, "marketing": MARKETING}

#: Every operation of the OpenAPI document: (viewer, liaison, marketing) allowed or denied.
EXPECTED: dict[tuple[str, str], tuple[str, str, str]] = {
    ("GET", "/v1/health"): ("allow", "allow", "allow"),
    ("GET", "/v1/session"): ("allow", "allow", "allow"),
    ("POST", "/v1/session"): ("allow", "allow", "allow"),
    ("DELETE", "/v1/session"): ("allow", "allow", "allow"),
    ("POST", "/v1/session/link"): ("allow", "allow", "allow"),
    ("GET", "/v1/providers"): ("allow", "allow", "allow"),
    ("GET", "/v1/providers/{provider_id}"): ("allow", "allow", "allow"),
    ("PATCH", "/v1/providers/{provider_id}"): ("deny", "deny", "deny"),
    ("GET", "/v1/sites"): ("allow", "allow", "allow"),
    ("POST", "/v1/sites"): ("deny", "deny", "deny"),
    ("PATCH", "/v1/sites/{site_code}"): ("deny", "deny", "deny"),
    ("GET", "/v1/catchments"): ("allow", "allow", "allow"),
    ("GET", "/v1/sites/{site_code}/catchments"): ("allow", "allow", "allow"),
    ("GET", "/v1/prospects"): ("allow", "allow", "allow"),
    ("GET", "/v1/prospects/export.csv"): ("deny", "deny", "allow"),
    ("POST", "/v1/jobs/pipeline"): ("deny", "deny", "deny"),
    ("GET", "/v1/jobs/{job_id}"): ("deny", "deny", "deny"),
    ("GET", "/v1/specialty-groups"): ("allow", "allow", "allow"),
    ("POST", "/v1/uploads/{kind}"): ("deny", "deny", "deny"),
    ("GET", "/v1/isochrones"): ("allow", "allow", "allow"),
    ("GET", "/v1/sites/{site_code}/isochrones"): ("allow", "allow", "allow"),
    ("GET", "/v1/assignment/cells"): ("allow", "allow", "allow"),
    ("GET", "/v1/assignment/providers"): ("allow", "allow", "allow"),
    ("GET", "/v1/overlap"): ("allow", "allow", "allow"),
    ("GET", "/v1/territory-plans"): ("allow", "allow", "allow"),
    ("POST", "/v1/territory-plans"): ("deny", "deny", "deny"),
    ("GET", "/v1/territory-plans/{name}"): ("allow", "allow", "allow"),
    ("GET", "/v1/territory-plans/{name}/geojson"): ("allow", "allow", "allow"),
    ("GET", "/v1/expansion/scenarios"): ("allow", "allow", "allow"),
    ("POST", "/v1/expansion/scenarios"): ("deny", "deny", "deny"),
    ("GET", "/v1/expansion/scenarios/{name}"): ("allow", "allow", "allow"),
    ("GET", "/v1/expansion/compare"): ("allow", "allow", "allow"),
    ("GET", "/v1/expansion/compare.csv"): ("deny", "deny", "allow"),
    ("GET", "/v1/matching/review"): ("allow", "allow", "allow"),
    ("POST", "/v1/matching/review/{review_id}/decision"): ("deny", "deny", "deny"),
    ("POST", "/v1/matching/decisions"): ("deny", "deny", "deny"),
    ("POST", "/v1/matching/records/{record_id}/unmerge"): ("deny", "deny", "deny"),
    ("GET", "/v1/matching/explain"): ("allow", "allow", "allow"),
    ("GET", "/v1/matching/providers/{provider_id}"): ("allow", "allow", "allow"),
    ("POST", "/v1/matching/free-text"): ("allow", "allow", "allow"),
    ("POST", "/v1/referrals"): ("deny", "deny", "deny"),
    ("GET", "/v1/referrals/review"): ("allow", "allow", "allow"),
    ("POST", "/v1/referrals/review/{review_id}"): ("deny", "deny", "deny"),
    ("GET", "/v1/referrers/{provider_id}/activity"): ("allow", "allow", "allow"),
    ("GET", "/v1/alerts"): ("allow", "allow", "allow"),
    ("POST", "/v1/interactions"): ("deny", "allow", "allow"),
    ("GET", "/v1/providers/{provider_id}/interactions"): ("allow", "allow", "allow"),
    ("PUT", "/v1/providers/{provider_id}/preferences"): ("deny", "deny", "deny"),
    ("GET", "/v1/providers/{provider_id}/preferences"): ("allow", "allow", "allow"),
    ("GET", "/v1/providers/{provider_id}/brief"): ("allow", "allow", "allow"),
    ("GET", "/v1/providers/{provider_id}/brief.html"): ("allow", "allow", "allow"),
    ("GET", "/v1/prospects/{provider_id}/status"): ("allow", "allow", "allow"),
    ("PUT", "/v1/prospects/{provider_id}/status"): ("deny", "allow", "allow"),
    ("POST", "/v1/prospects/{provider_id}/visit-outcome"): ("deny", "allow", "allow"),
    ("GET", "/v1/exclusions"): ("allow", "allow", "allow"),
    ("POST", "/v1/exclusions"): ("deny", "deny", "deny"),
    ("DELETE", "/v1/exclusions/{exclusion_id}"): ("deny", "deny", "deny"),
    ("GET", "/v1/segments"): ("allow", "allow", "allow"),
    ("PUT", "/v1/segments"): ("deny", "deny", "allow"),
    ("DELETE", "/v1/segments/{name}"): ("deny", "deny", "allow"),
    ("GET", "/v1/segments/{name}/export.{fmt}"): ("deny", "deny", "allow"),
    ("GET", "/v1/scoring/models"): ("allow", "allow", "allow"),
    ("POST", "/v1/scoring/models"): ("deny", "deny", "deny"),
    ("POST", "/v1/scoring/backtests"): ("deny", "deny", "allow"),
    ("POST", "/v1/scoring/models/{service_line}/{version}/promote"): ("deny", "deny", "deny"),
    ("GET", "/v1/scoring/models/{service_line}/{version}/calibration.png"): (
        "allow",
        "allow",
        "allow",
    ),
    ("POST", "/v1/keys"): ("deny", "deny", "deny"),
    ("GET", "/v1/keys"): ("deny", "deny", "deny"),
    ("DELETE", "/v1/keys/{key_id}"): ("deny", "deny", "deny"),
    ("GET", "/v1/audit"): ("deny", "deny", "deny"),
    ("POST", "/v1/privacy/objections/{provider_id}"): ("deny", "deny", "deny"),
    ("GET", "/v1/privacy/objections"): ("deny", "deny", "deny"),
    ("POST", "/v1/privacy/erasures/{provider_id}"): ("deny", "deny", "deny"),
    ("GET", "/v1/fhir/export.ndjson"): ("deny", "deny", "allow"),
    ("GET", "/v1/fhir/{resource_type}/{resource_id}"): ("allow", "allow", "allow"),
    ("GET", "/v1/webhooks"): ("deny", "deny", "deny"),
    ("POST", "/v1/webhooks"): ("deny", "deny", "deny"),
    ("DELETE", "/v1/webhooks/{subscription_id}"): ("deny", "deny", "deny"),
    ("GET", "/v1/webhooks/deliveries"): ("deny", "deny", "deny"),
    ("POST", "/v1/webhooks/dispatch"): ("deny", "deny", "deny"),
    ("GET", "/map"): ("allow", "allow", "allow"),
    ("GET", "/app"): ("allow", "allow", "allow"),
    ("GET", "/v1/prospects/viewport"): ("allow", "allow", "allow"),
    ("GET", "/v1/map/roads"): ("allow", "allow", "allow"),
    ("GET", "/map/planning"): ("allow", "allow", "allow"),
    # visit days: a liaison's own (marketing inherits the liaison's rights)
    ("GET", "/v1/visit-lists"): ("deny", "allow", "allow"),
    ("GET", "/v1/visit-lists/{day}"): ("deny", "allow", "allow"),
    ("PUT", "/v1/visit-lists/{day}"): ("deny", "allow", "allow"),
    ("DELETE", "/v1/visit-lists/{day}"): ("deny", "allow", "allow"),
    ("PUT", "/v1/visit-lists/{day}/stops/{provider_id}"): ("deny", "allow", "allow"),
    ("DELETE", "/v1/visit-lists/{day}/stops/{provider_id}"): ("deny", "allow", "allow"),
    ("GET", "/v1/visit-lists/{day}/route"): ("deny", "allow", "allow"),
    ("GET", "/v1/visit-lists/{day}/route.geojson"): ("deny", "allow", "allow"),
    ("GET", "/v1/visit-lists/{day}/export.csv"): ("deny", "allow", "allow"),
    ("GET", "/v1/visit-lists/{day}/export.ics"): ("deny", "allow", "allow"),
    ("GET", "/v1/visit-lists/{day}/sheet.html"): ("deny", "allow", "allow"),
}


def test_the_table_lists_every_route_of_the_openapi_document(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    listed = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert listed == set(EXPECTED), {
        "missing from the table": sorted(listed - set(EXPECTED)),
        "no longer served": sorted(set(EXPECTED) - listed),
    }


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED))
def test_viewer_liaison_marketing_on_every_route(
    client: TestClient, method: str, path: str
) -> None:
    import re

    url = re.sub(r"\{[^}]+\}", "1", path)
    for role, expected in zip(ROLES, EXPECTED[(method, path)], strict=True):
        r = client.request(method, url, headers=HEADERS[role])
        if expected == "deny":
            assert r.status_code == 403, (role, method, url, r.status_code, r.text[:200])
            assert r.json()["title"] == "Forbidden"
        else:
            assert r.status_code not in (401, 403), (role, method, url, r.status_code, r.text[:200])


def _second_liaison(api_db: SeededDB) -> dict[str, str]:
    made = create_key(api_db.ctx, name="Noor's tablet", person="Noor Haddad", role="liaison")
    return {"X-API-Key": made.key}


def _tag(client: TestClient, pid: int) -> str:
    r = client.get(f"/v1/prospects/{pid}/status", headers=VIEWER)
    assert r.status_code == 200 and r.headers["ETag"] == r.json()["etag"]
    return r.headers["ETag"]


def test_two_liaisons_claim_the_same_prospect_the_second_gets_412(
    client: TestClient, api_db: SeededDB
) -> None:
    pid = api_db.provider_ids[4]
    noor = _second_liaison(api_db)
    tag = _tag(client, pid)  # both read the unassigned prospect
    url = f"/v1/prospects/{pid}/status"
    first = client.put(url, json={"status": "contacted"}, headers={**LIAISON, "If-Match": tag})
    assert first.status_code == 200, first.text
    assert first.json()["assigned_to"] == LIAISON_PERSON  # a status on an unassigned one claims it
    assert first.headers["ETag"] == first.json()["etag"] != tag
    late = client.put(url, json={"status": "contacted"}, headers={**noor, "If-Match": tag})
    assert late.status_code == 412, late.text
    assert late.headers["content-type"] == "application/problem+json"
    # read again: it is Lia's now, so Noor may not work it
    fresh = client.put(
        url, json={"status": "not a fit"}, headers={**noor, "If-Match": _tag(client, pid)}
    )
    assert fresh.status_code == 403 and LIAISON_PERSON in fresh.json()["detail"]
    assert client.put(url, json={"status": "contacted"}, headers=LIAISON).status_code == 428
    assert (
        client.put(
            url, json={"status": "contacted"}, headers={**LIAISON, "If-Match": 'W/"x"'}
        ).status_code
        == 412
    )
    # a liaison cannot hand a prospect to someone else; the integration role can
    r = put_status(client, pid, {"assigned_to": "Noor Haddad"}, headers=LIAISON)
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "assigned_to"
    r = put_status(client, pid, {"assigned_to": "Noor Haddad"}, headers=INTEGRATION)
    assert r.status_code == 200 and r.json()["assigned_to"] == "Noor Haddad"
    assert put_status(client, pid, {"status": "meeting held"}, headers=noor).status_code == 200
    assert put_status(client, pid, {"status": "contacted"}, headers=LIAISON).status_code == 403
    # the owner releases it; then anyone may claim it
    assert put_status(client, pid, {"assigned_to": ""}, headers=noor).json()["assigned_to"] is None
    assert (
        put_status(client, pid, {"status": "contacted"}, headers=LIAISON).json()["assigned_to"]
        == LIAISON_PERSON
    )


def test_concurrent_claims_one_wins_the_rest_get_412(api_db: SeededDB) -> None:
    """Four liaisons at once, each with the ETag they read: exactly one change is stored."""
    pid = api_db.provider_ids[6]
    callers = [
        authenticate(
            api_db.ctx,
            create_key(api_db.ctx, name=f"race {i}", person=f"Racer {i}", role="liaison").key,
        )
        for i in range(4)
    ]
    tag = get_status(api_db.ctx, pid).etag
    barrier = threading.Barrier(len(callers))
    outcomes: list[object] = []

    def claim(caller) -> None:
        barrier.wait()
        try:
            done = set_status(
                api_db.ctx, pid, StatusUpdate(status="contacted"), caller=caller, if_match=tag
            )
            outcomes.append(done.assigned_to)
        except PreconditionFailedError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=claim, args=(c,)) for c in callers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if isinstance(o, str)]
    assert len(winners) == 1 and len(outcomes) == 4, outcomes
    status = get_status(api_db.ctx, pid)
    assert status.assigned_to == winners[0] and len(status.history) == 1


def test_changes_are_attributed_from_the_caller_never_from_the_body(
    client: TestClient, api_db: SeededDB
) -> None:
    pid = api_db.provider_ids[7]
    tag = _tag(client, pid)
    url = f"/v1/prospects/{pid}/status"
    for field in ("changed_by", "updated_by"):
        r = client.put(
            url,
            json={"status": "contacted", field: "Someone Else"},
            headers={**LIAISON, "If-Match": tag},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == f"body.{field}"
    visit = {"provider_id": pid, "kind": "visit", "occurred_at": "2026-12-01T10:00:00Z"}
    r = client.post("/v1/interactions", json={**visit, "liaison": "Someone Else"}, headers=LIAISON)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.liaison"
    # through a browser session made with Lia's key, the change is hers
    browser = signed_in(client.app, LIAISON)
    assert browser.get("/v1/session").json()["person"] == LIAISON_PERSON
    r = browser.put(url, json={"status": "contacted"}, headers={"If-Match": tag})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (
        body["updated_by"] == LIAISON_PERSON and body["history"][-1]["changed_by"] == LIAISON_PERSON
    )
    r = browser.post("/v1/interactions", json={**visit, "summary": "dropped by"})
    assert r.status_code == 201 and r.json()["liaison"] == LIAISON_PERSON
    # someone else's prospect: no interaction for another liaison
    noor = _second_liaison(api_db)
    assert client.post("/v1/interactions", json=visit, headers=noor).status_code == 403
    assert client.post("/v1/interactions", json=visit, headers=VIEWER).status_code == 403


def test_every_write_is_audited_with_the_person(client: TestClient, api_db: SeededDB) -> None:
    pid = api_db.provider_ids[8]
    r = put_status(client, pid, {"status": "contacted", "note": "first call"}, headers=LIAISON)
    assert r.status_code == 200
    refused = client.put(
        f"/v1/prospects/{pid}/status", json={"status": "contacted"}, headers=VIEWER
    )
    assert refused.status_code == 403
    flush_audit(client.app.state)
    with api_db.ctx.sessions() as s:
        rows = list(
            s.scalars(
                select(AuditEntry)
                .where(AuditEntry.path == f"/v1/prospects/{pid}/status", AuditEntry.method == "PUT")
                .order_by(AuditEntry.id)
            )
        )
    change = [e for e in rows if e.action == "change"]
    assert len(change) == 1 and change[0].person == LIAISON_PERSON and change[0].role == "liaison"
    assert change[0].records["provider_id"] == pid and change[0].records["status"] == "contacted"
    assert change[0].records["assigned_to"] == LIAISON_PERSON
    assert [e.action for e in rows if e.role == "viewer"] == ["denied"]
    listed = client.get("/v1/audit", params={"person": LIAISON_PERSON}, headers=ADMIN).json()
    assert listed["items"] and {e["person"] for e in listed["items"]} == {LIAISON_PERSON}


def _prospect_scores(api_db: SeededDB, pid: int) -> dict[int, float]:
    with api_db.ctx.sessions() as s:
        return {
            p.site_id: p.score
            for p in s.scalars(select(Prospect).where(Prospect.provider_id == pid))
        }


def test_visit_outcome_logs_moves_the_status_and_rescores(
    client: TestClient, api_db: SeededDB
) -> None:
    pid = api_db.provider_ids[2]
    url = f"/v1/prospects/{pid}/visit-outcome"
    before = _prospect_scores(api_db, pid)
    assert client.post(url, json={"outcome": "held"}, headers=LIAISON).status_code == 428
    assert (
        client.post(url, json={"outcome": "held"}, headers={**VIEWER, "If-Match": "*"}).status_code
        == 403
    )
    bad = client.post(
        url, json={"outcome": "maybe", "liaison": "x"}, headers={**LIAISON, "If-Match": "*"}
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"body.outcome", "body.liaison"}
    r = client.post(
        url,
        json={"outcome": "held", "note": "Wants the MRI slot list"},
        headers={**LIAISON, "If-Match": _tag(client, pid)},
    )
    assert r.status_code == 201, r.text
    done = r.json()
    assert done["status"]["status"] == OUTCOME_STATUS["held"] == "meeting held"
    assert (
        done["status"]["assigned_to"] == LIAISON_PERSON
        and r.headers["ETag"] == done["status"]["etag"]
    )
    visit = done["interaction"]
    assert (visit["kind"], visit["outcome"], visit["liaison"], visit["summary"]) == (
        "visit",
        "held",
        LIAISON_PERSON,
        "Wants the MRI slot list",
    )
    listed = client.get(f"/v1/providers/{pid}/interactions", headers=VIEWER).json()
    assert listed[0]["id"] == visit["id"]
    # scored again by the scoring stage's code: stored, and different from the seed's made-up rows
    assert done["scores"], "the provider is a prospect of AGS-N"
    after = _prospect_scores(api_db, pid)
    assert sorted(after.values()) == sorted(s["score"] for s in done["scores"])
    assert after != before
    # the same again with the old tag: 412, and nothing of it is stored
    again = client.post(
        url,
        json={"outcome": "declined"},
        headers={**LIAISON, "If-Match": done["status"]["etag"] + "x"},
    )
    assert again.status_code == 412
    assert len(client.get(f"/v1/providers/{pid}/interactions", headers=VIEWER).json()) == len(
        listed
    )
    # declined: not a fit (hidden from lists)
    r = client.post(
        url, json={"outcome": "declined"}, headers={**LIAISON, "If-Match": done["status"]["etag"]}
    )
    assert r.status_code == 201 and r.json()["status"]["status"] == "not a fit"


def test_visit_outcome_rescoring_sends_the_scoring_event(
    client: TestClient, api_db: SeededDB
) -> None:
    """A provider who becomes a site's prospect on re-scoring after a visit is announced with
    the event the scoring stage sends for new prospects (it sent none before)."""
    from data.models.security import WebhookDelivery, WebhookSubscription
    from service.integration.webhooks import subscribe

    pid = api_db.provider_ids[2]
    with api_db.ctx.sessions.begin() as s:  # not a prospect anywhere: re-scoring makes it one
        s.execute(delete(Prospect).where(Prospect.provider_id == pid))
    sub = subscribe(
        api_db.ctx, url="https://crm.example.com/new", event_types=["prospect.new_in_territory"]
    )
    try:
        r = client.post(
            f"/v1/prospects/{pid}/visit-outcome",
            json={"outcome": "not_met"},
            headers={**LIAISON, "If-Match": _tag(client, pid)},
        )
        assert r.status_code == 201, r.text
        sites = {x["site_code"] for x in r.json()["scores"]}
        with api_db.ctx.sessions() as s:
            sent = list(
                s.scalars(
                    select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub["id"])
                )
            )
        assert sites and {d.payload["data"]["site_code"] for d in sent} == sites
        for d in sent:
            assert d.event_type == d.payload["type"] == "prospect.new_in_territory"
            data = d.payload["data"]
            assert data["count"] == 1 and [p["provider_id"] for p in data["prospects"]] == [pid]
    finally:
        with api_db.ctx.sessions.begin() as s:
            s.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == sub["id"]))
            s.execute(delete(WebhookSubscription).where(WebhookSubscription.id == sub["id"]))


def test_rescored_provider_matches_a_full_scoring_run(client: TestClient, api_db: SeededDB) -> None:
    """Last in the module (a full run rewrites every seeded prospect): one provider's new score
    is the one `prm score` gives it."""
    from service.prospecting.scoring import score_sites

    pid = api_db.provider_ids[1]
    r = client.post(
        f"/v1/prospects/{pid}/visit-outcome",
        json={"outcome": "not_met"},
        headers={**LIAISON, "If-Match": _tag(client, pid)},
    )
    assert r.status_code == 201 and r.json()["status"]["status"] == "contacted"
    one = _prospect_scores(api_db, pid)
    score_sites(api_db.ctx)
    assert _prospect_scores(api_db, pid) == pytest.approx(one)
