"""``prm roads / isochrones / territories / expansion`` as a user runs them."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.paths import FIXTURES

DATA = FIXTURES


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("PRM_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    monkeypatch.setenv("PRM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PRM_OSM_FILE", str(DATA / "osm" / "aguascalientes.osm.pbf"))
    monkeypatch.setenv("PRM_DRIVE_MINUTES", "[3]")
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site_code,name,service_line,lat,lon\n"
        "AGS-N,North,MRI,21.8745,-102.2700\nAGS-S,South,MRI,21.8640,-102.2630\n"
    )

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    assert invoke("ingest", "sites", str(sites)).exit_code == 0
    return invoke


def test_roads_and_isochrones(run) -> None:
    r = run("roads")
    assert r.exit_code == 0 and "aguascalientes.osm.pbf" in r.output and "nodes" in r.output
    r = run("isochrones", "--minutes", "1", "--minutes", "8")
    assert r.exit_code == 0, r.output
    assert "AGS-N · 1 min drive" in r.output and "(truncated at network edge)" in r.output
    assert run("isochrones", "--site", "NOPE").exit_code == 1


def test_territories_and_expansion(run, tmp_path) -> None:
    assert run("catchments").exit_code == 0
    r = run("territories", "build", "ags", "--liaison", "Ana", "--liaison", "Ben")
    assert r.exit_code == 0, r.output
    assert "plan ags v1" in r.output and "Ana" in r.output and "Ben" in r.output
    assert (
        "plan ags v2"
        in run("territories", "build", "ags", "--liaison", "A", "--liaison", "B").output
    )
    assert "plan ags v1" in run("territories", "show", "ags", "--version", "1").output
    bad = run("territories", "build", "x", "--liaison", "A", "--lock-cell", "nohex")
    assert bad.exit_code == 2 and "LIAISON=VALUE" in bad.output

    cands = tmp_path / "cands.csv"
    cands.write_text("label,lat,lon,postal_code\nwest,21.87,-102.28,\nfar,21.95,-102.20,\n")
    r = run("expansion", "plan", "s1", str(cands), "--minutes", "3", "--pick", "1")
    assert r.exit_code == 0, r.output
    assert "scenario s1: best 1 by ilp" in r.output and "estimated" in r.output
    out = tmp_path / "cmp.csv"
    r = run("expansion", "compare", "s1", "--csv", str(out))
    assert r.exit_code == 0 and "ilp (optimal)" in r.output
    rows = list(csv.DictReader(out.open()))
    assert [row["label"] for row in rows] == ["far", "west"]
    # no provider loaded: nothing adds anything (two picks of 0.0 were made without a word);
    # "far" is off the road network besides
    idle = tmp_path / "idle.csv"
    idle.write_text("label,lat,lon\nwest,21.87,-102.28\ntwin,21.87,-102.28\nfar,21.95,-102.20\n")
    r = run("expansion", "plan", "s3", str(idle), "--minutes", "3", "--pick", "3")
    assert r.exit_code == 0, r.output
    assert "adds 0.0 providers: none" in r.output
    assert (
        "0 of 3 picked; 3 left unpicked: far (off the road network); twin (adds nothing); "
        "west (adds nothing)"
    ) in r.output
    missing = tmp_path / "m.csv"
    missing.write_text("label,lat,lon\nonly-lat,21.8,\n")
    r = run("expansion", "plan", "s2", str(missing))
    assert r.exit_code == 2 and "m.csv" in r.output
