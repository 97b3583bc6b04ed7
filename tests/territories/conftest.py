"""Real OSM graphs for territory tests, loaded once per session."""

from __future__ import annotations

import pytest

from geo.roads import load_drive_graph
from tests.handgraph import hand_graph
from tests.paths import FIXTURES

DATA = FIXTURES / "osm"


@pytest.fixture(scope="session")
def aguascalientes():
    return load_drive_graph(DATA / "aguascalientes.osm.bz2")


@pytest.fixture
def hand():
    """The hand-timed five-node graph (:func:`tests.handgraph.hand_graph`)."""
    return hand_graph()
