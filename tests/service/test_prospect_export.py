"""The prospect CSV files of ``prm prospects export``, on both backends."""

from __future__ import annotations

import csv
from pathlib import Path

from data.models import ClinicSite, Prospect, Provider
from data.models.prospecting import ProspectExclusion
from service.prospecting.listing import PROVIDER_CSV_COLUMNS
from service.prospecting.segments import write_prospects_csv
from service.schemas import ProspectFilter

#: (provider, site, score, drive minutes): provider 1 is best at B (a higher score), 2 at B (a tie,
#: fewer minutes), 3 at B (a tie, A has no drive time), 4 only at A; 5 is excluded.
PLAN = [
    (1, "A", 70.0, 10.0),
    (1, "B", 80.0, 30.0),
    (2, "A", 60.0, 20.0),
    (2, "B", 60.0, 5.0),
    (3, "A", 50.0, None),
    (3, "B", 50.0, 40.0),
    (4, "A", 40.0, 12.0),
    (5, "A", 95.0, 1.0),
]


def components(score: float) -> list[dict]:
    return [
        {"name": "specialty", "value": 1.0, "weight": 0.5, "points": score / 2, "reason": "fit"},
        {"name": "proximity", "value": 0.5, "weight": 0.5, "points": score / 2, "reason": "near"},
    ]


def seed_prospects(ctx) -> dict[int, int]:
    """Two sites, five providers and the prospects of :data:`PLAN`; provider number -> id."""
    with ctx.sessions.begin() as s:
        sites = {code: ClinicSite(site_code=code, name=code, service_line="MRI") for code in "AB"}
        providers = {
            n: Provider(
                cluster_key=f"p{n}",
                npi=f"100000000{n}",
                entity_type="individual",
                display_name=f"DR {n}",
            )
            for n in range(1, 6)
        }
        s.add_all([*sites.values(), *providers.values()])
        s.flush()
        for n, code, score, minutes in PLAN:
            s.add(
                Prospect(
                    site_id=sites[code].id,
                    provider_id=providers[n].id,
                    profile="mri-default",
                    score=score,
                    segment="moderate-fit nearby",
                    drive_minutes=minutes,
                    distance_km=1.0,
                    components=components(score),
                )
            )
        s.add(ProspectExclusion(provider_id=providers[5].id, reason="do not contact"))
        return {n: p.id for n, p in providers.items()}


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_one_row_per_provider_at_its_best_site(ctx, tmp_path) -> None:
    ids = seed_prospects(ctx)
    out = tmp_path / "providers.csv"
    assert write_prospects_csv(ctx, out, one_per_provider=True) == 4
    rows = read(out)
    assert list(rows[0]) == list(PROVIDER_CSV_COLUMNS)
    assert [(r["provider_id"], r["best_site"], r["score"], r["drive_minutes"]) for r in rows] == [
        (str(ids[1]), "B", "80.0", "30.0"),
        (str(ids[2]), "B", "60.0", "5.0"),
        (str(ids[3]), "B", "50.0", "40.0"),
        (str(ids[4]), "A", "40.0", "12.0"),
    ]
    assert rows[0]["npi"] == "1000000001" and rows[0]["name"] == "DR 1"
    assert rows[0]["contributions"] == "specialty 40.0 (fit); proximity 40.0 (near)"


def test_without_the_flag_one_row_per_site_and_provider(ctx, tmp_path) -> None:
    seed_prospects(ctx)
    out = tmp_path / "prospects.csv"
    assert write_prospects_csv(ctx, out) == 7  # the excluded provider's prospect left out
    rows = read(out)
    assert [(r["display_name"], r["site_code"]) for r in rows][:2] == [("DR 1", "B"), ("DR 1", "A")]
    one_site = tmp_path / "site-a.csv"
    assert write_prospects_csv(ctx, one_site, filters=ProspectFilter(site="A")) == 4
    assert (
        write_prospects_csv(ctx, one_site, filters=ProspectFilter(site="A"), one_per_provider=True)
        == 4
    )
    assert {r["best_site"] for r in read(one_site)} == {"A"}
