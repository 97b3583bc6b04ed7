"""The app's offline base map and header in the system Chromium: the OSM extract's roads drawn
under the markers (which stay clickable), and the signed-in person's name and role."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import (
    LIAISON_KEY,
    LIAISON_PERSON,
)
from tests.app.conftest import seeded_server
from tests.conftest import screenshot

pytestmark = pytest.mark.slow

EXTRACT_CENTRE = (21.8683, -102.2689)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``prm serve`` over the API tests' seed (SQLite), with the Aguascalientes OSM extract."""
    with seeded_server(tmp_path_factory.mktemp("basemap")) as (url, _db):
        yield {"url": url}


def test_roads_under_clickable_markers_and_the_person_in_the_header(chromium, server):
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(server["url"] + "/app")
        page.wait_for_url(re.compile(r"/signin"))
        page.fill("#key", LIAISON_KEY)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/app"))
        page.wait_for_selector("#list li button")
        # the person the key belongs to, and the role; not the key's name ("liaison test")
        who = page.inner_text("#who")
        assert LIAISON_PERSON in who and "(liaison)" in who and "liaison test" not in who

        lat, lon = EXTRACT_CENTRE  # the fixture's OSM extract is about 2 km across
        page.evaluate(f"void PRM_APP.map.setView([{lat}, {lon}], 16)")
        page.wait_for_function("() => +(document.body.dataset.roads || 0) > 0")
        page.wait_for_function("() => document.querySelectorAll('.prm-pin').length > 0")
        page.wait_for_timeout(400)  # the marker's zoom animation ends
        panes = page.evaluate(
            """() => {
              const roads = document.querySelector('.leaflet-prm-roads-pane');
              const markers = document.querySelector('.leaflet-marker-pane');
              return {roads: +getComputedStyle(roads).zIndex,
                      markers: +getComputedStyle(markers).zIndex,
                      drawn: roads.querySelectorAll('svg path').length,
                      events: getComputedStyle(roads.querySelector('svg path')).pointerEvents};
            }"""
        )
        assert panes["drawn"] > 0 and panes["roads"] < panes["markers"], panes
        assert panes["events"] == "none", panes
        screenshot(page, "app-offline-roads-under-markers")

        # a marker is what the pointer finds at its centre (no pane swallows it), and a click
        # on that point opens its explanation
        point = page.evaluate(
            """() => {
              // a marker's pin inside the map's visible box
              const box = document.getElementById('map').getBoundingClientRect();
              const r = [...document.querySelectorAll('.leaflet-marker-pane .prm-pin')]
                .map(p => p.getBoundingClientRect())
                .find(r => r.left >= box.left && r.right <= box.right &&
                           r.top >= box.top && r.bottom <= box.bottom);
              const x = r.left + r.width / 2, y = r.top + r.height / 2;
              const hit = document.elementFromPoint(x, y);
              return {x, y, marker: !!(hit && hit.closest('.leaflet-marker-icon'))};
            }"""
        )
        assert point["marker"], point
        page.mouse.click(point["x"], point["y"])
        page.wait_for_selector("#detail table")
        assert "contribution" in page.inner_text("#detail")
        screenshot(page, "app-offline-roads-marker-clicked")

        # zoomed out, fewer road classes come back, still drawn under the markers
        page.evaluate(f"void PRM_APP.map.setView([{lat}, {lon}], 12)")
        page.wait_for_function("() => PRM_APP.map.getZoom() === 12")
        page.wait_for_timeout(600)
        screenshot(page, "app-offline-roads-zoom-12")
    finally:
        context.close()
