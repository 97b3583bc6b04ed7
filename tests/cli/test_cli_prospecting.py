"""``prm referrals review``, ``prm alerts``, ``prm scoring backtest`` and ``prm segments`` as a user
runs them."""

from __future__ import annotations

import pytest

from tests.cli.test_cli import run  # noqa: F401 - the fixture
from tests.paths import FIXTURES

DATA = FIXTURES
SERVICE = FIXTURES / "service"


@pytest.mark.slow
def test_review_alerts_backtest_and_segments(run, tmp_path, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("PRM_AS_OF", "2024-06-30")
    # a second Texas doctor among the prospects: 49 km from the site, off the test road network,
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
    # the backtest of the learned score refuses this tiny history with its reason: the as-of
    # day (PRM_AS_OF) lies after the last referral, and the five months of referrals are
    # shorter than the six-month horizon, so no cut-off can be judged
    late = run("scoring", "backtest", "--service-line", "MRI")
    assert late.exit_code == 2, late.output
    assert "outside the data (2024-01-05 to 2024-05-29)" in late.output
    bt = run("scoring", "backtest", "--service-line", "MRI", "--as-of", "2024-05-29")
    assert bt.exit_code == 1, bt.output
    assert "too short to learn from" in bt.output and "known horizon" in bt.output
    unknown = run("scoring", "backtest", "--service-line", "NOPE")
    assert unknown.exit_code == 1 and "no site offers service line 'NOPE'" in unknown.output
    assert run("backtest", "TX1").exit_code == 2  # the old command is gone
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
