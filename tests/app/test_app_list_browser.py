"""The app's ranked list over many rows (a bench world of 1,000 providers): the first page of
entries, more on "Show more" (keyboard) or on scroll, the count of every row in view, the
visit list's buttons and the selection on the entries shown later, layout and axe-core."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from bench.server import free_port, serving
from bench.viewport import ENV
from bench.world import world_url
from maps.assets import ASSET_DIR
from tests.conftest import SCREENSHOTS, screenshot

pytestmark = pytest.mark.slow

PAGE = 150  # entries the list shows at first and adds each time (maps/assets/app/app.js)
ADMIN_KEY = ENV["PRM_ADMIN_API_KEY"]  # sees the visit list ("Add to day" on every entry)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """``prm serve`` over a generated world of 1,000 providers and their prospects (SQLite)."""
    env = ENV | {"PRM_DATABASE_URL": world_url(1000, cache=tmp_path_factory.mktemp("world"))}
    with serving(env, port=free_port()) as url:
        yield url


def _page(chromium, base, *, width=1280, height=800, asked=None, key=ADMIN_KEY):
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    if asked is not None:  # the viewport answers the page asks for
        page.on("request", lambda r: asked.append(r.url) if "/prospects/viewport" in r.url else 0)
    page.goto(base + "/signin?next=/app")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: urlsplit(url).path == "/app")  # not /signin?next=/app
    # the first answer of a fresh server builds its caches: generous, it is not a speed test
    page.wait_for_function(
        "() => /prospects in view/.test(document.getElementById('notice').textContent)",
        timeout=120_000,
    )
    if key == ADMIN_KEY:
        page.wait_for_selector("#list li.vl-row .vl-add")  # the visit list decorated the entries
    return page


def _view_shot(page, name: str) -> None:
    """The window as the user sees it (a full page of hundreds of entries shows nothing)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _in_view(page) -> int:
    # the first answer of a fresh server builds its caches: generous, it is not a speed test
    page.wait_for_function(
        "() => /prospects in view/.test(document.getElementById('notice').textContent)",
        timeout=120_000,
    )
    return int(re.match(r"(\d+) prospects in view", page.inner_text("#notice")).group(1))


def _entries(page) -> int:
    return page.locator("#list li button[data-id]").count()


def test_the_list_shows_a_page_and_more_on_show_more(chromium, base):
    page = _page(chromium, base)
    try:
        total = _in_view(page)
        assert total > 2 * PAGE  # the whole world is in the first view
        assert _entries(page) == PAGE
        more = page.locator("#list-more")
        assert more.inner_text() == f"Show {PAGE} more ({PAGE} of {total} shown)"
        # the map keeps the window's height (the list scrolls in its column)
        assert page.evaluate("document.getElementById('map').getBoundingClientRect().height") < 800
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # keyboard: Tab reaches "Show more"; Enter adds a page and goes on from its first entry
        more.focus()
        _view_shot(page, "app-list-show-more-1280x800")
        page.keyboard.press("Enter")
        page.wait_for_function(
            f"() => document.querySelectorAll('#list li.vl-row').length === {2 * PAGE}"
        )
        ids = page.eval_on_selector_all("#list li button[data-id]", "b => b.map(x => x.dataset.id)")
        assert page.evaluate("document.activeElement.dataset.id") == ids[PAGE]
        # every entry added later has its "Add to day", and adding one works
        added = page.locator("#list li.vl-row").nth(PAGE + 1)
        name = added.locator(".name").inner_text()
        added.locator(".vl-add").click()
        page.wait_for_function(
            "() => document.querySelectorAll('#vl-stops li[data-id]').length === 1"
        )
        assert name in page.inner_text("#vl-stops")
        assert added.locator(".vl-add").is_disabled()
        # hover an entry shown later: its marker (or its cluster) is highlighted
        added.locator("button[data-id]").hover()
        assert page.locator(".marker-cluster.hot, .prm-pin.hot").count() == 1
        screenshot(page, "app-list-more-1280x800")
        page.add_script_tag(path=str(ASSET_DIR / "vendor" / "axe-core" / "axe.min.js"))
        found = page.evaluate("axe.run(document).then(r => r.violations)")
        bad = [(v["id"], v["impact"]) for v in found if v["impact"] in ("serious", "critical")]
        assert bad == [], json.dumps(found, indent=1)[:3000]
    finally:
        page.context.close()


