"""The role matrix over every route of the app, stored keys, the audit log, rate limits, ETags."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from api.audit import flush_audit
from api.deps import RoleRequirement
from api.main import create_app
from api.ratelimit import TokenBuckets
from core.errors import RateLimitError
from data.models.security import ApiKey, AuditEntry
from service.security.keys import ROLES, create_key, revoke_key
from tests.api.conftest import ADMIN, MARKETING, ROLE_HEADERS, VIEWER, SeededDB, signed_in

#: The only routes anyone may call without a key: health checks, docs, the schema, static files.
PUBLIC = {
    "/health",
    "/v1/health",
    "/docs",
    "/",
    "/openapi.json",
    "/static",
    "/signin",
    "/v1/session/link",
}
#: Public routes on a path whose other methods need a role: signing in presents the key itself.
PUBLIC_ROUTES = {("POST", "/v1/session")}
#: File exports open below role marketing, each on purpose. A liaison exports their OWN visit
#: day (the stops of their own list; every visit-list route reads the caller's days only).
OWN_DAY_EXPORTS = {("GET", "/v1/visit-lists/{day}/export.csv")}


def _flat_routes(app) -> list:
    """Every route of the app, included routers flattened (FastAPI >= 0.16x keeps them lazy)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def _original(route):
    return getattr(route, "original_route", route)


def _roles(dependant) -> set[str]:
    found = set()
    for dep in dependant.dependencies:
        if isinstance(dep.call, RoleRequirement):
            found.add(dep.call.role)
        found |= _roles(dep)
    return found


def _matrix(app) -> list[tuple[str, str, str]]:
    """(method, path, required role) of every non-public route."""
    rows = []
    for route in _flat_routes(app):
        path = route.path
        if path in PUBLIC or {(m, path) for m in route.methods} <= PUBLIC_ROUTES:
            continue
        assert isinstance(_original(route), APIRoute), f"{path}: not an API route, not public"
        roles = _roles(route.dependant)
        assert roles, f"{path} declares no role"
        needed = max(roles, key=ROLES.index)
        rows.extend((m, path, needed) for m in sorted(route.methods - {"HEAD"}))
    return rows


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_is_public_or_declares_a_role(client: TestClient) -> None:
    matrix = _matrix(client.app)
    paths = {p for _, p, _ in matrix}
    assert len(matrix) >= 40
    # the public ones really are open: no role anywhere on them
    for route in _flat_routes(client.app):
        public = route.path in PUBLIC or {(m, route.path) for m in route.methods} <= PUBLIC_ROUTES
        if public and isinstance(_original(route), APIRoute):
            assert _roles(route.dependant) == set(), route.path
    needed = {(m, p): r for m, p, r in matrix}
    for (method, path), role in needed.items():
        if path.startswith(("/v1/keys", "/v1/audit", "/v1/privacy", "/v1/uploads", "/v1/jobs")):
            assert role == "admin", (method, path, role)
        if (method, path) in OWN_DAY_EXPORTS:
            assert role == "liaison", (method, path, role)
        elif path.endswith((".csv", ".ndjson")):
            assert ROLES.index(role) >= ROLES.index("marketing"), (method, path, role)
        if path.startswith("/v1/webhooks"):
            assert ROLES.index(role) >= ROLES.index("integration"), (method, path, role)
    assert {"/v1/keys", "/v1/audit", "/map", "/v1/prospects/export.csv"} <= paths
    assert set(needed) >= OWN_DAY_EXPORTS, "an exception for a route that no longer exists"


def test_a_liaison_exports_their_own_day_only(client: TestClient, api_db: SeededDB) -> None:
    """The one export below marketing: the owner's day is exported; the same day of another
    liaison is not found, by any route of it, and neither list sees the other's stops."""
    mine = {"X-API-Key": create_key(api_db.ctx, name="a", person="Ana Day", role="liaison").key}
    theirs = {"X-API-Key": create_key(api_db.ctx, name="b", person="Ben Day", role="liaison").key}
    day = "/v1/visit-lists/2027-05-04"
    start = {"start": {"kind": "site", "site_code": "AGS-N"}}
    assert client.put(day, json=start, headers=mine).status_code == 200
    pid = api_db.provider_ids[0]
    assert client.put(f"{day}/stops/{pid}", json={}, headers=mine).status_code == 200
    own = client.get(f"{day}/export.csv", headers=mine)
    assert own.status_code == 200 and own.text.count("\n") == 2, own.text  # header + the visit
    for tail in ("", "/route", "/route.geojson", "/export.csv", "/export.ics", "/sheet.html"):
        r = client.get(day + tail, headers=theirs)
        assert r.status_code == 404, (tail, r.status_code)
    assert client.delete(f"{day}/stops/{pid}", headers=theirs).status_code == 404
    # Ben's own day of the same date is his, empty; Ana's is untouched
    assert client.put(day, json=start, headers=theirs).json()["stops"] == []
    assert client.get(f"{day}/export.csv", headers=theirs).text.count("\n") == 1
    assert [s["provider_id"] for s in client.get(day, headers=mine).json()["stops"]] == [pid]


