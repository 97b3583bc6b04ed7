"""``prm pipeline --states`` and ``--within-minutes`` as a user runs them."""

from __future__ import annotations

import sqlite3

import pytest

from tests.cli.test_cli import run  # noqa: F401 - the fixture
from tests.paths import FIXTURES

SERVICE = FIXTURES / "service"


@pytest.mark.parametrize(
    ("args", "option", "value"),
    [
        (("--states", "OH,XX"), "--states", "XX"),
        (("--states", ","), "--states", "','"),
        (("--within-minutes", "0"), "--within-minutes", "0.0"),
        (("--within-minutes", "-3"), "--within-minutes", "-3.0"),
        (("--within-minutes", "nan"), "--within-minutes", "nan"),
        (("--within-minutes", "soon"), "--within-minutes", "soon"),
    ],
)
def test_bad_scope_exits_2_naming_option_and_value(run, args, option, value) -> None:  # noqa: F811
    result = run("pipeline", *args)
    assert result.exit_code == 2
    assert option in result.output and value in result.output


def test_state_scope_leaves_other_states_ungeocoded(run, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("PRM_RADIUS_KM", "60")
    for kind, path in (
        ("nucc", FIXTURES / "nucc_taxonomy_220.csv"),
        ("nppes", FIXTURES / "npidata_pfile_sample_first10.csv"),
        ("sites", SERVICE / "sites_small.csv"),
    ):
        assert run("ingest", kind, str(path)).exit_code == 0
    result = run("pipeline", "--states", "tx", "--within-minutes", "90")
    assert result.exit_code == 0, result.output
    with sqlite3.connect(run.db) as db:
        rows = db.execute("SELECT state, lat IS NOT NULL FROM providers").fetchall()
        scored = db.execute(
            "SELECT count(*) FROM prospects JOIN providers p ON p.id = provider_id "
            "WHERE p.state != 'TX' OR drive_minutes > 90"
        ).fetchone()[0]
    assert {placed for state, placed in rows if state != "TX"} == {0}
    assert any(placed for state, placed in rows if state == "TX")
    assert scored == 0
