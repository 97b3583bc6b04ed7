"""Settings checks that catch a configuration mistake at start, not mid-load."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.settings import Settings


def test_a_heartbeat_must_come_within_the_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRM_LEASE_DURATION_S", "10")
    monkeypatch.setenv("PRM_LEASE_HEARTBEAT_S", "10")
    with pytest.raises(ValidationError, match="lease_heartbeat_s must be below lease_duration_s"):
        Settings()
    monkeypatch.setenv("PRM_LEASE_HEARTBEAT_S", "2.5")
    assert (Settings().lease_duration_s, Settings().lease_heartbeat_s) == (10.0, 2.5)
