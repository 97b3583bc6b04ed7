"""The liaison's app (/app) in the system Chromium: sign in, filter, markers, clusters,
the explanation, errors shown as such, a cross-origin post refused, sign out, axe-core."""

from __future__ import annotations

import json
import re

import pytest

from data.models import Prospect, Provider
from maps.assets import ASSET_DIR
from tests.api.conftest import ADMIN_KEY, VIEWER_KEY
from tests.app.conftest import seeded_server
from tests.conftest import screenshot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``prm serve`` over the API tests' seed plus three providers at one address (SQLite)."""
    shared = {}

    def three_at_one_address(ctx, db):
        with ctx.sessions.begin() as s:
            base = s.get(Provider, db.provider_ids[1])
            shared["at"] = (base.lat, base.lon)
            site_id = s.query(Prospect.site_id).filter_by(provider_id=base.id).scalar()
            for i in range(3):
                prov = Provider(
                    cluster_key=f"same{i}",
                    npi=f"{1500000000 + i}",
                    entity_type="individual",
                    display_name=f"DOCTOR SHARED {i} MD",
                    classification="Family Medicine",
                    taxonomy_code="207Q00000X",
                    is_active=True,
                    geocode_precision="street",
                    lat=base.lat,
                    lon=base.lon,
                    h3_r7=base.h3_r7,
                    h3_r8=base.h3_r8,
                    h3_r9=base.h3_r9,
                )
                s.add(prov)
                s.flush()
                s.add(
                    Prospect(
                        site_id=site_id,
                        provider_id=prov.id,
                        profile="mri-default",
                        score=61.0 + i,
                        segment="white space",
                        taxonomy_code="207Q00000X",
                        classification="Family Medicine",
                        drive_minutes=4.0,
                        distance_km=1.0,
                        components=[
                            {
                                "name": "specialty_fit",
                                "value": 1,
                                "weight": 1,
                                "points": 61.0 + i,
                                "reason": "fits the service line",
                            }
                        ],
                    )
                )

    with seeded_server(tmp_path_factory.mktemp("app"), prepare=three_at_one_address) as (url, db):
        yield {"url": url, "db": db, "shared": shared["at"]}


def _signed_in_page(chromium, server, *, width=1280, height=800, key=VIEWER_KEY):
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(server["url"] + "/app")  # not signed in: sent to the sign-in page
    page.wait_for_url(re.compile(r"/signin"))
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/app"))
    page.wait_for_selector("#list li button")
    return page


def _wait_for_list(page):
    page.wait_for_function("() => !/Loading/.test(document.getElementById('notice').textContent)")


def test_sign_in_list_axe_and_no_horizontal_scroll(chromium, server):
    page = _signed_in_page(chromium, server, width=768, height=1024)
    try:
        _wait_for_list(page)
        assert "prospects in view" in page.inner_text("#notice")
        assert page.locator("#list li").count() > 0
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.add_script_tag(path=str(ASSET_DIR / "vendor" / "axe-core" / "axe.min.js"))
        found = page.evaluate("axe.run(document).then(r => r.violations)")
        bad = [(v["id"], v["impact"]) for v in found if v["impact"] in ("serious", "critical")]
        assert bad == [], json.dumps(found, indent=1)[:3000]
        # keyboard: the first list entry is reachable by Tab and shows a focus ring
        page.focus("#list li button")
        style = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        page.keyboard.press("Enter")
        page.wait_for_selector("#detail-title")
        assert style != "none" or page.evaluate("document.activeElement.matches(':focus-visible')")
        screenshot(page, "app-768x1024-signed-in")
    finally:
        page.context.close()


