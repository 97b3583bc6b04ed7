"""Every reachable doctor is ranked: the score stage scores everyone within the drive-time reach.

The world of :mod:`tests.reachworld`: a site on a straight 120 km/h road, its
catchment about a kilometre wide, and doctors 1, 20 and 47.5 minutes down the
road, off the network near and far, and without coordinates. Catchments are a
stored flag and a list filter, not who is scored; the learned score's history
and backtest (:func:`service.prospecting.learning.line_universe`) rank the same
universe. On both backends.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sqlalchemy import delete, select

from core.settings import Settings
from data.models import ClinicSite, Prospect
from geo.distance import haversine_km
from service.prospecting.learning import line_universe
from service.prospecting.listing import count_prospects
from service.prospecting.prospect_writes import PROSPECT_VALUES
from service.prospecting.scoring import rescore_provider, score_sites
from service.schemas import ProspectFilter
from tests import reachworld
from tests.reachworld import DOCTORS, IN_REACH, ROUTED_MINUTES, SITE


def _stored(ctx, ids: dict[str, int]) -> dict[str, Prospect]:
    name_of = {v: k for k, v in ids.items()}
    with ctx.sessions() as s:
        return {name_of[p.provider_id]: p for p in s.scalars(select(Prospect))}


def _reach(ctx, minutes: float) -> None:
    update = {"prospect_reach_minutes": minutes}
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update=update))


def test_a_doctor_twenty_minutes_away_outside_every_catchment_is_scored(ctx) -> None:
    ids = reachworld.build(ctx)
    assert ctx.settings.prospect_reach_minutes == 45.0
    score_sites(ctx)
    stored = _stored(ctx, ids)
    assert set(stored) == IN_REACH  # not beyond 45 minutes, not off the network 52 min away
    assert stored["near"].in_catchment
    assert not stored["twenty"].in_catchment and not stored["off"].in_catchment
    for name, minutes in ROUTED_MINUTES.items():
        if name in stored:
            assert stored[name].drive_minutes == pytest.approx(minutes, abs=0.01), name
            assert not stored[name].proximity_estimated, name
    # off the network: the settings' straight-line estimate, flagged
    km = float(haversine_km(*SITE, *DOCTORS["off"])[0])
    assert stored["off"].proximity_estimated
    assert stored["off"].drive_minutes == pytest.approx(float(ctx.fallback.minutes(km)), abs=0.01)
    assert 20 < stored["off"].drive_minutes < 45
    # catchments filter the list
    with ctx.sessions() as s:
        assert count_prospects(s, ProspectFilter(site="ROAD", in_catchment=True)) == 1
        assert count_prospects(s, ProspectFilter(site="ROAD", in_catchment=False)) == 2
        assert count_prospects(s, ProspectFilter(site="ROAD")) == 3


def test_the_reach_setting_decides_who_is_scored(ctx) -> None:
    ids = reachworld.build(ctx)
    _reach(ctx, 15.0)
    score_sites(ctx)
    assert set(_stored(ctx, ids)) == {"near"}
    _reach(ctx, 50.0)  # 47.5 minutes down the road, 95 km: inside the SQL box too
    report = score_sites(ctx).detail["ROAD"]
    assert set(_stored(ctx, ids)) == IN_REACH | {"beyond"}
    assert report["inserted"] == 3 and report["removed"] == 0
    _reach(ctx, 45.0)
    assert score_sites(ctx).detail["ROAD"]["removed"] == 1
    assert set(_stored(ctx, ids)) == IN_REACH


def test_chunks_one_provider_rescoring_and_the_backtest_share_the_universe(ctx) -> None:
    ids = reachworld.build(ctx)
    score_sites(ctx)
    whole = {n: tuple(getattr(p, f) for f in PROSPECT_VALUES) for n, p in _stored(ctx, ids).items()}
    with ctx.sessions.begin() as s:
        s.execute(delete(Prospect))
    score_sites(ctx, chunk_providers=1)  # one search from the site, reused by every chunk
    chunked = _stored(ctx, ids)
    assert {n: tuple(getattr(p, f) for f in PROSPECT_VALUES) for n, p in chunked.items()} == whole

    with ctx.sessions.begin() as s:
        s.execute(delete(Prospect).where(Prospect.provider_id == ids["twenty"]))
        (row,) = rescore_provider(ctx, s, provider_id=ids["twenty"])
        assert row["site_code"] == "ROAD" and row["drive_minutes"] == pytest.approx(20.0)
        assert rescore_provider(ctx, s, provider_id=ids["beyond"]) == []
        assert rescore_provider(ctx, s, provider_id=ids["unplaced"]) == []
    again = _stored(ctx, ids)
    assert set(again) == IN_REACH and not again["twenty"].in_catchment

    with ctx.sessions() as s:
        site = s.scalars(select(ClinicSite)).one()
        cand = line_universe(ctx, s, [site])
    assert set(cand["provider_id"]) == {ids[n] for n in IN_REACH}
    assert np.all(cand["drive_minutes"] <= 45.0)
    minutes = dict(zip(cand["provider_id"], cand["drive_minutes"]))
    flagged = dict(zip(cand["provider_id"], cand["drive_estimated"]))
    for name, p in again.items():  # the stored prospects' minutes, unrounded
        assert minutes[ids[name]] == pytest.approx(p.drive_minutes, abs=0.005), name
        assert bool(flagged[ids[name]]) == p.proximity_estimated, name


def test_the_reach_is_a_positive_number_of_minutes(monkeypatch) -> None:
    monkeypatch.setenv("PRM_PROSPECT_REACH_MINUTES", "30")
    assert Settings().prospect_reach_minutes == 30.0
    for bad in (0, -5, float("inf"), float("nan")):
        with pytest.raises(ValidationError):
            Settings(prospect_reach_minutes=bad)


def test_the_nearest_competitor_of_the_line_is_driven_to_by_the_one_router(ctx) -> None:
    from data.models import Competitor
    from service.prospecting.learning import competitor_minutes, line_competitors

    ids = reachworld.build(ctx)
    with ctx.sessions() as s:
        site = s.scalars(select(ClinicSite)).one()
        before = line_universe(ctx, s, [site]).set_index("provider_id")
    assert before["competitor_minutes"].isna().all()  # no list: unknown
    assert not before["competitor_estimated"].any()
    with ctx.sessions.begin() as s:
        for name, line, km in (("Road MRI", "MRI", 30), ("Any line", None, 60), ("CT", "CT", 3)):
            lat, lon = reachworld.east(km)
            s.add(Competitor(name=name, service_line=line, lat=lat, lon=lon))
    with ctx.sessions() as s:
        rivals = line_competitors(s, "mri")
        assert [c.name for c in rivals] == ["Road MRI", "Any line"]  # not the CT centre
        cand = line_universe(ctx, s, [site]).set_index("provider_id")
    # on the road, 30 s a km: near (km 2) is 28 km from the MRI rival, twenty (km 40) 10 km
    assert cand.loc[ids["near"], "competitor_minutes"] == pytest.approx(14.0)
    assert cand.loc[ids["twenty"], "competitor_minutes"] == pytest.approx(5.0)
    assert not cand.loc[[ids["near"], ids["twenty"]], "competitor_estimated"].any()
    assert cand.loc[ids["off"], "competitor_estimated"]  # off the network: the estimate, flagged
    # the same minutes as the site's own rule gives from the rival (one router, one rule)
    lat, lon = DOCTORS["off"]
    minutes, flagged = competitor_minutes(ctx, rivals[:1], [lat], [lon])
    assert (minutes[0], flagged[0]) == (cand.loc[ids["off"], "competitor_minutes"], True)
    pd.testing.assert_frame_equal(
        cand.drop(columns=["competitor_minutes", "competitor_estimated"]),
        before.drop(columns=["competitor_minutes", "competitor_estimated"]),
    )
