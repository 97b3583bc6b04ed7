"""bench.app runs end to end on a tiny world (the figures themselves are never asserted)."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from bench.app import _sign_in, bench_app, bench_cap, bench_map
from bench.server import free_port, serving
from bench.viewport import ENV
from bench.world import world_url

pytestmark = pytest.mark.slow


def test_the_app_bench_prints_its_figures_on_a_tiny_world(chromium, tmp_path, capsys):
    env = ENV | {"PRM_DATABASE_URL": world_url(300, cache=tmp_path)}
    with serving(env, port=free_port()) as base:
        bench_app(chromium, base, 1)
        bench_cap(base)
    out = capsys.readouterr().out
    for figure in ("bytes transferred", "first interactive map + list", "filter change", "cap"):
        assert figure in out, out
    assert "(cap 2,000; ok)" in out, out  # 294: the generator deactivates 1 in 50


def test_the_bench_signs_in_before_it_opens_map(chromium, tmp_path, capsys):
    # "**/app**" matched the sign-in page's own "/signin?next=/app": the bench went on before
    # the sign-in ended, and /map then failed (net::ERR_ABORTED) or showed the sign-in page
    env = ENV | {"PRM_DATABASE_URL": world_url(300, cache=tmp_path)}
    with serving(env, port=free_port()) as base:
        context = chromium.new_context()

        def slow_sign_in(route):  # the server's sign-in a little slow, as under load
            if route.request.method == "POST":
                time.sleep(0.3)
            route.continue_()

        context.route("**/v1/session", slow_sign_in)
        try:
            page = _sign_in(context, base)
            assert urlsplit(page.url).path == "/app", page.url
        finally:
            context.close()
        bench_map(chromium, base, "at 300 providers")
    out = capsys.readouterr().out
    assert "/map at 300 providers: loaded in" in out, out