def test_filter_empty_result_and_api_error_are_shown(chromium, server):
    page = _signed_in_page(chromium, server)
    try:
        _wait_for_list(page)
        page.fill("#f-score", "70")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#list .score')].every(s => +s.textContent >= 70)"
        )
        _wait_for_list(page)
        scores = [float(s) for s in page.locator("#list .score").all_inner_texts()]
        assert scores and min(scores) >= 70 and "min_score=70" in page.url
        screenshot(page, "app-filter-min-score")
        page.fill("#f-q", "nobody by this name")
        page.wait_for_selector("#notice.empty")
        assert page.locator("#list li").count() == 0
        screenshot(page, "app-empty-result")
        page.fill("#f-q", "")
        page.fill("#f-territory", "0")  # out of range: the API's problem title is shown
        page.wait_for_selector("#notice.error")
        assert "Invalid" in page.inner_text("#notice")
        screenshot(page, "app-api-error")
    finally:
        page.context.close()


def test_click_a_marker_and_see_the_explanation(chromium, server):
    page = _signed_in_page(chromium, server)
    try:
        lat, lon = server["shared"]
        page.evaluate(f"PRM_APP.map.setView([{lat}, {lon}], 19)")
        page.wait_for_timeout(600)
        _wait_for_list(page)
        page.locator(".marker-cluster").first.click()  # co-located providers spread apart
        page.wait_for_function("() => document.querySelectorAll('.prm-pin').length >= 3")
        # a click during the spider animation lands on a pin still moving (missed on a
        # loaded machine): wait until markercluster has finished animating
        page.wait_for_function("() => !document.querySelector('.leaflet-cluster-anim')")
        screenshot(page, "app-spiderfied")
        page.locator(".prm-pin").first.click()
        page.wait_for_selector("#detail table")
        text = page.inner_text("#detail")
        assert "feature" in text and "contribution" in text
        assert "specialty fit" in text  # the API's component, not a name the page knows
        brief = page.get_attribute("#detail a", "href")
        assert re.fullmatch(r"/v1/providers/\d+/brief.html", brief)
        screenshot(page, "app-marker-explanation")
        with page.context.expect_page() as opened:
            page.click("#detail a")
        printable = opened.value
        printable.wait_for_load_state()
        assert printable.locator("h1").count() == 1 and "Score" in printable.content()
        printable.close()
    finally:
        page.context.close()


def test_click_a_cluster_zooms_in(chromium, server):
    page = _signed_in_page(chromium, server)
    try:
        page.evaluate("PRM_APP.map.setZoom(12)")
        page.wait_for_selector(".marker-cluster")
        before = page.evaluate("PRM_APP.map.getZoom()")
        page.locator(".marker-cluster").first.click()
        page.wait_for_function(f"() => PRM_APP.map.getZoom() > {before}")
        screenshot(page, "app-cluster-clicked")
    finally:
        page.context.close()


def test_cross_origin_post_refused_then_sign_out_and_expiry(chromium, server):
    page = _signed_in_page(chromium, server, key=ADMIN_KEY)
    url = server["url"]
    try:
        # another site posts a form to the API with this browser: no cookie goes (SameSite)
        other = page.context.new_page()
        other.set_content(
            f'<form method="post" action="{url}/v1/interactions" enctype="text/plain">'
            '<input name=\'{"provider_id":1,"kind":"visit","summary":"x","a":"\' value=\'"}\'>'
            "</form>"
        )
        with other.expect_navigation():
            other.evaluate("document.forms[0].submit()")
        assert '"status":401' in other.content().replace(" ", "")
        other.close()
        # same origin without the CSRF header: refused too
        status = page.evaluate(
            "fetch('/v1/session', {method: 'DELETE', credentials: 'same-origin'}).then(r => r.status)"
        )
        assert status == 403
        screenshot(page, "app-cross-origin-refused")
        # the session ends elsewhere: the page says so and keeps the list
        page.context.clear_cookies()
        page.fill("#f-score", "1")
        page.wait_for_selector("#notice.expired")
        assert page.locator("#list li").count() > 0
        screenshot(page, "app-session-expired")
    finally:
        page.context.close()
    page = _signed_in_page(chromium, server)
    try:
        page.click("#signout")
        page.wait_for_url(re.compile(r"/signin"))
        screenshot(page, "app-signed-out")
        page.goto(url + "/app")
        page.wait_for_url(re.compile(r"/signin"))
    finally:
        page.context.close()
