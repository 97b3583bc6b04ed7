"""The visit day in the app (/app) in the system Chromium, signed in as a liaison: targets added
from the list and the map, start and end (refusals shown), the route listed and drawn, the ICS
downloaded and read back, a visit logged (a stale status told), an expired session, axe-core."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import icalendar
import pytest

from maps.assets import ASSET_DIR
from tests.api.conftest import LIAISON_KEY
from tests.app.conftest import seeded_server
from tests.conftest import screenshot

pytestmark = pytest.mark.slow

DAY = "2027-03-02"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``prm serve`` over the API tests' seed (SQLite)."""
    with seeded_server(tmp_path_factory.mktemp("visits")) as (url, db):
        yield {"url": url, "db": db}


def _sign_in(page, server, key=LIAISON_KEY):
    page.goto(server["url"] + "/app")
    page.wait_for_url(re.compile(r"/signin"))
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/app"))
    page.wait_for_selector("#list li button")
    page.wait_for_selector("#visit-list:not([hidden])")


def _page(chromium, server, *, width=1280, height=900):
    context = chromium.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    page = context.new_page()
    _sign_in(page, server)
    return page


def _day(page, day=DAY):
    page.fill("#vl-day", day)
    page.dispatch_event("#vl-day", "change")
    page.wait_for_function(f"() => /{day}/.test(document.getElementById('vl-msg').textContent)")


def _api(server, method, path, body=None, headers=None):
    req = urllib.request.Request(
        server["url"] + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"X-API-Key": LIAISON_KEY, "Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null"), dict(r.headers)


def _msg(page):
    return page.inner_text("#vl-msg")


