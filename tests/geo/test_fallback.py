"""The straight-line estimate: the settings' defaults, checked parameters."""

from __future__ import annotations

import pytest

from core.errors import GeoError
from core.settings import Settings
from geo.fallback import Fallback


def test_defaults_are_the_settings():
    s = Settings()
    assert Fallback() == Fallback(circuity=s.fallback_circuity, speed_kph=s.fallback_speed_kph)
    with pytest.raises(GeoError):
        Fallback(circuity=0.5)
    with pytest.raises(GeoError):
        Fallback(speed_kph=0)
    with pytest.raises(GeoError) as info:
        Fallback(circuity=float("inf"), speed_kph=True)
    assert [p.field for p in info.value.problems] == ["circuity", "speed_kph"]
