"""Referring, lapsed, tiers and prospects decided alike by every stage (prospects/terms.py).

One generated history with referrers at the boundaries of the windows (a
referral on the as-of day, 89, 90, 364, 365 and 800 days before it, tier A
referrals that lapsed, none at all), and the same provider asked of each
place that classifies it: the tiers stage (stored stats and its workflow
moves), the activity endpoint's service, the scoring stage (who is a
prospect, who has a referring colleague), the prospect list's ``tier``
filter, and the learned score's provider-months at a cut-off (the rows its fit
and backtest learn from and rank: :func:`service.prospecting.learning.line_history`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from data.models import (
    Catchment,
    CatchmentCell,
    ClinicSite,
    Organization,
    Prospect,
    Provider,
    ReferralEvent,
    ReferrerStat,
)
from data.models.prospecting import Interaction, ProspectStatus
from geo.h3grid import cell_to_latlng, grid_disk, latlng_to_cells
from service.prospecting.learning import line_history
from service.prospecting.listing import count_prospects
from service.prospecting.referrals import compute_referrer_stats, referrer_activity
from service.prospecting.scoring import score_sites
from service.schemas import ProspectFilter

AS_OF = date(2024, 6, 30)  # the stages' as-of day, and a cut-off of the learned history
SITE = (21.8745, -102.2700)  # inside the bundled Aguascalientes road extract

#: name -> (days before AS_OF of each referral, organisation)
HISTORY: dict[str, tuple[list[int], str | None]] = {
    "never": ([], None),
    "today": ([0], "north"),
    "colleague": ([], "north"),  # never referred; "today" refers from the same practice
    "d89": ([89], None),
    "d90": ([90], None),
    "d364": ([364], "alone"),  # lapsed, still referring; nobody else in its practice
    "d365": ([365], None),
    "old": ([800], None),
    "tier_a_lapsed": (list(range(100, 124)), None),  # 24 in the window, none in the last 100 days
    "tier_b_active": (list(range(6)), None),
}
REFERRING = {"today", "d89", "d90", "d364", "tier_a_lapsed", "tier_b_active"}
LAPSED = {"d90", "d364", "d365", "old", "tier_a_lapsed"}
TIERS = {
    "today": "C",
    "d89": "C",
    "d90": "C",
    "d364": "C",
    "d365": None,
    "old": None,
    "tier_a_lapsed": "A",
    "tier_b_active": "B",
}
#: everyone but the active referrers (referring and not lapsed)
PROSPECTS = {"never", "colleague", "d90", "d364", "d365", "old", "tier_a_lapsed"}
#: referrals after AS_OF: hidden from the stages, the labels of the cut-off AS_OF
LATER = {"never": 5, "d90": 30, "old": 60}


def _seed(ctx) -> dict[str, int]:
    centre = int(latlng_to_cells(*SITE, 8)[0])
    cells = [int(c) for c in grid_disk(centre, 2)]
    lats, lons = cell_to_latlng(cells)
    ids: dict[str, int] = {}
    with ctx.sessions.begin() as s:
        site = ClinicSite(
            site_code="AGS-N",
            name="Clinic",
            service_line="MRI",
            city="Aguascalientes",
            lat=SITE[0],
            lon=SITE[1],
            **{f"h3_r{r}": int(latlng_to_cells(*SITE, r)[0]) for r in (7, 8, 9)},
        )
        s.add(site)
        orgs = {
            key: Organization(org_key=key, name=key, member_count=2) for key in ("north", "alone")
        }
        s.add_all(orgs.values())
        s.flush()
        catchment = Catchment(
            site_id=site.id, method="radius", parameter=2.0, resolution=8, cell_count=len(cells)
        )
        s.add(catchment)
        s.flush()
        s.add_all(CatchmentCell(catchment_id=catchment.id, h3=c, distance_km=0.5) for c in cells)
        for i, (name, (ages, org)) in enumerate(HISTORY.items()):
            lat, lon = float(lats[i]), float(lons[i])
            prov = Provider(
                cluster_key=f"k{i}",
                npi=f"{1000000000 + i:010d}",
                entity_type="individual",
                display_name=name.upper(),
                last_name=name.upper(),
                taxonomy_code="207X00000X",
                classification="Orthopaedic Surgery",
                is_active=True,
                geocode_precision="street",
                organization_id=orgs[org].id if org else None,
                lat=lat,
                lon=lon,
                **{f"h3_r{r}": int(latlng_to_cells(lat, lon, r)[0]) for r in (7, 8, 9)},
            )
            s.add(prov)
            s.flush()
            ids[name] = prov.id
            days = [AS_OF - timedelta(days=a) for a in ages]
            if name in LATER:
                days.append(AS_OF + timedelta(days=LATER[name]))
            s.add_all(
                ReferralEvent(external_id=f"{name}-{n}", referral_date=d, provider_id=prov.id)
                for n, d in enumerate(days)
            )
        # liaisons are winning back a lapsed referrer and working an active one
        for name in ("d90", "d89"):
            s.add(
                ProspectStatus(
                    provider_id=ids[name],
                    status="contacted",
                    assigned_to="ana",
                    updated_by="ana",
                    updated_at=datetime(2024, 6, 1, tzinfo=UTC),
                )
            )
    return ids


def test_every_stage_classifies_each_provider_alike(ctx) -> None:
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"as_of": AS_OF}))
    ids = _seed(ctx)
    name_of = {v: k for k, v in ids.items()}
    compute_referrer_stats(ctx)
    score_sites(ctx)

    with ctx.sessions() as s:
        stats = {name_of[r.provider_id]: r for r in s.scalars(select(ReferrerStat))}
        prospects = {name_of[p.provider_id]: p for p in s.scalars(select(Prospect))}
        status = dict(s.execute(select(ProspectStatus.provider_id, ProspectStatus.status)).all())
        listed_lapsed = count_prospects(s, ProspectFilter(site="AGS-N", tier="lapsed"))
        listed_c = count_prospects(s, ProspectFilter(site="AGS-N", tier="C"))

    # the tiers stage
    assert {n for n, r in stats.items() if r.referring} == REFERRING
    assert {n: r.tier for n, r in stats.items()} == TIERS
    # the activity endpoint
    activity = {n: referrer_activity(ctx, pid) for n, pid in ids.items()}
    assert {n for n, a in activity.items() if a["lapsed"]} == LAPSED
    assert {n: a["tier"] for n, a in activity.items() if n in TIERS} == TIERS
    # the scoring stage: prospects are everyone but the active referrers
    assert set(prospects) == PROSPECTS == set(HISTORY) - (REFERRING - LAPSED)
    potential = {
        n: next(c["reason"] for c in p.components if c["name"] == "potential")
        for n, p in prospects.items()
    }
    warm = {n for n, reason in potential.items() if "a colleague already refers" in reason}
    assert warm == {"colleague"}  # d364's own referrals do not make its practice warm
    # the prospect list: 'lapsed' = a prospect who referred before
    assert listed_lapsed == len(PROSPECTS & LAPSED) and listed_c == 2  # d90, d364
    # the tiers stage's workflow moves: only a referrer who is active again "now refers"
    assert status[ids["d89"]] == "referring" and status[ids["d90"]] == "contacted"

    # the learned score's history: its prospects at the cut-off AS_OF are the scoring stage's,
    # seen as of that day; a call at the end of the year makes the six-month horizon known
    with ctx.sessions.begin() as s:
        s.add(
            Interaction(
                provider_id=ids["never"],
                kind="call",
                occurred_at=datetime(2024, 12, 31, 12, tzinfo=UTC),
            )
        )
    assert ctx.settings.scoring_horizon_months == 6
    history = line_history(ctx, service_line="MRI", as_of=date(2024, 12, 31))
    assert AS_OF in history.cutoffs
    rows = history.frame[history.frame["cutoff"] == AS_OF]
    rows = rows.assign(name=rows["provider_id"].map(name_of)).set_index("name")
    assert set(rows.index) == PROSPECTS
    assert set(rows.index[rows["referred_before"]]) == PROSPECTS & LAPSED
    assert set(rows.index[rows["colleagues_12m"] > 0]) == {"colleague"}  # d364's own do not warm
    assert set(rows.index[rows["started"] == 1]) == set(LATER)  # each later referral: a prospect
    assert rows["days_since_contact"].isna().all()  # the call is after the cut-off