def test_plan_a_day_export_it_and_log_a_visit(chromium, server):
    page = _page(chromium, server)
    try:
        today = page.evaluate("new Date().toLocaleDateString('en-CA')")
        assert page.input_value("#vl-day") == today  # the day defaults to today
        _day(page)
        # four targets from the ranked list
        rows = page.locator("#list li.vl-row")
        assert rows.count() >= 5
        names = []
        for i in range(4):
            row = rows.nth(i)
            names.append(row.locator(".name").inner_text())
            row.locator(".vl-add").click()
            page.wait_for_function(
                f"() => document.querySelectorAll('#vl-stops li[data-id]').length === {i + 1}"
            )
        assert rows.nth(0).locator(".vl-add").is_disabled()
        # the fifth from the map: its marker opens the detail panel, whose action adds it
        fifth = rows.nth(4).locator("button[data-id]")
        pid5, name5 = fifth.get_attribute("data-id"), fifth.locator(".name").inner_text()
        latlon = page.evaluate(
            "id => { let m; PRM_APP.map.eachLayer(l => { if (l.prmId == id) m = l; });"
            " if (!m) { /* inside a cluster: the cluster group holds it */"
            "  PRM_APP.map.eachLayer(l => l.getLayers && l.getLayers().forEach("
            "   x => { if (x.prmId == id) m = x; })); }"
            " return [m.getLatLng().lat, m.getLatLng().lng]; }",
            pid5,
        )
        page.evaluate(f"PRM_APP.map.setView([{latlon[0]}, {latlon[1]}], 19)")
        marker = page.locator(f'.leaflet-marker-icon[title^="{name5},"]')
        if not marker.count():
            page.locator(".marker-cluster").first.click()  # co-located: spread apart first
        marker.first.click()
        page.wait_for_selector("#vl-detail-add")
        page.click("#vl-detail-add")
        page.wait_for_function(
            "() => document.querySelectorAll('#vl-stops li[data-id]').length === 5"
        )
        assert page.is_disabled("#vl-detail-add")
        screenshot(page, "visits-five-targets")

        # an address that cannot be placed offline: refused with the API's reason
        page.select_option("#vl-start-kind", "address")
        page.fill("#vl-start-address", "1 Nowhere Street")
        page.fill("#vl-start-postal", "99999")
        page.click("#vl-save-places")
        page.wait_for_selector("#vl-msg.error")
        assert "cannot be placed offline" in _msg(page) and "start.address" in _msg(page)
        assert "Invalid" in _msg(page) or "cannot be set" in _msg(page)
        screenshot(page, "visits-address-refused")
        # a site start, the end picked on the map (Escape cancels picking first)
        page.select_option("#vl-start-kind", "site")
        page.select_option("#vl-start-site", "AGS-N")
        page.select_option("#vl-end-kind", "point")
        page.click("#vl-end-pick")
        assert page.evaluate("PRM_APP.map.getContainer().classList.contains('vl-picking')")
        page.keyboard.press("Escape")
        page.wait_for_function(
            "() => /cancelled/.test(document.getElementById('vl-msg').textContent)"
        )
        assert page.evaluate("document.activeElement.id") == "vl-end-pick"
        page.click("#vl-end-pick")
        page.evaluate("PRM_APP.map.setZoom(13)")
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
        page.wait_for_function("() => document.getElementById('vl-end-lat').value !== ''")
        # a day ending before it starts: refused
        page.fill("#vl-day-start", "17:00")
        page.fill("#vl-day-end", "08:00")
        page.click("#vl-save-places")
        page.wait_for_selector("#vl-msg.error")
        assert "ends before it starts" in _msg(page)
        page.fill("#vl-day-start", "08:30")
        page.fill("#vl-day-end", "18:00")
        page.click("#vl-save-places")
        page.wait_for_selector("#vl-msg.ok")
        assert "America/Mexico_City" in _msg(page)
        # saved per liaison: the API has it, and a reload shows it
        saved, _ = _api(server, "GET", f"/v1/visit-lists/{DAY}")
        assert saved["start"]["label"] == "AGS-N" and saved["end"]["kind"] == "point"
        assert len(saved["stops"]) == 5
        page.reload()
        page.wait_for_selector("#visit-list:not([hidden])")
        _day(page)
        assert page.locator("#vl-stops li[data-id]").count() == 5
        assert page.input_value("#vl-start-site") == "AGS-N"

        # a visit length and a window on one stop
        first = page.locator("#vl-stops li[data-id]").first
        first.locator(".vl-duration").fill("45")
        first.locator(".vl-ws").fill("09:00")
        first.locator(".vl-we").fill("12:00")
        page.evaluate("document.getElementById('vl-msg').className = ''")  # wait for this save's
        first.locator("button.vl-unsaved").click()
        page.wait_for_function(
            "() => /^Visit to .* saved/.test(document.getElementById('vl-msg').textContent)"
        )
        saved, _ = _api(server, "GET", f"/v1/visit-lists/{DAY}")
        assert (
            saved["stops"][0]["duration_min"] == 45
            and saved["stops"][0]["window_start"][:5] == "09:00"
        )

        # the route: ordered stops with arrival times, drawn on the map
        page.click("#vl-plan")
        page.wait_for_selector("#vl-order li[data-id]")
        order = page.locator("#vl-order li[data-id]")
        assert order.count() == 5 and page.locator("#vl-unassigned li").count() == 0
        texts = order.all_inner_texts()
        assert [t.split(".")[0] for t in texts] == ["1", "2", "3", "4", "5"]
        assert all(re.search(r"arrive \d\d:\d\d", t) for t in texts)
        page.wait_for_selector("path.vl-route-line")
        assert page.locator(".vl-route-pin").count() == 7  # start, five stops, end
        screenshot(page, "visits-route-planned")

        # exports: the ICS downloads with the session and reads back
        with page.expect_download() as got:
            page.click("#vl-ics")
        cal = icalendar.Calendar.from_ical(Path(got.value.path()).read_bytes())
        events = list(cal.walk("VEVENT"))
        assert len(events) == 5
        assert all(e["DTSTART"].params["TZID"] == "America/Mexico_City" for e in events)
        assert all(str(e["LOCATION"]) for e in events)
        assert all(re.search(r"/v1/providers/\d+/brief\.html$", str(e["URL"])) for e in events)
        assert all("Brief: http" in str(e["DESCRIPTION"]) for e in events)
        with page.expect_download() as got:
            page.click("#vl-csv")
        assert Path(got.value.path()).read_text(encoding="utf-8").count("\n") == 6
        with page.context.expect_page() as opened:
            page.click("#vl-sheet")
        sheet = opened.value
        sheet.wait_for_load_state()
        assert f"Visits of {DAY}" in sheet.content()
        sheet.close()

        # log a visit from a stop; someone else changes the status in between: told, then it works
        stop = page.locator("#vl-stops li[data-id]").nth(1)
        pid = stop.get_attribute("data-id")
        stop.get_by_role("button", name=re.compile("^Log visit")).click()
        page.wait_for_function(
            "() => /Status now/.test(document.getElementById('vl-log-msg').textContent)"
        )
        _, headers = _api(server, "GET", f"/v1/prospects/{pid}/status")
        _api(
            server,
            "PUT",
            f"/v1/prospects/{pid}/status",
            {"status": "contacted"},
            {"If-Match": headers["etag"]},
        )
        page.check("#vl-outcome-held")
        page.fill("#vl-note", "Wants the MRI slot list")
        page.click("#vl-log-submit")
        page.wait_for_function(
            "() => /someone else/i.test(document.getElementById('vl-log-msg').textContent)"
        )
        page.wait_for_function(
            "() => /contacted/.test(document.getElementById('vl-log-msg').textContent)"
        )
        screenshot(page, "visits-log-stale")
        page.click("#vl-log-submit")
        page.wait_for_function(
            "() => /meeting held/.test(document.getElementById('vl-msg').textContent)"
        )
        assert "score now" in _msg(page)
        status, _ = _api(server, "GET", f"/v1/prospects/{pid}/status")
        assert status["status"] == "meeting held"
        page.wait_for_function(
            f"() => {{ const b = document.querySelector('#list button[data-id=\"{pid}\"]');"
            " return b && /meeting held/.test(b.textContent); }"
        )
        screenshot(page, "visits-visit-logged")
        # and from the detail panel (the status shown there changes)
        page.locator(f'#list button[data-id="{pid5}"]').click()
        page.wait_for_selector("#vl-detail-log")
        page.click("#vl-detail-log")
        page.wait_for_function(
            "() => /Status now/.test(document.getElementById('vl-log-msg').textContent)"
        )
        page.check("#vl-outcome-not_met")
        page.click("#vl-log-submit")
        page.wait_for_function(
            "() => /contacted/.test(document.getElementById('detail-status').textContent)"
        )
        assert name5 in page.inner_text("#detail-title")
    finally:
        page.context.close()