def test_every_route_refuses_no_key_and_lower_roles(client: TestClient) -> None:
    """Over HTTP: 401 without a key, 403 with each key of a lower role, for every route."""
    checked = 0
    for method, path, needed in _matrix(client.app):
        url = _concrete(path)
        r = client.request(method, url)
        assert r.status_code == 401, (method, url, r.status_code, r.text[:200])
        assert r.headers["content-type"] == "application/problem+json"
        for role in ROLES[: ROLES.index(needed)]:
            r = client.request(method, url, headers=ROLE_HEADERS[role])
            assert r.status_code == 403, (method, url, role, r.status_code, r.text[:200])
            assert r.json()["title"] == "Forbidden" and needed in r.json()["detail"]
            checked += 1
    assert checked >= 20


def test_stored_key_lifecycle(client: TestClient, api_db: SeededDB) -> None:
    created = create_key(api_db.ctx, name="crm", person="Cara Reyes", role="viewer", days=1)
    assert created.key.startswith("prm_") and len(created.key) > 40
    with api_db.ctx.sessions() as s:
        row = s.get(ApiKey, created.id)
        assert row.key_hash != created.key and created.key not in row.key_hash
    hdr = {"Authorization": f"Bearer {created.key}"}
    assert client.get("/v1/sites", headers=hdr).status_code == 200
    # listed over the API without the key itself
    listed = client.get("/v1/keys", headers=ADMIN).json()
    mine = next(k for k in listed if k["id"] == created.id)
    assert "key" not in mine and mine["prefix"] == created.key[:12]
    # expired
    with api_db.ctx.sessions.begin() as s:
        s.execute(
            update(ApiKey)
            .where(ApiKey.id == created.id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    r = client.get("/v1/sites", headers=hdr)
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    # revoked (over the API)
    other = create_key(api_db.ctx, name="crm2", person="Dan Moss", role="marketing", days=None)
    assert (
        client.get("/v1/prospects/export.csv", headers={"X-API-Key": other.key}).status_code == 200
    )
    assert client.delete(f"/v1/keys/{other.id}", headers=ADMIN).json()["revoked_at"]
    r = client.get("/v1/sites", headers={"X-API-Key": other.key})
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert client.delete("/v1/keys/999999", headers=ADMIN).status_code == 404


def test_key_created_over_the_api_is_shown_once(client: TestClient) -> None:
    r = client.post(
        "/v1/keys",
        headers=ADMIN,
        json={"name": "zapier", "person": "Zoe Park", "role": "integration", "days": 7},
    )
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    assert client.get("/v1/sites", headers={"X-API-Key": key}).status_code == 200
    assert all("key" not in k for k in client.get("/v1/keys", headers=ADMIN).json())
    bad = client.post("/v1/keys", headers=ADMIN, json={"name": "", "role": "root", "days": 0})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {
        "body.name",
        "body.person",
        "body.role",
        "body.days",
    }


def test_create_key_collects_every_problem(api_db: SeededDB) -> None:
    from core.errors import InputError

    with pytest.raises(InputError) as exc:
        create_key(api_db.ctx, name=" ", person=" ", role="god", days=0)
    assert {p.field for p in exc.value.problems} == {"name", "person", "role", "days"}
    with pytest.raises(Exception, match="no API key"):
        revoke_key(api_db.ctx, 10**6)


def _entries(api_db: SeededDB, **where: object) -> list[AuditEntry]:
    with api_db.ctx.sessions() as s:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, name) == value)
        return list(s.scalars(stmt))


