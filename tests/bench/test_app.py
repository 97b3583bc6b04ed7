"""bench.app runs end to end on a tiny world (the figures themselves are never asserted)."""

from __future__ import annotations

import pytest

from bench.app import bench_app, bench_cap
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
