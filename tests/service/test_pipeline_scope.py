"""A scoped pipeline run (``--states``, ``--within-minutes``), on both backends."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from core.errors import InputError
from data.models import Prospect, Provider
from service.pipeline import run_pipeline
from service.placement.scope import (
    PipelineScope,
    check_minutes,
    parse_states,
    providers_in_scope,
)
from tests.service.test_pipeline import load_all


def _settle(ctx) -> None:
    object.__setattr__(
        ctx,
        "settings",
        ctx.settings.model_copy(
            update={"as_of": date(2024, 6, 30), "radius_km": 60.0, "catchment_resolution": 7}
        ),
    )


def _prospects(ctx) -> dict[int, tuple]:
    with ctx.sessions() as s:
        return {
            p.provider_id: (p.site_id, p.score, p.drive_minutes, p.segment)
            for p in s.scalars(select(Prospect))
        }


def _placed(ctx) -> dict[int, tuple]:
    with ctx.sessions() as s:
        return {p.id: (p.state, p.lat, p.lon, p.h3_r8) for p in s.scalars(select(Provider))}


def test_state_scope_geocodes_and_scores_only_its_states(ctx) -> None:
    _settle(ctx)
    load_all(ctx)
    run_pipeline(ctx, scope=PipelineScope(states=["OH"]))
    placed = _placed(ctx)
    assert any(lat is not None for st, lat, _, _ in placed.values() if st == "OH")
    outside = [row for row in placed.values() if row[0] != "OH"]
    assert outside and all(lat is None for _, lat, _, _ in outside)  # stored, never geocoded
    assert _prospects(ctx) == {}  # the only site is in Texas, 60 km: nobody from Ohio

    run_pipeline(ctx, scope=PipelineScope(states=["TX"]))
    scoped = _prospects(ctx)
    assert scoped
    run_pipeline(ctx)  # the whole file: Texas prospects are what the scoped run stored
    whole = _prospects(ctx)
    assert {pid: row for pid, row in whole.items() if pid in scoped} == scoped
    tx = {pid for pid, row in _placed(ctx).items() if row[0] == "TX"}
    assert set(scoped) == set(whole) & tx


def test_a_scoped_run_leaves_other_prospects_untouched(ctx) -> None:
    _settle(ctx)
    load_all(ctx)
    run_pipeline(ctx)
    before = _prospects(ctx)
    assert before
    with ctx.sessions.begin() as s:  # a stored value a re-score would overwrite
        for p in s.scalars(select(Prospect)):
            p.score = 1.0
    marked = _prospects(ctx)
    run_pipeline(ctx, scope=PipelineScope(states=["OH", "NY"]))
    assert _prospects(ctx) == marked  # not in scope: neither re-scored nor removed
    run_pipeline(ctx, scope=PipelineScope(states=["TX"]))
    assert _prospects(ctx) == before


def test_within_minutes_is_the_prospect_lists_drive_time(ctx) -> None:
    _settle(ctx)
    load_all(ctx)
    run_pipeline(ctx)
    whole = _prospects(ctx)
    minutes = sorted(row[2] for row in whole.values())
    cut = minutes[len(minutes) // 2]
    with ctx.sessions() as s:
        near = providers_in_scope(ctx, s, scope=PipelineScope(within_minutes=cut))
        ungeocoded = set(s.scalars(select(Provider.id).where(Provider.lat.is_(None))))
    assert {pid for pid, row in whole.items() if row[2] <= cut} == near & set(whole)
    assert not near & ungeocoded  # no coordinates, no drive time: out of scope

    with ctx.sessions.begin() as s:
        for p in s.scalars(select(Prospect)):
            p.score = 1.0
    run_pipeline(ctx, scope=PipelineScope(within_minutes=cut))
    after = _prospects(ctx)
    for pid, row in after.items():
        assert row == whole[pid] if pid in near else row[1] == 1.0


def test_scope_values_are_checked() -> None:
    assert parse_states(" oh,KY , oh") == ["KY", "OH"]
    for bad in ("", "XX", "OH;KY", "Ohio"):
        with pytest.raises(InputError):
            parse_states(bad)
    assert check_minutes(30.0) == 30.0
    for bad in (0.0, -5.0, float("nan"), float("inf"), 5000.0):
        with pytest.raises(InputError):
            check_minutes(bad)
    with pytest.raises(ValueError, match="XX"):
        PipelineScope(states=["XX"])
