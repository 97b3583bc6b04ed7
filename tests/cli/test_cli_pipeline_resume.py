"""``prm pipeline`` resumes an unfinished run and says so; ``--restart`` starts afresh."""

from __future__ import annotations

import sqlite3

from tests.cli.test_cli import run  # noqa: F401 - the fixture
from tests.paths import FIXTURES

SERVICE = FIXTURES / "service"


def _unfinish(db) -> None:
    """As if the latest run had been killed during score: interrupted, score not stored."""
    with sqlite3.connect(db) as conn:
        (latest,) = conn.execute("SELECT max(id) FROM pipeline_runs").fetchone()
        conn.execute("UPDATE pipeline_runs SET status = 'interrupted' WHERE id = ?", (latest,))
        conn.execute("DELETE FROM pipeline_chunks WHERE run_id = ? AND stage = 'score'", (latest,))


def test_pipeline_resumes_an_interrupted_run_and_restart_starts_afresh(run) -> None:  # noqa: F811
    for kind, path in (
        ("nucc", FIXTURES / "nucc_taxonomy_220.csv"),
        ("nppes", FIXTURES / "npidata_pfile_sample_first10.csv"),
        ("sites", SERVICE / "sites_small.csv"),
    ):
        assert run("ingest", kind, str(path)).exit_code == 0
    first = run("pipeline")
    assert first.exit_code == 0, first.output
    assert "starting pipeline run (scope everything)" in first.output

    _unfinish(run.db)
    resumed = run("pipeline")
    assert resumed.exit_code == 0, resumed.output
    assert (
        "resuming interrupted pipeline run 1: stages done catchments, geocode, link, tiers"
        in resumed.output
    )
    assert "completed earlier by pipeline run 1" in resumed.output

    _unfinish(run.db)
    restarted = run("pipeline", "--restart")
    assert restarted.exit_code == 0, restarted.output
    assert (
        "--restart: interrupted pipeline run 1 left as it is; starting afresh" in restarted.output
    )
    assert "completed earlier" not in restarted.output

    _unfinish(run.db)  # the latest run (2) now
    other = run("pipeline", "--states", "TX")
    assert "pipeline run 2 covered another scope" in other.output and other.exit_code == 0
    with sqlite3.connect(run.db) as conn:
        statuses = conn.execute("SELECT id, status FROM pipeline_runs ORDER BY id").fetchall()
    assert statuses == [(1, "interrupted"), (2, "interrupted"), (3, "done")]


def test_pipeline_links_incrementally_unless_asked_for_a_full_link(run) -> None:  # noqa: F811
    for kind, path in (
        ("nucc", FIXTURES / "nucc_taxonomy_220.csv"),
        ("nppes", FIXTURES / "npidata_pfile_sample_first10.csv"),
    ):
        assert run("ingest", kind, str(path)).exit_code == 0
    assert "'mode': 'full'" in run("pipeline").output.replace('"', "'")
    assert "'mode': 'incremental'" in run("pipeline").output.replace('"', "'")
    full = run("pipeline", "--full-link")
    assert full.exit_code == 0, full.output
    assert "'mode': 'full'" in full.output.replace('"', "'")