def test_reads_exports_changes_and_refusals_are_audited(
    client: TestClient, api_db: SeededDB
) -> None:
    pid = api_db.provider_ids[0]
    client.get(f"/v1/providers/{pid}", headers=VIEWER, params={"x": "1"})
    client.get("/v1/prospects?site=AGS-N&limit=300", headers=VIEWER)
    csv_rows = (
        client.get("/v1/prospects/export.csv?site=AGS-N&min_score=50", headers=MARKETING)
        .text.strip()
        .count("\n")
    )
    client.patch("/v1/sites/AGS-S", headers=ADMIN, json={"name": "Clinic AGS-S"})
    client.get("/v1/audit", headers=VIEWER)
    client.get("/v1/sites", headers={"X-API-Key": "wrong"})
    signed_in(client.app).get("/map?site=AGS-N")
    flush_audit(
        client.app.state
    )  # entries written after the answer are batched (service.security.audit_buffer)

    read = _entries(api_db, path=f"/v1/providers/{pid}")[-1]
    assert (read.actor, read.role, read.action, read.status) == (
        "env:viewer",
        "viewer",
        "read",
        200,
    )
    assert read.route == "/v1/providers/{provider_id}" and read.client_ip
    assert read.records == {"path_params": {"provider_id": str(pid)}} and read.params == {"x": "1"}
    assert _entries(api_db, path="/v1/prospects")[-1].action == "bulk_read"
    export = _entries(api_db, path="/v1/prospects/export.csv")[-1]
    assert export.action == "export" and export.key_id is not None and export.role == "marketing"
    assert export.records["rows"] == csv_rows == 8 and export.records["filters"]["min_score"] == 50
    change = _entries(api_db, path="/v1/sites/AGS-S")[-1]
    assert change.action == "change" and change.method == "PATCH" and change.actor == "env:admin"
    denied = _entries(api_db, path="/v1/audit", action="denied")[-1]
    assert denied.status == 403 and denied.actor == "env:viewer"
    anon = _entries(api_db, path="/v1/sites", action="denied")[-1]
    assert anon.status == 401 and anon.actor == "anonymous"
    page = _entries(api_db, path="/map")[-1]
    assert (
        page.action == "bulk_read"
        and page.params == {"site": "AGS-N"}
        and page.actor == "env:viewer"
    )
    # admins read it over the API, filtered and paginated, newest first
    r = client.get("/v1/audit", headers=ADMIN, params={"action": "export", "limit": 1})
    body = r.json()
    assert r.status_code == 200 and body["items"][0]["path"] == "/v1/prospects/export.csv"
    assert body["total"] >= 1
    r2 = client.get("/v1/audit", headers=ADMIN, params={"path": "/v1/", "limit": 2})
    nxt = client.get(
        "/v1/audit",
        headers=ADMIN,
        params={"path": "/v1/", "limit": 2, "cursor": r2.json()["next_cursor"]},
    ).json()
    ids = [e["id"] for e in r2.json()["items"]] + [e["id"] for e in nxt["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4


def test_audit_log_refuses_update_and_delete(api_db: SeededDB) -> None:
    with api_db.ctx.sessions.begin() as s:
        s.add(AuditEntry(actor="test", action="read"))
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), api_db.ctx.engine.begin() as conn:
            conn.execute(text(sql))
    if api_db.backend == "postgis":
        with pytest.raises(DBAPIError, match="append-only"), api_db.ctx.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))
    assert _entries(api_db, actor="test")


