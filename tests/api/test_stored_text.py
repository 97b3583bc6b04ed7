"""Every request body that is stored refuses text PostgreSQL cannot store or the page cannot show:
NUL and other control characters (line breaks only in free-text notes), at any depth."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN, INTEGRATION, SeededDB

NUL = "a\x00b"


def _bodies(db: SeededDB) -> list[tuple[str, str, dict]]:
    pid = db.provider_ids[0]
    return [
        (
            "POST",
            "/v1/interactions",
            {
                "provider_id": pid,
                "kind": "visit",
                "occurred_at": "2026-11-02T10:00:00Z",
                "source": NUL,
            },
        ),
        (
            "POST",
            "/v1/interactions",
            {
                "provider_id": pid,
                "kind": "visit",
                "occurred_at": "2026-11-02T10:00:00Z",
                "summary": NUL,
            },
        ),
        ("PUT", f"/v1/providers/{pid}/preferences", {"note": NUL}),
        ("PUT", f"/v1/prospects/{pid}/status", {"status": "contacted", "note": "\x01"}),
        ("POST", f"/v1/prospects/{pid}/visit-outcome", {"outcome": "held", "note": NUL}),
        ("POST", "/v1/exclusions", {"provider_id": pid, "reason": "do not contact", "note": NUL}),
        ("PUT", "/v1/segments", {"name": "poison", "filters": {"city": NUL}}),
        ("POST", "/v1/keys", {"name": NUL, "person": "Ana", "role": "viewer"}),
        ("POST", "/v1/keys", {"name": "tablet", "person": NUL, "role": "viewer"}),
        ("POST", "/v1/territory-plans", {"name": "p1", "liaisons": ["Ana", NUL]}),
        ("POST", "/v1/territory-plans", {"name": "p1", "liaisons": ["Ana", "B" * 101]}),
        (
            "POST",
            "/v1/webhooks",
            {
                "url": "https://crm.example.com/hook",
                "event_types": ["prospect.new_in_territory"],
                "description": NUL,
            },
        ),
    ]


def test_control_characters_in_stored_bodies_are_422(client: TestClient, api_db: SeededDB) -> None:
    for method, path, body in _bodies(api_db):
        headers = INTEGRATION if path.startswith(("/v1/interactions", "/v1/webhooks")) else ADMIN
        r = client.request(method, path, json=body, headers=headers)
        assert r.status_code == 422, (method, path, body, r.status_code, r.text[:300])
        assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("note", ["line one\nline two", "tab\tseparated"])
def test_free_text_notes_keep_line_breaks(client: TestClient, api_db: SeededDB, note: str) -> None:
    pid = api_db.provider_ids[1]
    r = client.put(f"/v1/providers/{pid}/preferences", json={"note": note}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["note"] == note
