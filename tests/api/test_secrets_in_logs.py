"""No API key, session id or sign-in token appears in any log line of a real server, nor in the
audit log, whatever the client sends where."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from data.models.security import AuditEntry
from service.security.keys import create_key
from service.security.sessions import create_sign_in_link
from tests.api.conftest import ADMIN_KEY, VIEWER_KEY, SeededDB, serve_process

pytestmark = pytest.mark.slow  # starts servers or processes, or fuzzes: see README


def _request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()


def test_no_secret_reaches_a_log_line(api_db: SeededDB, tmp_path: Path) -> None:
    stored = create_key(
        api_db.ctx, name="log probe", person="Lou Pratt", role="marketing", days=1
    ).key
    link = create_sign_in_link(api_db.ctx, key=VIEWER_KEY, minutes=5)
    with serve_process(api_db, tmp_path, access_log=True) as (_, port, log):
        secrets = [VIEWER_KEY, ADMIN_KEY, stored, link]
        # keys in URLs (refused), in headers, a wrong key, a bearer key
        for key in (VIEWER_KEY, stored, "wrong-key-" + VIEWER_KEY):
            assert _request(port, "GET", f"/v1/sites?api_key={key}&x=1")[0] == 401
            assert _request(port, "GET", f"/map?API_KEY={key}")[0] == 401
            # encoded names are what the application reads: refused, and masked in the log too
            assert _request(port, "GET", f"/v1/sites?api%5Fkey={key}")[0] == 401
            assert _request(port, "GET", f"/health?%61pi_key={key}")[0] == 401
            assert _request(port, "GET", f"/signin?key={key}")[0] == 401
        assert _request(port, "GET", "/v1/sites", {"X-API-Key": stored})[0] == 200
        assert (
            _request(port, "GET", "/v1/sites", {"Authorization": f"Bearer {ADMIN_KEY}"})[0] == 200
        )
        # a session from a key, and one from a one-time link
        status, headers, body = _request(port, "POST", "/v1/session", {"X-API-Key": ADMIN_KEY})
        assert status == 201
        session = headers["set-cookie"].split(";")[0].split("=", 1)[1]
        secrets += [session, json.loads(body)["csrf_token"]]
        status, headers, _ = _request(
            port,
            "POST",
            "/v1/session/link",
            {"Content-Type": "application/json"},
            json.dumps({"token": link}).encode(),
        )
        assert status == 201
        secrets.append(headers["set-cookie"].split(";")[0].split("=", 1)[1])
        assert _request(port, "GET", "/map", {"Cookie": f"prm_session={session}"})[0] == 200
        assert _request(port, "GET", f"/v1/sites?session={session}")[0] == 401
        assert _request(port, "GET", "/v1/sites", {"Cookie": "prm_session=forged"})[0] == 401
    text = log.read_text()
    assert "GET /v1/sites?api_key=[redacted]&x=1" in text  # the request lines are there, masked
    for secret in secrets:
        assert secret not in text
    with api_db.ctx.sessions() as s:
        audited = json.dumps([e.params for e in s.scalars(select(AuditEntry))], default=str)
    for secret in secrets:
        assert secret not in audited