def test_unassigned_stops_are_listed_with_the_reason(chromium, server):
    page = _page(chromium, server)
    day = "2027-03-03"
    try:
        pids = [str(p) for p in server["db"].provider_ids[:2]]
        _api(
            server,
            "PUT",
            f"/v1/visit-lists/{day}",
            {"start": {"kind": "site", "site_code": "AGS-N"}},
        )
        _api(server, "PUT", f"/v1/visit-lists/{day}/stops/{pids[0]}", {"duration_min": 30})
        _api(
            server,
            "PUT",
            f"/v1/visit-lists/{day}/stops/{pids[1]}",
            {"duration_min": 30, "window_start": "05:00", "window_end": "05:10"},
        )
        _day(page, day)
        page.click("#vl-plan")
        page.wait_for_selector("#vl-unassigned li")
        assert page.locator("#vl-order li[data-id]").count() == 1
        missed = page.inner_text("#vl-unassigned")
        assert (
            re.search(r": \w+", missed)
            and page.get_attribute("#vl-unassigned li", "data-id") == pids[1]
        )
        assert "cannot be made" in _msg(page)
        screenshot(page, "visits-unassigned")
    finally:
        page.context.close()


def test_plan_route_saves_the_start_shown_first(chromium, server):
    """A liaison who adds targets and presses "Plan route" with the start the form shows (a
    clinic site, never saved) gets the route, not "the day has no start yet"."""
    page = _page(chromium, server)
    try:
        _day(page, "2027-04-05")
        for n in (1, 2):  # one at a time: a button is disabled once its add is answered
            page.locator("#list li button.vl-add:not([disabled])").first.click()
            page.wait_for_function(
                f"() => document.querySelectorAll('#list li button.vl-add[disabled]').length === {n}"
                " && /added to 2027-04-05/.test(document.getElementById('vl-msg').textContent)"
            )
        page.click("#vl-plan")
        page.wait_for_function(
            "() => /Route planned/.test(document.getElementById('vl-msg').textContent)"
        )
        assert page.locator("#vl-order li[data-id]").count() == 2
        saved, _ = _api(server, "GET", "/v1/visit-lists/2027-04-05")
        assert saved["start"]["kind"] == "site"
    finally:
        page.context.close()


