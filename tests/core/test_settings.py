"""Settings checks that catch a configuration mistake at start: the environment's names, the rule
for production secrets, lease timing."""

from __future__ import annotations

import secrets

import pytest
from pydantic import ValidationError

from core.errors import ConfigError
from core.settings import Settings, estimated_entropy_bits, load_settings, secret_weakness

SECRETS = ("admin_api_key", "viewer_api_key", "webhook_secret")


def _strong() -> dict[str, str]:
    return {name: secrets.token_urlsafe(32) for name in SECRETS}


@pytest.mark.parametrize("given", ["production", "Production", "PRODUCTION", " production "])
def test_production_is_recognised_in_any_case(given: str) -> None:
    with pytest.raises(ConfigError, match="PRM_ADMIN_API_KEY"):
        load_settings(environment=given)  # default secrets: refused, so production it is
    assert load_settings(environment=given, **_strong()).environment == "production"


@pytest.mark.parametrize("given", ["Development", "test", "TEST"])
def test_other_known_environments(given: str) -> None:
    assert load_settings(environment=given).environment == given.lower()


@pytest.mark.parametrize("given", ["prod", "staging", "", "dev"])
def test_an_unknown_environment_refuses_to_start(
    given: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRM_ENVIRONMENT", given)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert exc.value.problems[0].field == "environment"
    assert "production" in str(exc.value)


def test_production_names_every_weak_secret_never_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRM_ENVIRONMENT", "production")
    weak = {
        "admin_api_key": "demo-admin-" + secrets.token_urlsafe(32),  # a demo value
        "viewer_api_key": "Tr0ub4dor&3-short",  # too short
        "webhook_secret": "ab" * 40,  # long but repetitive
    }
    with pytest.raises(ConfigError) as exc:
        load_settings(**weak)
    message = str(exc.value)
    for name in ("PRM_ADMIN_API_KEY", "PRM_VIEWER_API_KEY", "PRM_WEBHOOK_SECRET"):
        assert name in message
    assert "demo value" in message and "characters" in message and "bits" in message
    for value in weak.values():
        assert value not in message


def test_entropy_estimate() -> None:
    assert estimated_entropy_bits("") == 0
    assert estimated_entropy_bits("a" * 64) == 0
    assert estimated_entropy_bits("ab" * 32) < 64
    assert estimated_entropy_bits(secrets.token_urlsafe(32)) > 128
    assert secret_weakness(secrets.token_urlsafe(32)) is None
    assert secret_weakness(secrets.token_hex(32)) is None  # 64 hex digits
    assert secret_weakness(secrets.token_urlsafe(200)) is None  # long ones are judged too
    assert "demo value" in secret_weakness("DEV-" + secrets.token_urlsafe(32))


@pytest.mark.parametrize(
    "weak",
    [
        "password" * 4,
        "abcdefghijklmnopqrstuvwxyz012345",
        "qwertyuiopasdfghjklzxcvbnm1234567890",
        "prod-admin-key-please-change-me-now!!",
        "0123456789abcdef" * 3,
        "9f86d081884c7d659a2feaa0c55ad015",
        "correct-horse-battery-staple-correct-horse",
    ],
)
def test_patterned_or_short_random_secrets_are_weak(weak: str) -> None:
    assert secret_weakness(weak) is not None


def test_one_key_for_both_bootstrap_roles_refuses_to_start() -> None:
    same = secrets.token_urlsafe(32)
    with pytest.raises(ConfigError, match="must differ"):
        load_settings(admin_api_key=same, viewer_api_key=same)


def test_a_heartbeat_must_come_within_the_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRM_LEASE_DURATION_S", "10")
    monkeypatch.setenv("PRM_LEASE_HEARTBEAT_S", "10")
    with pytest.raises(ValidationError, match="lease_heartbeat_s must be below lease_duration_s"):
        Settings()
    monkeypatch.setenv("PRM_LEASE_HEARTBEAT_S", "2.5")
    assert (Settings().lease_duration_s, Settings().lease_heartbeat_s) == (10.0, 2.5)


def test_a_referrer_lapses_within_the_referring_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Longer, and a referrer whose referrals left the window would be neither referring nor
    lapsed."""
    monkeypatch.setenv("PRM_REFERRING_WINDOW_DAYS", "180")
    monkeypatch.setenv("PRM_LAPSED_DAYS", "181")
    with pytest.raises(ValidationError, match="lapsed_days must not exceed referring_window_days"):
        Settings()
    monkeypatch.setenv("PRM_LAPSED_DAYS", "180")
    assert (Settings().referring_window_days, Settings().lapsed_days) == (180, 180)
