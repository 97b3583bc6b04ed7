"""Catchments follow the settings in force: stale ones are removed, unchanged ones untouched."""

from __future__ import annotations

from sqlalchemy import select

from data.models import Catchment, CatchmentCell
from service.ingest.sites import load_sites
from service.placement.catchments import build_catchments
from tests.paths import FIXTURES


def kinds(ctx) -> set[tuple]:
    with ctx.sessions() as s:
        return set(
            s.execute(select(Catchment.method, Catchment.parameter, Catchment.resolution)).all()
        )


def test_changed_settings_replace_catchments(ctx) -> None:
    load_sites(ctx, FIXTURES / "service" / "sites_small.csv")  # a site off the test road network
    first = build_catchments(ctx)
    assert kinds(ctx) == {("radius", 5.0, 8), ("drive_time", 5.0, 8), ("drive_time", 10.0, 8)}
    assert first.detail["catchments_changed"] == 3
    assert build_catchments(ctx).detail["catchments_changed"] == 0  # same settings: nothing written

    smaller = ctx.settings.model_copy(
        update={"radius_km": 2.0, "drive_minutes": (5.0,), "catchment_resolution": 9}
    )
    object.__setattr__(ctx, "settings", smaller)
    build_catchments(ctx)
    assert kinds(ctx) == {("radius", 2.0, 9), ("drive_time", 5.0, 9)}
    with ctx.sessions() as s:
        ids = set(s.scalars(select(Catchment.id)).all())
        assert set(s.scalars(select(CatchmentCell.catchment_id).distinct()).all()) == ids
        estimated = s.scalars(
            select(Catchment.estimated).where(Catchment.method == "drive_time")
        ).one()
    assert estimated  # off the network: straight-line estimate, labelled