def test_expired_session_keeps_the_list_and_unsaved_edits(chromium, server):
    page = _page(chromium, server)
    day = "2027-03-04"
    try:
        _day(page, day)
        page.locator("#list li.vl-row .vl-add").first.click()
        page.wait_for_selector("#vl-stops li[data-id]")
        page.context.clear_cookies()  # the session ends elsewhere
        page.locator("#vl-stops .vl-duration").first.fill("50")
        page.locator("#vl-stops button.vl-unsaved").first.click()
        page.wait_for_selector("#vl-msg.expired")
        assert "expired" in _msg(page) and page.locator("#vl-stops li[data-id]").count() == 1
        page.locator("#list li.vl-row .vl-add:not([disabled])").first.click()  # added, not saved
        page.wait_for_function(
            "() => document.querySelectorAll('#vl-stops li[data-id]').length === 2"
        )
        screenshot(page, "visits-session-expired")
        _sign_in(page, server)  # in the same tab: the unsaved edits come back
        page.wait_for_function(
            "() => /restored/.test(document.getElementById('vl-msg').textContent)"
        )
        assert page.input_value("#vl-day") == day
        assert page.locator("#vl-stops .vl-duration").first.input_value() == "50"
        assert page.locator("#vl-stops li[data-id]").count() == 2
        assert page.locator("#vl-stops button.vl-unsaved").count() == 2
        for _ in range(2):
            page.locator("#vl-stops button.vl-unsaved").first.click()
            page.wait_for_selector("#vl-msg.ok")
            page.evaluate("document.getElementById('vl-msg').className = ''")
        saved, _ = _api(server, "GET", f"/v1/visit-lists/{day}")
        assert [s["duration_min"] for s in saved["stops"]] == [50, 30]
    finally:
        page.context.close()


def test_panel_axe_keyboard_and_no_horizontal_scroll(chromium, server):
    day = "2027-03-05"
    _api(server, "PUT", f"/v1/visit-lists/{day}", {"start": {"kind": "site", "site_code": "AGS-N"}})
    for pid in server["db"].provider_ids[2:5]:
        _api(server, "PUT", f"/v1/visit-lists/{day}/stops/{pid}", {"duration_min": 20})
    page = _page(chromium, server, width=768, height=1024)
    try:
        _day(page, day)
        page.click("#vl-plan")
        page.wait_for_selector("#vl-order li[data-id]")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.add_script_tag(path=str(ASSET_DIR / "vendor" / "axe-core" / "axe.min.js"))
        found = page.evaluate("axe.run(document).then(r => r.violations)")
        bad = [(v["id"], v["impact"]) for v in found if v["impact"] in ("serious", "critical")]
        assert bad == [], json.dumps(found, indent=1)[:3000]
        # keyboard: Tab reaches the panel's controls with a visible focus ring; Escape closes the dialog
        page.focus("#vl-plan")
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "vl-plan"
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
        page.focus("#vl-stops li[data-id] button[aria-label^='Log visit']")
        page.keyboard.press("Enter")
        page.wait_for_selector("#vl-log[open]")
        found = page.evaluate("axe.run(document).then(r => r.violations)")
        bad = [(v["id"], v["impact"]) for v in found if v["impact"] in ("serious", "critical")]
        assert bad == [], json.dumps(found, indent=1)[:3000]
        screenshot(page, "visits-768x1024-log-dialog")
        page.keyboard.press("Escape")
        page.wait_for_selector("#vl-log:not([open])", state="attached")
        screenshot(page, "visits-768x1024")
    finally:
        page.context.close()
