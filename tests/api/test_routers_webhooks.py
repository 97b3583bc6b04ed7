"""Webhook subscriptions and the delivery log over HTTP (role integration)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import INTEGRATION, MARKETING, SeededDB


def test_subscribe_list_deactivate(client: TestClient) -> None:
    body = {"url": "https://crm.example.com/hooks/prm", "event_types": ["alert.at_risk"]}
    assert client.post("/v1/webhooks", json=body, headers=MARKETING).status_code == 403
    r = client.post("/v1/webhooks", json=body, headers=INTEGRATION)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_") and created["active"]
    listed = client.get("/v1/webhooks", headers=INTEGRATION).json()
    assert any(s["id"] == created["id"] for s in listed) and all("secret" not in s for s in listed)
    bad = client.post(
        "/v1/webhooks", headers=INTEGRATION, json={"url": "x", "event_types": ["nope"]}
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} >= {"body.url", "body.event_types.0"}
    off = client.delete(f"/v1/webhooks/{created['id']}", headers=INTEGRATION)
    assert off.status_code == 200 and off.json()["active"] is False
    assert client.delete("/v1/webhooks/999999", headers=INTEGRATION).status_code == 404
    assert (
        client.get("/v1/webhooks/deliveries?status=failed", headers=INTEGRATION).status_code == 200
    )
    assert client.post("/v1/webhooks/dispatch", headers=INTEGRATION).json() == {
        "delivered": 0,
        "retrying": 0,
        "failed": 0,
    }


def test_delivery_log_pages_by_cursor_newest_first(client: TestClient, api_db: SeededDB) -> None:
    from service.events import emit
    from service.integration.webhooks import subscribe

    sub = subscribe(api_db.ctx, url="https://crm.example.com/paged", event_types=["alert.at_risk"])
    for i in range(5):
        assert emit(api_db.ctx, "alert.at_risk", {"i": i}) >= 1
    seen, cursor = [], None
    for _ in range(10):
        params = {
            "limit": 2,
            "subscription_id": sub["id"],
            **({"cursor": cursor} if cursor else {}),
        }
        page = client.get("/v1/webhooks/deliveries", params=params, headers=INTEGRATION).json()
        assert len(page["items"]) <= 2
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)
    bad = client.get(
        "/v1/webhooks/deliveries", params={"cursor": "not-a-cursor"}, headers=INTEGRATION
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
