"""The tiers and score stages store the same rows whatever their chunk size, and resume.

The data: the boundary histories of :mod:`tests.service.test_referral_terms`
(a colleague whose practice-mate refers, referrals at the window edges, worked
prospects) plus generated providers with random practices, referral histories
and CRM contacts, around two sites. Each stage runs over a chunk of one
provider, of a few, and over one chunk; the stored referrer stats, alerts,
workflow moves and prospects must match row for row. A run killed after some
chunks and resumed with their checkpoints ends with the same tables.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session

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
from data.models.prospecting import (
    Interaction,
    ProspectStatus,
    ProspectStatusHistory,
    ReferralAlert,
)
from data.models.security import WebhookDelivery
from geo.h3grid import cell_to_latlng, grid_disk, latlng_to_cells
from prospects.terms import is_referring
from service.integration.webhooks import subscribe
from service.prospecting.chunks import provider_ranges
from service.prospecting.prospect_writes import EVENT_MAX_PROSPECTS, PROSPECT_VALUES
from service.prospecting.referrals import compute_referrer_stats
from service.prospecting.scoring import _SiteTally, score_sites
from service.prospecting.universe import referring_bounds
from tests.service.test_referral_terms import AS_OF, SITE, _seed

TAXONOMIES = (
    ("207X00000X", "Orthopaedic Surgery"),
    ("207Q00000X", "Family Medicine"),
    ("208D00000X", "General Practice"),
    ("2084N0400X", "Psychiatry & Neurology"),
)


def _seed_more(ctx, *, n: int = 40, seed: int = 17) -> None:
    """A second site and ``n`` generated providers around both, with histories and contacts."""
    rng = random.Random(seed)
    centre = int(latlng_to_cells(*SITE, 8)[0])
    cells = [int(c) for c in grid_disk(centre, 3)]
    with ctx.sessions.begin() as s:
        west = (SITE[0] + 0.004, SITE[1] - 0.006)
        site = ClinicSite(
            site_code="AGS-W",
            name="Clinic West",
            service_line="physical therapy",
            city="Aguascalientes",
            lat=west[0],
            lon=west[1],
            **{f"h3_r{r}": int(latlng_to_cells(*west, r)[0]) for r in (7, 8, 9)},
        )
        s.add(site)
        orgs = [Organization(org_key=f"g{i}", name=f"Group {i}", member_count=5) for i in range(4)]
        orgs += list(s.scalars(select(Organization)))
        s.add_all(orgs)
        s.flush()
        catchment = Catchment(
            site_id=site.id, method="radius", parameter=3.0, resolution=8, cell_count=len(cells)
        )
        s.add(catchment)
        s.flush()
        s.add_all(CatchmentCell(catchment_id=catchment.id, h3=c, distance_km=1.0) for c in cells)
        for i in range(n):
            lat, lon = (float(v[0]) for v in cell_to_latlng([rng.choice(cells)]))
            lat, lon = lat + rng.uniform(-5e-4, 5e-4), lon + rng.uniform(-5e-4, 5e-4)
            code, label = rng.choice(TAXONOMIES)
            org = rng.choice([*orgs, None, None])
            prov = Provider(
                cluster_key=f"gen{i}",
                npi=f"{1500000000 + i:010d}",
                entity_type="individual",
                display_name=f"GEN {i}",
                last_name=f"GEN{i}",
                taxonomy_code=code,
                classification=label,
                is_active=rng.random() > 0.05,
                geocode_precision="street",
                organization_id=org.id if org else None,
                lat=lat,
                lon=lon,
                **{f"h3_r{r}": int(latlng_to_cells(lat, lon, r)[0]) for r in (7, 8, 9)},
            )
            s.add(prov)
            s.flush()
            ages = [rng.randint(-20, 800) for _ in range(rng.choice([0, 0, 1, 3, 8, 30]))]
            s.add_all(
                ReferralEvent(
                    external_id=f"gen{i}-{k}",
                    referral_date=AS_OF - timedelta(days=a),
                    provider_id=prov.id,
                )
                for k, a in enumerate(ages)
            )
            if rng.random() < 0.3:
                s.add(
                    Interaction(
                        provider_id=prov.id,
                        kind="visit",
                        occurred_at=datetime(2024, 6, 1, tzinfo=UTC)
                        - timedelta(days=rng.randint(0, 300)),
                    )
                )
            if rng.random() < 0.2:
                s.add(
                    ProspectStatus(
                        provider_id=prov.id,
                        status="contacted",
                        assigned_to="ana",
                        updated_by="ana",
                        updated_at=datetime(2024, 6, 1, tzinfo=UTC),
                    )
                )


@pytest.fixture
def seeded(ctx):
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"as_of": AS_OF}))
    _seed(ctx)
    _seed_more(ctx)
    subscribe(ctx, url="https://crm.example.com/new", event_types=["prospect.new_in_territory"])
    return ctx


def _tables(ctx) -> dict[str, object]:
    """What the two stages store, without surrogate ids or clock times."""
    with ctx.sessions() as s:
        stats = {
            r.provider_id: (
                r.referrals_window,
                r.referrals_total,
                r.first_referral,
                r.last_referral,
                r.trend,
                r.referring,
                r.tier,
                r.as_of,
            )
            for r in s.scalars(select(ReferrerStat))
        }
        alerts = sorted(
            (a.provider_id, a.rule, a.raised_on, a.tier, a.message, repr(a.history))
            for a in s.scalars(select(ReferralAlert))
        )
        statuses = sorted(
            (st.provider_id, st.status, st.note, st.updated_by)
            for st in s.scalars(select(ProspectStatus))
        )
        history = sorted(
            (h.provider_id, h.status, h.previous_status, h.note)
            for h in s.scalars(select(ProspectStatusHistory))
        )
        prospects = {
            (p.site_id, p.provider_id): tuple(getattr(p, f) for f in PROSPECT_VALUES)
            for p in s.scalars(select(Prospect))
        }
    return {
        "stats": stats,
        "alerts": alerts,
        "statuses": statuses,
        "history": history,
        "prospects": prospects,
    }


def _announced(ctx) -> dict[str, int]:
    """New prospects announced per site (the events' counts), each event within its limit."""
    out: dict[str, int] = {}
    with ctx.sessions() as s:
        for d in s.scalars(select(WebhookDelivery)):
            data = d.payload["data"]
            assert len(data["prospects"]) == min(data["count"], EVENT_MAX_PROSPECTS)
            out[data["site_code"]] = out.get(data["site_code"], 0) + data["count"]
    return out


def _wipe(ctx) -> None:
    """Back to the seeded state: no stats, alerts, moves, prospects or events."""
    with ctx.sessions.begin() as s:
        for model in (Prospect, ReferrerStat, ReferralAlert, ProspectStatusHistory):
            s.execute(delete(model))
        s.execute(delete(WebhookDelivery))
        s.execute(update(ProspectStatus).values(status="contacted", updated_by="ana", note=None))


def _run(ctx, chunk: int | None, **kw) -> tuple[dict, dict]:
    tiers = compute_referrer_stats(ctx, chunk_providers=chunk, **kw).detail
    score = score_sites(ctx, chunk_providers=chunk, **kw).detail
    return tiers, score


def test_stored_rows_do_not_depend_on_the_chunk_size(seeded) -> None:
    ctx = seeded
    whole = _run(ctx, None)
    with ctx.sessions() as s:
        assert len(provider_ranges(s, size=10**6)) == 1
        assert len(provider_ranges(s, size=1)) == s.query(Provider).count()
    expected, announced = _tables(ctx), _announced(ctx)
    assert expected["stats"] and expected["alerts"] and expected["history"]
    assert {k for k, _ in expected["prospects"]} == {1, 2}  # both sites
    assert whole[1]["AGS-W"]["prospects"] > 10
    for chunk in (1, 7):
        _wipe(ctx)
        assert _run(ctx, chunk) == whole, chunk
        assert _tables(ctx) == expected, chunk
        assert _announced(ctx) == announced, chunk
    # a chunked run over stored rows rewrites nothing and removes nothing
    again = score_sites(ctx, chunk_providers=3).detail
    for code, counts in again.items():
        assert counts["unchanged"] == whole[1][code]["inserted"]
        assert counts["inserted"] == counts["updated"] == counts["removed"] == 0
    assert _tables(ctx) == expected


class Killed(Exception):
    pass


class Recorder:
    """Checkpoints kept in memory: a mark counts once its transaction commits; ``kill_after``
    marks, the next one kills the run (its chunk is rolled back)."""

    def __init__(self, kill_after: int | None = None, done: set | None = None) -> None:
        self.kill_after = kill_after
        self.marks: set[tuple[str, str]] = set(done or ())
        self.skipped: list[tuple[str, str]] = []
        self.stored: list[tuple[str, str]] = []

    def done(self, stage: str, chunk: str) -> bool:
        if (stage, chunk) in self.marks:
            self.skipped.append((stage, chunk))
            return True
        return False

    def mark(self, session: Session, stage: str, chunk: str) -> None:
        if self.kill_after is not None and len(self.stored) >= self.kill_after:
            raise Killed(chunk)

        @event.listens_for(session, "after_commit", once=True)
        def _committed(_session: Session) -> None:
            self.marks.add((stage, chunk))
            self.stored.append((stage, chunk))


@pytest.mark.parametrize("kill_after", [0, 3])
def test_a_killed_run_resumes_from_its_last_chunk(seeded, kill_after: int) -> None:
    ctx = seeded
    whole = _run(ctx, 4)
    expected, announced = _tables(ctx), _announced(ctx)
    _wipe(ctx)

    killed = Recorder(kill_after=kill_after)
    with pytest.raises(Killed):
        compute_referrer_stats(ctx, chunk_providers=4, checkpoints=killed)
    assert len(killed.stored) == kill_after
    resumed = Recorder(done=killed.marks)
    compute_referrer_stats(ctx, chunk_providers=4, checkpoints=resumed)
    assert sorted(resumed.skipped) == sorted(killed.marks)

    killed = Recorder(kill_after=kill_after, done=resumed.marks)
    with pytest.raises(Killed):
        score_sites(ctx, chunk_providers=4, checkpoints=killed)
    resumed = Recorder(done=killed.marks)
    score_sites(ctx, chunk_providers=4, checkpoints=resumed)
    assert len([k for k in resumed.skipped if k[0] == "score"]) == kill_after
    assert _tables(ctx) == expected
    assert _announced(ctx) == announced
    # and a run whose every chunk is done stores nothing
    tiers, score = _run(ctx, 4, checkpoints=Recorder(done=resumed.marks))
    assert tiers["referrers"] == tiers["prospects_now_referring"] == 0 and tiers["tiers"] == {}
    assert tiers["alerts"] == {"raised": 0, "new": 0}
    nothing = {"prospects": 0, "inserted": 0, "updated": 0, "unchanged": 0, "removed": 0}
    assert score == dict.fromkeys(whole[1], nothing)
    assert _tables(ctx) == expected


def test_the_referring_bounds_select_whom_is_referring_calls_referring(ctx) -> None:
    """The SQL pre-filter on the colleagues' last referral keeps exactly the referring ones."""
    window = ctx.settings.referring_window_days
    ages = [-2, -1, 0, 1, window - 2, window - 1, window, window + 1, 3 * window]
    with ctx.sessions.begin() as s:
        for i, age in enumerate(ages):
            prov = Provider(
                cluster_key=f"b{i}", entity_type="individual", display_name=f"B{i}", is_active=True
            )
            s.add(prov)
            s.flush()
            s.add(
                ReferrerStat(
                    provider_id=prov.id,
                    as_of=AS_OF,
                    referrals_window=1,
                    referrals_total=1,
                    first_referral=AS_OF - timedelta(days=age),
                    last_referral=AS_OF - timedelta(days=age),
                    trend="flat",
                    referring=False,
                )
            )
    first, last = referring_bounds(as_of=AS_OF, window_days=window)
    with ctx.sessions() as s:
        every = pd.DataFrame(
            s.execute(select(ReferrerStat.provider_id, ReferrerStat.last_referral)).all(),
            columns=["provider_id", "last_referral"],
        )
        in_sql = set(
            s.scalars(
                select(ReferrerStat.provider_id).where(
                    ReferrerStat.last_referral.between(first, last)
                )
            )
        )
    referring = every[is_referring(every["last_referral"], as_of=AS_OF, window_days=window)]
    assert in_sql == set(referring["provider_id"]) and len(in_sql) == 4  # ages 0..window-1


@pytest.mark.parametrize("n", [1, 2, 5, 6, 101])
def test_the_reported_median_is_that_of_the_rounded_scores(n: int) -> None:
    scores = np.random.default_rng(n).uniform(0, 100, n)
    tally = _SiteTally("p")
    tally.add(pd.DataFrame({"score": scores, "segment": ["x"] * n}), {"inserted": n})
    assert tally.median() == round(float(np.median(np.round(scores, 1))), 1)
    assert tally.detail()["prospects"] == n and tally.detail()["inserted"] == n
