"""``prm keys``, ``prm audit`` and ``prm privacy`` as a user runs them."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import load_settings
from tests.cli.test_cli import run  # noqa: F401  (fixture)


def test_keys_create_list_revoke_and_audit(run) -> None:  # noqa: F811
    made = run(
        "keys",
        "create",
        "hubspot sync",
        "--person",
        "Ben Okafor",
        "--role",
        "integration",
        "--days",
        "30",
    )
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("prm_")
    listed = json.loads(run("keys", "list").stdout)
    assert listed[0]["name"] == "hubspot sync" and listed[0]["role"] == "integration"
    assert key not in run("keys", "list").stdout and listed[0]["expires_at"]
    with TestClient(create_app(load_settings())) as client:
        assert client.get("/v1/sites", headers={"X-API-Key": key}).status_code == 200
        assert run("keys", "revoke", str(listed[0]["id"])).exit_code == 0
        assert client.get("/v1/sites", headers={"X-API-Key": key}).status_code == 401
    assert run("keys", "revoke", "999").exit_code == 1
    bad = run("keys", "create", "x", "--person", "X", "--role", "root")
    assert bad.exit_code == 2 and "role" in bad.output
    page = json.loads(run("audit", "list", "--limit", "10").stdout)
    actions = [e["action"] for e in page["items"]]
    assert {"key_created", "key_revoked", "read", "denied"} <= set(actions)
    assert json.loads(run("audit", "list", "--action", "key_revoked").stdout)["total"] == 1


def test_privacy_commands_name_a_missing_person(run) -> None:  # noqa: F811
    r = run("privacy", "object", "12345")
    assert r.exit_code == 1 and "no provider with id 12345" in r.output
    assert run("privacy", "erase", "12345").exit_code == 1
