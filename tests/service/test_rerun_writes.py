"""Re-running the tiers and score stages writes only what changed, in bulk, on both backends.

The stored referrer stats and prospects are read and written without ORM objects; a second
run over the same data must report every row unchanged, restore a tampered value, and drop
a row that no longer belongs (the seeded history of :mod:`tests.service.test_referral_terms`).
"""

from __future__ import annotations

from sqlalchemy import select, update

from data.models import Prospect, ReferrerStat
from service.prospecting.referrals import compute_referrer_stats
from service.prospecting.scoring import score_sites
from tests.service.test_referral_terms import AS_OF, _seed


def _snapshot(ctx) -> tuple[dict, dict]:
    with ctx.sessions() as s:
        stats = {
            r.provider_id: (r.tier, r.referrals_total, r.last_referral, r.trend)
            for r in s.scalars(select(ReferrerStat))
        }
        prospects = {
            (p.site_id, p.provider_id): (p.score, p.segment, p.drive_minutes, p.components)
            for p in s.scalars(select(Prospect))
        }
    return stats, prospects


def test_second_run_restores_tampered_rows_and_drops_stale_ones(ctx) -> None:
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"as_of": AS_OF}))
    ids = _seed(ctx)
    compute_referrer_stats(ctx)
    first = score_sites(ctx).detail
    stats, prospects = _snapshot(ctx)
    assert stats and prospects

    again = score_sites(ctx).detail
    for code, counts in again.items():
        assert counts["unchanged"] == first[code]["inserted"], code
        assert counts["inserted"] == counts["updated"] == counts["removed"] == 0

    (site_id, pid), _ = next(iter(prospects.items()))
    active = ids["today"]
    with ctx.sessions.begin() as s:
        s.execute(
            update(Prospect)
            .where(Prospect.site_id == site_id, Prospect.provider_id == pid)
            .values(score=-1.0, segment="tampered")
        )
        s.execute(
            update(ReferrerStat)
            .where(ReferrerStat.provider_id == active)
            .values(referrals_total=-5, tier="Z")
        )
        # an active referrer is no prospect: its row is dropped by the next run
        s.add(
            Prospect(
                site_id=site_id,
                provider_id=active,
                profile="x",
                score=1.0,
                segment="stale",
                distance_km=1.0,
                components=[],
            )
        )

    compute_referrer_stats(ctx)
    third = score_sites(ctx).detail
    assert sum(c["updated"] for c in third.values()) == 1
    assert sum(c["removed"] for c in third.values()) == 1
    assert _snapshot(ctx) == (stats, prospects)
