"""Browser sessions over HTTP: sign in, cookie, CSRF on writes, sign out, expiry, revocation, links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, update

from api.main import create_app
from data.models.security import ApiSession
from service.context import AppContext
from service.security.keys import create_key
from service.security.sessions import create_sign_in_link
from tests.api.conftest import ADMIN, ADMIN_KEY, VIEWER, VIEWER_KEY, SeededDB, signed_in


def _fresh(client: TestClient) -> TestClient:
    return TestClient(client.app)


def test_signing_in_sets_an_httponly_strict_cookie_and_returns_the_csrf_token(
    client: TestClient,
) -> None:
    c = _fresh(client)
    r = c.post("/v1/session", headers=VIEWER)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["actor"] == "env:viewer" and body["role"] == "viewer" and body["csrf_token"]
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("prm_session=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/", "Max-Age="):
        assert attribute.lower() in cookie.lower(), cookie
    assert VIEWER_KEY not in cookie and body["csrf_token"] not in cookie
    # the cookie alone now reads, and the session says who it is
    assert c.get("/v1/sites").status_code == 200
    again = c.get("/v1/session").json()
    assert again["csrf_token"] == body["csrf_token"] and again["expires_at"] == body["expires_at"]


def test_signing_in_needs_a_valid_key_in_a_header(client: TestClient) -> None:
    c = _fresh(client)
    assert c.post("/v1/session").status_code == 401
    assert c.post("/v1/session", headers={"X-API-Key": "wrong"}).status_code == 401
    assert c.post(f"/v1/session?api_key={VIEWER_KEY}").status_code == 401
    assert "prm_session" not in c.cookies


def test_a_cookie_write_needs_the_csrf_token(client: TestClient) -> None:
    c = signed_in(client.app, ADMIN)
    csrf = c.headers.pop("X-CSRF-Token")
    change = {"name": "Renamed by session"}
    # a cross-site form post carries the cookie (were SameSite ignored) but cannot know the token
    forged = c.patch("/v1/sites/AGS-S", json=change, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403 and "CSRF" in forged.json()["detail"]
    assert (
        c.patch("/v1/sites/AGS-S", json=change, headers={"X-CSRF-Token": "nope"}).status_code == 403
    )
    ok = c.patch("/v1/sites/AGS-S", json=change, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200
    # reads need no token; a key in a header needs none either
    assert c.get("/v1/sites").status_code == 200
    assert (
        client.patch("/v1/sites/AGS-S", json={"name": "Clinic AGS-S"}, headers=ADMIN).status_code
        == 200
    )


def test_signing_out_ends_the_session(client: TestClient) -> None:
    c = signed_in(client.app)
    sid = c.cookies["prm_session"]
    csrf = c.headers.pop("X-CSRF-Token")
    assert c.delete("/v1/session").status_code == 403  # a write: the token is needed
    r = c.delete("/v1/session", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert "prm_session" not in c.cookies  # cleared
    stolen = _fresh(client)
    stolen.cookies.set("prm_session", sid)
    r = stolen.get("/v1/sites")
    assert r.status_code == 401 and "ended" in r.json()["detail"]


def test_an_expired_session_is_refused(client: TestClient, api_db: SeededDB) -> None:
    c = signed_in(client.app)
    with api_db.ctx.sessions.begin() as s:
        s.execute(
            update(ApiSession)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            .where(ApiSession.ended_at.is_(None))
        )
    r = c.get("/v1/sites")
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_revoking_a_key_ends_its_sessions(client: TestClient, api_db: SeededDB) -> None:
    created = create_key(
        api_db.ctx, name="Ana (liaison)", person="Ana Lopez", role="viewer", days=1
    )
    c = signed_in(client.app, {"X-API-Key": created.key})
    assert c.get("/v1/session").json()["name"] == "Ana (liaison)"
    assert client.delete(f"/v1/keys/{created.id}", headers=ADMIN).status_code == 200
    r = c.get("/v1/sites")
    assert r.status_code == 401
    with api_db.ctx.sessions() as s:
        ended = s.scalars(select(ApiSession.ended_at).where(ApiSession.key_id == created.id)).all()
    assert ended and all(e is not None for e in ended)


def test_a_changed_bootstrap_key_ends_the_sessions_made_with_the_old_one(
    client: TestClient, api_db: SeededDB
) -> None:
    c = signed_in(client.app)
    sid = c.cookies["prm_session"]
    ctx = api_db.ctx
    rotated = AppContext(
        settings=ctx.settings.model_copy(
            update={"viewer_api_key": SecretStr("rotated-viewer-key")}
        ),
        engine=ctx.engine,
        sessions=ctx.sessions,
    )
    other = TestClient(create_app(context=rotated))
    other.cookies.set("prm_session", sid)
    r = other.get("/v1/sites")
    assert r.status_code == 401 and "changed" in r.json()["detail"]


def test_a_sign_in_link_works_once(client: TestClient, api_db: SeededDB) -> None:
    token = create_sign_in_link(api_db.ctx, key=ADMIN_KEY, minutes=5)
    c = _fresh(client)
    r = c.post("/v1/session/link", json={"token": token})
    assert r.status_code == 201 and r.json()["role"] == "admin"
    assert c.get("/v1/audit?limit=1").status_code == 200  # the session carries the admin role
    again = _fresh(client).post("/v1/session/link", json={"token": token})
    assert again.status_code == 401 and "used or expired" in again.json()["detail"]
    assert _fresh(client).post("/v1/session/link", json={"token": "x" * 43}).status_code == 401


def test_session_ids_are_stored_hashed(client: TestClient, api_db: SeededDB) -> None:
    c = signed_in(client.app)
    sid = c.cookies["prm_session"]
    with api_db.ctx.sessions() as s:
        hashes = s.scalars(select(ApiSession.token_hash)).all()
    assert sid not in hashes and len(sid) >= 43


def test_guessing_keys_or_links_at_sign_in_is_throttled(api_db: SeededDB) -> None:
    from api.ratelimit import TokenBuckets

    app = create_app(context=api_db.ctx)
    app.state.rate_limiter = TokenBuckets(rate=0.001, burst=3)
    c = TestClient(app)
    statuses = [
        c.post("/v1/session", headers={"X-API-Key": f"guess-{i}"}).status_code for i in range(3)
    ]
    statuses += [
        c.post("/v1/session/link", json={"token": f"guess-{i}"}).status_code for i in range(2)
    ]
    assert statuses == [401, 401, 401, 429, 429]
    # signing in is refused before the key is checked: a right guess now gets no answer either
    right = c.post("/v1/session", headers=VIEWER)
    assert right.status_code == 429 and "retry-after" in right.headers
    # a request with a valid key is still served (others behind the same address keep working)
    assert c.get("/v1/sites", headers=VIEWER).status_code == 200


def test_signing_in_again_ends_the_previous_session(client: TestClient) -> None:
    c = signed_in(client.app)
    old = c.cookies["prm_session"]
    assert c.post("/v1/session", headers=ADMIN).status_code == 201
    assert c.cookies["prm_session"] != old
    stale = _fresh(client)
    stale.cookies.set("prm_session", old)
    assert stale.get("/v1/sites").status_code == 401
