"""The HTML territory map page."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.routers.map_page import largest_catchments
from service.queries import catchment_frame
from tests.api.conftest import VIEWER, SeededDB, signed_in


@pytest.fixture(scope="module")
def browser(client: TestClient) -> TestClient:
    """A browser signed in as a viewer (session cookie)."""
    return signed_in(client.app)


@pytest.fixture(scope="module")
def map_html(browser: TestClient) -> str:
    r = browser.get("/map")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    return r.text


def test_map_loads_only_local_scripts(map_html: str) -> None:
    srcs = re.findall(r"<script[^>]*\ssrc=[\"']([^\"']+)", map_html)
    assert srcs, "the page must load Leaflet"
    assert all(s.startswith("/static/") for s in srcs), srcs
    hrefs = re.findall(r"<link[^>]*\shref=[\"']([^\"']+)", map_html)
    assert all(h.startswith("/static/") for h in hrefs), hrefs
    assert "cdn." not in map_html and "unpkg" not in map_html


def test_map_shows_sites_prospects_and_stamp(map_html: str) -> None:
    assert "AGS-N" in map_html and "AGS-S" in map_html
    assert "as of prospects scored" in map_html
    assert "Roads (offline, OSM)" in map_html
    # the formula-looking name is HTML-escaped, never raw markup
    assert '=HYPERLINK("http' not in map_html


def test_map_static_assets_are_served(client: TestClient, map_html: str) -> None:
    for src in re.findall(r"<script[^>]*\ssrc=[\"']([^\"']+)", map_html):
        assert client.get(src).status_code == 200


def test_map_accepts_header_key_and_site_filter(client: TestClient, browser: TestClient) -> None:
    r = client.get("/map?site=AGS-S", headers=VIEWER)
    assert r.status_code == 200
    assert "Territory map: AGS-S" in r.text
    assert browser.get("/map?site=NOPE").status_code == 404
    assert browser.get("/map?method=isochrone").status_code == 422


def test_a_browser_without_a_session_is_sent_to_sign_in(
    client: TestClient, api_db: SeededDB
) -> None:
    from sqlalchemy import select

    from api.audit import flush_audit
    from data.models.security import AuditEntry

    r = client.get("/map?site=AGS-S", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/signin?next=/map%3Fsite%3DAGS-S"  # the page asked for, whole
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and 'src="/static/app/signin.js"' in page.text
    assert client.get("/static/app/signin.js").status_code == 200
    # an API client (no HTML wanted) gets the problem document
    assert client.get("/map").status_code == 401
    flush_audit(client.app.state)
    with api_db.ctx.sessions() as s:
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.status == 303).order_by(AuditEntry.id.desc())
        ).first()
    assert (entry.action, entry.path, entry.actor) == ("denied", "/map", "anonymous")


def test_largest_catchments_keeps_one_per_site_and_method(api_db: SeededDB) -> None:
    with api_db.ctx.sessions() as s:
        hexes = catchment_frame(s)
    kept = largest_catchments(hexes)
    sizes = kept.groupby(["site_code", "method", "parameter"]).size().to_dict()
    assert sizes == {
        ("AGS-N", "drive_time", 10.0): 19,
        ("AGS-N", "radius", 2.0): 19,
        ("AGS-S", "drive_time", 10.0): 7,
    }
    assert largest_catchments(hexes.iloc[:0]).empty
