"""Marketing and planners in the app (/app), in the system Chromium: the current filters saved
as a segment and downloaded as CSV, XLSX and GeoJSON (the list's providers, read back); the
planning layers (isochrones, territories, expansion candidates with the flagged ones shown as
such); a liaison sees neither; axe-core with the layer control open."""

from __future__ import annotations

import csv
import io
import json
import re

import httpx
import openpyxl
import pytest

from maps.assets import ASSET_DIR
from tests.api.conftest import (
    ADMIN_KEY,
    LIAISON_KEY,
    MARKETING_KEY,
)
from tests.app.conftest import seeded_server
from tests.conftest import screenshot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``prm serve`` over the API tests' seed, a territory plan and an expansion scenario whose
    "twin" adds nothing beyond "west" and whose "far" lies off the road network."""
    with seeded_server(tmp_path_factory.mktemp("planning-app")) as (url, db):
        admin = {"X-API-Key": ADMIN_KEY}
        with httpx.Client(base_url=url, headers=admin, timeout=120) as http:
            r = http.post("/v1/territory-plans", json={"name": "north", "liaisons": ["Ana", "Ben"]})
            assert r.status_code == 201, r.text
            scenario = {
                "name": "ags-2027",
                "minutes": 3,
                "pick": 3,
                "candidates": [
                    {"label": "west", "lat": 21.8700, "lon": -102.2800},
                    {"label": "twin", "lat": 21.8700, "lon": -102.2800},
                    {"label": "far", "lat": 21.95, "lon": -102.20},
                ],
            }
            r = http.post("/v1/expansion/scenarios", json=scenario)
            assert r.status_code == 201, r.text
        yield {"url": url, "db": db}


def _signed_in_page(chromium, server, *, key, width=1280, height=900):
    context = chromium.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    page = context.new_page()
    page.goto(server["url"] + "/app")
    page.wait_for_url(re.compile(r"/signin"))
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/app"))
    page.wait_for_selector("#list li button")
    page.wait_for_selector("body[data-segments][data-planning]", state="attached")
    return page


def _wait_for_list(page):
    page.wait_for_function("() => !/Loading/.test(document.getElementById('notice').textContent)")


def _download(page, fmt):
    with page.expect_download() as info:
        page.click(f"#segment-links a[data-format={fmt}]")
    return info.value.path().read_bytes()


def test_marketing_saves_the_filters_as_a_segment_and_downloads_it(chromium, server):
    page = _signed_in_page(chromium, server, key=MARKETING_KEY)
    try:
        page.evaluate("PRM_APP.map.setView([21.87, -102.27], 9)")  # every provider in view
        page.select_option("#f-site", "AGS-N")
        page.fill("#f-score", "20")
        page.fill("#f-max-drive", "30")
        page.select_option("#f-catchment", "true")  # sent to the segment as JSON true
        page.wait_for_timeout(400)
        _wait_for_list(page)
        page.wait_for_function(
            "() => [...document.querySelectorAll('#list .score')].every(s => +s.textContent >= 20)"
        )
        _wait_for_list(page)
        shown = {
            int(i)
            for i in page.eval_on_selector_all(
                "#list li button[data-id]", "b => b.map(x => x.dataset.id)"
            )
        }
        assert shown and "site=AGS-N" in page.url and "in_catchment=true" in page.url
        page.fill("#segment-name", "north doctors")
        page.click("#segment-submit")
        page.wait_for_selector("#segment-links a")
        assert f"{len(shown)} providers" in page.inner_text("#segment-status")
        page.locator("#segment-links").scroll_into_view_if_needed()
        screenshot(page, "app-segment-saved")
        text = _download(page, "csv").decode("utf-8")
        assert {int(r["provider_id"]) for r in csv.DictReader(io.StringIO(text))} == shown
        sheet = openpyxl.load_workbook(io.BytesIO(_download(page, "xlsx"))).active
        rows = list(sheet.iter_rows(values_only=True))
        at = rows[0].index("provider_id")
        assert {int(r[at]) for r in rows[1:]} == shown
        features = json.loads(_download(page, "geojson"))["features"]
        assert {f["properties"]["provider_id"] for f in features} == shown
    finally:
        page.context.close()


def test_a_planner_toggles_the_layers_and_sees_a_flagged_candidate(chromium, server):
    page = _signed_in_page(chromium, server, key=ADMIN_KEY)
    try:
        page.wait_for_selector("#planning-layers label:has-text('Candidates: ags-2027')")
        labels = page.inner_text("#planning-layers")
        assert "Isochrones: AGS-N" in labels and "Isochrones: AGS-S" in labels
        assert "Territories: north v1" in labels
        page.check("#planning-layers label:has-text('Isochrones: AGS-N') input")
        page.check("#planning-layers label:has-text('Territories: north v1') input")
        page.check("#planning-layers label:has-text('Candidates: ags-2027') input")
        page.wait_for_selector(".prm-cand.chosen")
        page.wait_for_function(
            "() => document.querySelectorAll('.leaflet-overlay-pane path').length >= 3"
        )
        page.evaluate("PRM_APP.map.setView([21.90, -102.24], 12)")
        flagged = page.locator(".leaflet-marker-pane .prm-cand.flagged")
        assert flagged.count() == 2  # the twin (adds nothing) and far (off the road network)
        assert page.locator(".leaflet-marker-pane .prm-cand.chosen").count() == 1
        titles = page.eval_on_selector_all(
            ".leaflet-marker-icon[title^='Candidate']", "m => m.map(x => x.title)"
        )
        assert any("far: not picked, off the road network" in t for t in titles), titles
        assert any("not picked, adds nothing" in t for t in titles), titles
        assert page.is_visible("#planning-legend") and "flagged" in page.inner_text(
            "#planning-legend"
        )
        page.locator(".leaflet-marker-icon[title^='Candidate far']").click()
        page.wait_for_selector(".leaflet-popup-content")
        popup = page.inner_text(".leaflet-popup-content")
        assert "Flagged: off the road network" in popup
        page.wait_for_function(
            "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
        )
        screenshot(page, "app-planning-layers")
        # axe-core with the layer control open (it is never collapsed)
        page.add_script_tag(path=str(ASSET_DIR / "vendor" / "axe-core" / "axe.min.js"))
        found = page.evaluate("axe.run(document).then(r => r.violations)")
        bad = [(v["id"], v["impact"]) for v in found if v["impact"] in ("serious", "critical")]
        assert bad == [], json.dumps(found, indent=1)[:3000]
    finally:
        page.context.close()


def test_a_liaison_sees_no_save_control_nor_planning_layers(chromium, server):
    page = _signed_in_page(chromium, server, key=LIAISON_KEY)
    try:
        assert page.get_attribute("body", "data-segments") == "hidden"
        assert page.locator("#segment-save").count() == 0
        assert page.locator("#planning-layers").count() == 0
        screenshot(page, "app-liaison-no-segment-control")
    finally:
        page.context.close()
