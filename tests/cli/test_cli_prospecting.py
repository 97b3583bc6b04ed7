"""``prm referrals review``, ``prm alerts``, ``prm backtest`` and ``prm segments`` as a user runs them."""

from __future__ import annotations

import pytest

from tests.cli.test_cli import run  # noqa: F401 - the fixture
from tests.paths import FIXTURES

DATA = FIXTURES
SERVICE = FIXTURES / "service"


@pytest.mark.slow
def test_review_alerts_backtest_and_segments(run, tmp_path, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("PRM_AS_OF", "2024-06-30")
    # a second Texas doctor for the backtest: 49 km from the site, off the test road network,
    # estimated at 128 minutes (a 60 km radius catchment took it in when catchments were who
    # was scored)
    monkeypatch.setenv("PRM_PROSPECT_REACH_MINUTES", "180")
    for kind, path in (
        ("nucc", DATA / "nucc_taxonomy_220.csv"),
        ("nppes", DATA / "npidata_pfile_sample_first10.csv"),
        ("referrers", SERVICE / "referrers_small.csv"),
        ("sites", SERVICE / "sites_small.csv"),
        ("referrals", SERVICE / "referrals_small.csv"),
    ):
        assert run("ingest", kind, str(path)).exit_code == 0
    assert run("pipeline").exit_code == 0
    review = run("referrals", "review")
    assert review.exit_code == 0 and "E4" in review.output and "Dr. Sung" in review.output
    assert run("alerts", "--history").exit_code == 0
    bt = run("backtest", "TX1", "--hide-months", "3", "--k", "5")
    assert bt.exit_code == 0, bt.output
    assert (
        "precision@5" in bt.output
        and "distance only" in bt.output
        and "random (expected)" in bt.output
    )
    assert run("backtest", "NOPE").exit_code == 1
    missing = run("segments", "export", "nope", str(tmp_path / "x.csv"))
    assert missing.exit_code == 1 and "no segment" in missing.output


def test_prospects_export_one_row_per_provider_or_per_site(run, tmp_path) -> None:  # noqa: F811
    import csv

    from core.settings import Settings
    from service.context import open_context
    from tests.service.test_prospect_export import seed_prospects

    ctx = open_context(Settings(database_url=f"sqlite:///{run.db}", cache_dir=tmp_path / "cache"))
    try:
        ids = seed_prospects(ctx)
    finally:
        ctx.close()
    out = tmp_path / "providers.csv"
    result = run("prospects", "export", str(out), "--one-per-provider")
    assert result.exit_code == 0, result.output
    assert "4 providers" in result.output
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["provider_id"], r["best_site"]) for r in rows] == [
        (str(ids[1]), "B"),
        (str(ids[2]), "B"),
        (str(ids[3]), "B"),
        (str(ids[4]), "A"),
    ]
    per_site = run("prospects", "export", str(tmp_path / "all.csv"), "site=B")
    assert per_site.exit_code == 0 and "3 prospects" in per_site.output
    assert run("prospects", "export", str(tmp_path / "x.xlsx")).exit_code == 2
    assert run("prospects", "export", str(tmp_path / "y.csv"), "site=NOPE").exit_code == 1