def test_the_list_grows_on_scroll_to_every_row(chromium, base):
    page = _page(chromium, base, width=768, height=1024)
    try:
        total = _in_view(page)
        page.focus("#list-more")  # reached by Tab: on screen, and it waits to be pressed
        assert _entries(page) == PAGE
        _view_shot(page, "app-list-show-more-768x1024")
        page.add_script_tag(path=str(ASSET_DIR / "vendor" / "axe-core" / "axe.min.js"))
        found = page.evaluate("axe.run(document).then(r => r.violations)")
        bad = [(v["id"], v["impact"]) for v in found if v["impact"] in ("serious", "critical")]
        assert bad == [], json.dumps(found, indent=1)[:3000]
        page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
        assert _entries(page) == PAGE
        for shown in range(PAGE, total, PAGE):  # its end scrolled into view: the next page
            page.locator("#list-more").scroll_into_view_if_needed()
            page.wait_for_function(
                f"() => document.querySelectorAll('#list li button[data-id]').length > {shown}"
            )
        page.wait_for_function(
            f"() => document.querySelectorAll('#list li button[data-id]').length === {total}"
        )
        assert page.locator("#list-more").count() == 0  # all shown: no "Show more"
        assert page.locator("#list li.vl-row .vl-add").count() == total
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        _view_shot(page, "app-list-all-768x1024")
    finally:
        page.context.close()


def test_a_marker_of_an_entry_not_shown_yet_selects_it(chromium, base):
    page = _page(chromium, base)
    try:
        # a marker on its own on the map whose row the list does not show yet (past the page)
        pid = page.evaluate(
            "() => { const listed = new Set([...document.querySelectorAll('#list [data-id]')]"
            ".map(b => b.dataset.id)); let found = null;"
            " PRM_APP.map.eachLayer(m => { if (m.prmRow && m._icon && !listed.has(String(m.prmId)))"
            " found = found || m; }); return found && found.prmId; }"
        )
        assert pid is not None
        marker = page.locator(f'.leaflet-marker-icon[title^="{_name(page, pid)},"]').first
        box = marker.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        # the marker itself is under the pointer (no layer over it swallows the click)
        assert page.evaluate(
            f"document.elementFromPoint({x}, {y}).closest('.leaflet-marker-icon') !== null"
        )
        page.mouse.click(x, y)
        page.wait_for_selector("#detail table")
        current = page.locator('#list button[aria-current="true"]')
        assert current.count() == 1 and current.get_attribute("data-id") == str(pid)
        # its entry has the visit list's button too
        assert page.locator(f'#list li.vl-row:has(button[data-id="{pid}"]) .vl-add').count() == 1
        page.keyboard.press("Escape")  # closing the panel goes back to the entry
        assert page.evaluate("document.activeElement.dataset.id") == str(pid)
    finally:
        page.context.close()


def _name(page, pid) -> str:
    return page.evaluate(
        "id => { let n = null; PRM_APP.map.eachLayer(m => { if (m.prmId === id)"
        " n = m.prmRow.display_name; }); return n; }",
        pid,
    )


def test_the_first_view_asks_for_one_answer(chromium, base):
    # the start zooms to the sites (animated, the bounds stayed the old view's until the end)
    # then loads: the view before was asked for, and the moveend after it asked again
    asked = []
    page = _page(chromium, base, asked=asked)
    try:
        page.wait_for_timeout(1000)  # a second answer would have been asked for by now
        assert len(asked) == 1, asked
        bounds = page.evaluate("PRM_APP.map.getBounds().toBBoxString().split(',').map(Number)")
        west = float(re.search(r"west=([-0-9.]+)", asked[0]).group(1))
        assert abs(west - bounds[0]) < 1e-4  # the view shown, not the one before
    finally:
        page.context.close()


def test_a_viewer_gets_no_add_to_day(chromium, base):
    # a viewer keeps no visit list: "Add to day" on every entry only earned a 403
    page = _page(chromium, base, key=ENV["PRM_VIEWER_API_KEY"])
    try:
        _in_view(page)
        page.wait_for_function("() => document.body.dataset.segments")  # the session is read
        # pressed from the keyboard: a click scrolls the button into view first, and the list
        # also grows on scroll, so a click adds one page or two by timing
        page.focus("#list-more")
        page.keyboard.press("Enter")
        page.wait_for_function(
            f"() => document.querySelectorAll('#list li button[data-id]').length === {2 * PAGE}"
        )
        assert page.locator("#visit-list").is_hidden()
        assert page.locator("#list .vl-add").count() == 0
    finally:
        page.context.close()