def test_rate_limit_per_key_is_429_problem(api_db: SeededDB) -> None:
    now = [0.0]
    app = create_app(context=api_db.ctx)
    app.state.rate_limiter = TokenBuckets(rate=1.0, burst=3, clock=lambda: now[0])
    with TestClient(app) as c:
        codes = [c.get("/v1/sites", headers=VIEWER).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = c.get("/v1/sites", headers=VIEWER)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 429 and int(r.headers["retry-after"]) >= 1
        # another key has its own bucket
        assert c.get("/v1/sites", headers=ADMIN).status_code == 200
        now[0] += 1.0
        assert c.get("/v1/sites", headers=VIEWER).status_code == 200
        # guessing keys drains the address's bucket
        assert [
            c.get("/v1/sites", headers={"X-API-Key": f"guess{i}"}).status_code for i in range(4)
        ] == [401, 401, 401, 429]


def test_token_bucket_refills_and_forgets_idle_keys() -> None:
    now = [0.0]
    tb = TokenBuckets(rate=2.0, burst=2, clock=lambda: now[0])
    tb.take("a")
    tb.take("a")
    with pytest.raises(RateLimitError) as exc:
        tb.take("a")
    assert exc.value.retry_after == pytest.approx(0.5)
    now[0] = 0.5
    tb.take("a")
    for i in range(2048):  # many one-off names, each idle afterwards
        now[0] += 1.0
        tb.take(f"k{i}")
    assert len(tb) < 10  # not 2048: idle buckets are swept
    with pytest.raises(ValueError):
        TokenBuckets(rate=0, burst=1)


def test_etag_and_if_none_match(client: TestClient) -> None:
    for path in (
        "/v1/sites",
        "/v1/prospects?site=AGS-N",
        "/v1/catchments",
        "/v1/sites/AGS-N/catchments",
        "/v1/providers?limit=3",
    ):
        r = client.get(path, headers=VIEWER)
        assert r.status_code == 200, path
        tag = r.headers["etag"]
        assert tag.startswith('W/"')
        again = client.get(path, headers=VIEWER | {"If-None-Match": tag})
        assert again.status_code == 304, path
        assert again.content == b"" and again.headers["etag"] == tag
        other = client.get(path, headers=VIEWER | {"If-None-Match": 'W/"nope"'})
        assert other.status_code == 200
    # a changed list changes its tag
    before = client.get("/v1/sites", headers=VIEWER).headers["etag"]
    client.patch("/v1/sites/AGS-N", headers=ADMIN, json={"name": "Renamed N"})
    assert client.get("/v1/sites", headers=VIEWER).headers["etag"] != before
    # streamed exports carry none
    assert "etag" not in client.get("/v1/prospects/export.csv", headers=MARKETING).headers


def test_hostile_parameters_are_422_problems(client: TestClient) -> None:
    import base64
    import json

    big = base64.urlsafe_b64encode(json.dumps([1, 10**30]).encode()).decode().rstrip("=")
    cases = [
        ("GET", f"/v1/providers/{10**30}", None, "path.provider_id"),
        ("GET", "/v1/providers?limit=0", None, "query.limit"),
        ("GET", "/v1/providers?limit=100000", None, "query.limit"),
        ("GET", "/v1/prospects?sort=bogus", None, "query.sort"),
        ("GET", f"/v1/prospects?cursor={big}", None, "cursor"),
        ("GET", "/v1/catchments?method=teleport", None, "query.method"),
        ("GET", "/v1/matching/review?offset=-1", None, "offset"),  # replaced by cursor
        ("GET", "/v1/assignment/providers?offset=5", None, "offset"),
        ("GET", "/v1/matching/review?cursor=bm90LWpzb24", None, "cursor"),
        (
            "POST",
            "/v1/sites",
            {"site_code": "X-1", "name": "n", "service_line": "MRI", "lat": 91, "lon": -181},
            "body.lat",
        ),
    ]
    for method, url, body, field in cases:
        r = client.request(method, url, json=body, headers=ADMIN)
        assert r.status_code == 422, (url, r.status_code, r.text[:200])
        assert r.headers["content-type"] == "application/problem+json"
        assert field in {e.get("field") for e in r.json()["errors"]}, (url, r.json())


def test_lists_exports_and_maps_carry_the_data_stamp(client: TestClient) -> None:
    for path, headers in (
        ("/v1/prospects", VIEWER),
        ("/v1/prospects/export.csv", MARKETING),
        ("/v1/catchments", VIEWER),
        ("/map", VIEWER),
    ):
        r = client.get(path, headers=headers)
        assert r.status_code == 200, path
        stamp = r.headers["prm-data-stamp"]
        assert "nppes=npidata.csv" in stamp and "#00000000" in stamp, stamp
        assert "referrals_as_of=2024-06-30" in stamp and "prospects_scored_at=20" in stamp
    assert "prm-data-stamp" not in client.get("/v1/health").headers
    assert "registries: nppes npidata.csv" in client.get("/map", headers=VIEWER).text


def test_oversized_ids_in_bodies_are_422(client: TestClient) -> None:
    # found by schemathesis on PostgreSQL: a 12-digit record id was an "integer out of range" 500
    r = client.post(
        "/v1/matching/decisions",
        headers=ADMIN,
        json={"decision": "accept", "left_record_id": 462914241867, "right_record_id": 1},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.left_record_id"


def test_buffered_read_entries_are_all_written_by_the_time_the_app_stops(api_db: SeededDB) -> None:
    with TestClient(create_app(context=api_db.ctx)) as c:
        for _ in range(3):
            assert c.get("/v1/sites", headers=VIEWER, params={"batched": "1"}).status_code == 200
    entries = [e for e in _entries(api_db, path="/v1/sites") if e.params == {"batched": "1"}]
    assert len(entries) == 3 and all(e.action == "read" and e.status == 200 for e in entries)
