"""Vendored assets: files present, licences kept, URLs built safely, Swagger UI offline."""

from __future__ import annotations

import inspect
import re
from html.parser import HTMLParser

import pytest
from fastapi.openapi.docs import get_swagger_ui_html
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ConfigError
from maps import assets
from maps.assets import (
    ASSET_DIR,
    VENDORED,
    asset_urls,
    join_asset_url,
    leaflet_files,
    missing_assets,
    swagger_ui_files,
    verify_assets,
)


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.refs.append(a["src"])
        if tag == "link" and a.get("href"):
            self.refs.append(a["href"])


def test_every_vendored_file_is_present():
    assert missing_assets() == []
    verify_assets()


def test_each_package_keeps_its_licence_and_is_documented():
    readme = (ASSET_DIR / "vendor" / "README.md").read_text()
    for pkg in VENDORED:
        licences = [f for f in pkg.files if re.search(r"LICEN[CS]E", f, re.IGNORECASE)]
        assert licences, pkg.name
        for f in licences:
            assert (ASSET_DIR / pkg.folder / f).stat().st_size > 500 or f == "NOTICE"
        assert f"`{pkg.name}`" in readme and pkg.version in readme and pkg.licence in readme


def test_no_source_maps_or_unminified_copies_vendored():
    names = [p.name for p in (ASSET_DIR / "vendor").rglob("*") if p.is_file()]
    assert not [n for n in names if n.endswith(".map") or "-src." in n]
    total = sum(p.stat().st_size for p in (ASSET_DIR / "vendor").rglob("*") if p.is_file())
    assert total < 3_000_000


def test_leaflet_css_images_exist():
    css = (ASSET_DIR / leaflet_files()["leaflet_css"]).read_text()
    images = set(re.findall(r"url\((images/[^)]+)\)", css))
    assert images, "leaflet.css should reference its images"
    base = (ASSET_DIR / leaflet_files()["leaflet_css"]).parent
    for rel in images:
        assert (base / rel).is_file(), rel


def test_leaflet_files_cluster_flag():
    plain = leaflet_files()
    both = leaflet_files(cluster=True)
    assert set(plain) == {"leaflet_js", "leaflet_css"}
    assert set(plain) < set(both)
    for rel in both.values():
        assert (ASSET_DIR / rel).is_file()


def test_swagger_files_match_fastapi_parameters_and_exist():
    files = swagger_ui_files()
    params = inspect.signature(get_swagger_ui_html).parameters
    assert set(files) <= set(params)
    for rel in files.values():
        assert (ASSET_DIR / rel).is_file()
    assert (ASSET_DIR / files["swagger_js_url"]).read_text(errors="ignore").count("SwaggerUIBundle")


def test_swagger_page_loads_nothing_external():
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="prm API",
        **asset_urls(swagger_ui_files(), asset_url="/static"),
    ).body.decode()
    parser = _Refs()
    parser.feed(page)
    assert len(parser.refs) >= 3
    assert all(ref.startswith("/static/vendor/swagger-ui-dist/") for ref in parser.refs)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("/static", "/static/vendor/x.js"),
        ("/static/", "/static/vendor/x.js"),
        ("", "vendor/x.js"),
        (".", "vendor/x.js"),
        ("https://cdn.example.org/prm", "https://cdn.example.org/prm/vendor/x.js"),
    ],
)
def test_join_asset_url(prefix, expected):
    assert join_asset_url(prefix, "vendor/x.js") == expected


@pytest.mark.parametrize("bad", ["../secret", "/etc/passwd", "vendor/../../x", ""])
def test_join_asset_url_rejects_escapes(bad):
    with pytest.raises(ValueError):
        join_asset_url("/static", bad)


_segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=8)


@given(st.lists(_segment, min_size=1, max_size=3), st.lists(_segment, min_size=1, max_size=4))
def test_join_asset_url_property(prefix_parts, rel_parts):
    prefix = "/" + "/".join(prefix_parts)
    rel = "/".join(rel_parts)
    url = join_asset_url(prefix, rel)
    assert url == f"{prefix}/{rel}"
    assert join_asset_url(prefix + "/", rel) == url


def test_verify_assets_lists_every_missing_file(monkeypatch, tmp_path):
    monkeypatch.setattr(assets, "ASSET_DIR", tmp_path)
    with pytest.raises(ConfigError) as info:
        verify_assets()
    expected = sum(len(p.files) for p in VENDORED)
    assert len(info.value.problems) == expected
    assert {p.file for p in info.value.problems} == {x for p in VENDORED for x in p.paths()}
