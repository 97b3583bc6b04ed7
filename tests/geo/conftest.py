"""Shared fixtures for geo tests: real OSM graphs loaded once per session."""

from __future__ import annotations

import pytest

from geo.roads import load_drive_graph
from tests.paths import FIXTURES

DATA = FIXTURES / "osm"


@pytest.fixture(scope="session")
def aguascalientes():
    return load_drive_graph(DATA / "aguascalientes.osm.bz2")


@pytest.fixture(scope="session")
def west_oakland():
    return load_drive_graph(DATA / "West-Oakland.osm.bz2")
