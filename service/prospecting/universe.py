"""Who is scored for a site, and the inputs every scorer shares.

The one definition of the prospect universe (:func:`reachable`: every active
provider within ``settings.prospect_reach_minutes`` of drive from a site), the
drive minutes to a site (:func:`add_proximity`, :func:`site_reach`), the
referring colleagues of organisations, and the shipped scoring profiles. The
score stage (:mod:`service.prospecting.scoring`), the served model
(:mod:`service.prospecting.served_model`) and the learned score's history, fit and
backtest (:mod:`service.prospecting.learning`) read them from here.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.sequences import chunked
from data.models import (
    Catchment,
    CatchmentCell,
    ClinicSite,
    Competitor,
    Organization,
    Provider,
    ReferrerStat,
    h3_column,
)
from service.context import AppContext
from service.prospecting.chunks import IdRange
from service.security.privacy import objected

if TYPE_CHECKING:
    from geo.drive_times import Reach

__all__ = [
    "DEFAULT_PROFILE",
    "add_proximity",
    "drive_minutes",
    "profile_for",
    "reach_box",
    "reachable",
    "referring_bounds",
    "referring_colleagues",
    "shipped",
    "site_reach",
]

DEFAULT_PROFILE = "imaging_mri"


def shipped() -> dict:
    """The shipped scoring profiles by name."""
    from prospects.profiles import load_profile, shipped_profiles

    return {name: load_profile(path) for name, path in shipped_profiles().items()}


def profile_for(service_line: str, profiles: dict):  # noqa: ANN201
    """The profile whose service line (or name) matches the site's, else the default."""
    wanted = service_line.strip().lower()
    for profile in profiles.values():
        if profile.service_line.lower() == wanted or profile.name.lower() == wanted:
            return profile
    return profiles[DEFAULT_PROFILE]


def reach_box(ctx: AppContext, site: ClinicSite) -> tuple[float, float, float, float]:
    """``(west, south, east, north)``: where every provider within reach of ``site`` lies.

    The reach is ``settings.prospect_reach_minutes`` of drive by the one rule
    (:func:`geo.drive_times.minutes_from`); the box holds the circle of
    :func:`geo.drive_times.reach_km`, the farthest those minutes go in a straight
    line at the fastest speed the rule can give (the router's fastest road,
    else the fallback's ``speed_kph / circuity``), so the SQL pre-selection it
    makes loses no one within reach. It is wider than the reach (roads wind,
    and few are that fast): who is kept is decided on the minutes themselves.
    """
    from geo.distance import bounding_box
    from geo.drive_times import reach_km

    km = reach_km(ctx.router_or_none, ctx.settings.prospect_reach_minutes, fallback=ctx.fallback)
    # 0.1 % and a metre wider: a provider exactly at the edge survives rounding in SQL
    return bounding_box(site.lat, site.lon, km * 1.001 + 0.001)


def candidates_in(box: tuple[float, float, float, float]) -> tuple:
    """Who may be a prospect, as SQL conditions on ``Provider``: active, placed inside
    ``box`` (``west, south, east, north``: a :func:`reach_box`) and not objected (GDPR
    objection: never a prospect). The one rule the score stage and a line's history share."""
    west, south, east, north = box
    return (
        Provider.is_active.is_(True),
        Provider.lat.between(south, north),
        Provider.lon.between(west, east),
        Provider.id.not_in(objected()),
    )


def reachable(
    ctx: AppContext,
    session: Session,
    site: ClinicSite,
    *,
    rows: IdRange | None = None,
    reach: Reach | None = None,
) -> pd.DataFrame:
    """Who is scored for ``site``: every active provider (referring or not, objection-free)
    within ``settings.prospect_reach_minutes`` of drive from it (``rows``: with an id in
    that range only).

    The one definition of the universe, for the score stage; a line's history
    (:func:`service.prospecting.learning.line_universe`) applies it to the line's sites.
    Rows are pre-selected in SQL by :func:`reach_box` (the same statement on
    both backends), then their drive minutes computed as :func:`add_proximity`
    does (``reach``: the site's :func:`site_reach`) and those within reach kept;
    a provider without coordinates has no drive time and is not within reach.
    ``in_catchment`` says whether the provider's cell (at the catchment
    resolution) lies in one of the site's catchments: catchments filter the
    prospect list, they no longer decide who is scored.
    """
    res = ctx.settings.catchment_resolution
    cell_col = h3_column(Provider, res)
    catchment_cells = (
        select(CatchmentCell.h3)
        .join(Catchment, Catchment.id == CatchmentCell.catchment_id)
        .where(Catchment.site_id == site.id, Catchment.resolution == res)
    )
    stmt = (
        select(
            Provider.id.label("provider_id"),
            Provider.taxonomy_code,
            Provider.classification,
            Provider.entity_type,
            Provider.lat,
            Provider.lon,
            Provider.organization_id,
            func.coalesce(Organization.member_count, 1).label("practice_size"),
            cell_col.in_(catchment_cells).label("in_catchment"),
        )
        .outerjoin(Organization, Organization.id == Provider.organization_id)
        .where(*candidates_in(reach_box(ctx, site)))
        .order_by(Provider.id)
    )
    if rows is not None:
        stmt = stmt.where(rows.where(Provider.id))
    frame = pd.DataFrame(session.execute(stmt).mappings().all())
    if frame.empty:
        return frame
    frame["practice_size"] = frame["practice_size"].clip(lower=1)
    # NULL (no cell at that resolution) is not in a catchment; SQLite answers 0/1
    frame["in_catchment"] = frame["in_catchment"].astype("boolean").fillna(False).astype(bool)
    add_proximity(ctx, frame, site, reach=reach)
    within = frame["drive_minutes"] <= ctx.settings.prospect_reach_minutes
    return frame[within].reset_index(drop=True)


#: Organisation ids per ``IN (...)`` list: below both backends' bound-parameter limits.
_IN_BATCH = 5000


def referring_bounds(*, as_of: date, window_days: int) -> tuple[date, date]:
    """First and last day of a referring referrer's last referral, for SQL pre-filters.

    The bounds of :func:`prospects.terms.is_referring`'s window
    (:func:`prospects.terms.window_start` to ``as_of``): a SQL filter on them
    keeps every stat that function calls referring, which then decides.
    """
    from prospects.terms import window_start

    return window_start(as_of=as_of, days=window_days), as_of


def referring_colleagues(
    session: Session, organizations: pd.Series, *, as_of: date, window_days: int
) -> pd.DataFrame:
    """``provider_id``, ``last_referral``, ``organization_id`` of the referring members of these
    organisations (wherever they are), :func:`prospects.terms.is_referring` deciding."""
    from prospects.terms import is_referring

    first, last = referring_bounds(as_of=as_of, window_days=window_days)
    orgs = sorted({int(o) for o in organizations.dropna()})
    found = []
    for batch in chunked(orgs, _IN_BATCH):
        found += session.execute(
            select(ReferrerStat.provider_id, ReferrerStat.last_referral, Provider.organization_id)
            .join(Provider, Provider.id == ReferrerStat.provider_id)
            .where(
                Provider.organization_id.in_(batch),
                ReferrerStat.last_referral.between(first, last),
            )
        ).all()
    colleagues = pd.DataFrame(found, columns=["provider_id", "last_referral", "organization_id"])
    return colleagues[
        is_referring(colleagues["last_referral"], as_of=as_of, window_days=window_days)
    ]


def add_proximity(
    ctx: AppContext, cand: pd.DataFrame, site: ClinicSite, *, reach: Reach | None = None
) -> None:
    """Add ``distance_km``, ``drive_minutes`` and ``proximity_estimated`` in place.

    The drive minutes every other view shows (:func:`geo.drive_times.minutes_from`
    with the settings' rule): routed where the site and the provider are on the
    network, else the straight-line estimate with ``proximity_estimated`` True;
    NaN for a provider without coordinates. ``reach``: the site's
    :func:`site_reach`, when it answers many batches.
    """
    from geo.distance import haversine_km

    lat, lon = cand["lat"].to_numpy(float), cand["lon"].to_numpy(float)
    cand["distance_km"] = haversine_km(site.lat, site.lon, lat, lon)
    cand["drive_minutes"], cand["proximity_estimated"] = drive_minutes(
        ctx, site, lat, lon, reach=reach
    )


def drive_minutes(
    ctx: AppContext,
    site: ClinicSite | Competitor,
    lat: np.ndarray,
    lon: np.ndarray,
    *,
    reach: Reach | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Drive minutes from ``site`` (or a competitor) to each point and whether each is the
    straight-line estimate: :func:`geo.drive_times.minutes_from` with the settings' snapping and
    fallback."""
    from geo.drive_times import minutes_from

    return minutes_from(
        ctx.router_or_none,
        site.lat,
        site.lon,
        lat,
        lon,
        max_snap_m=ctx.settings.max_snap_m,
        fallback=ctx.fallback,
        reach=reach,
    )


def site_reach(ctx: AppContext, site: ClinicSite | Competitor) -> Reach:
    """The router's one whole search from the site, or a competitor (:func:`geo.drive_times.reach_from`)."""
    from geo.drive_times import reach_from

    return reach_from(
        ctx.router_or_none,
        site.lat,
        site.lon,
        max_snap_m=ctx.settings.max_snap_m,
        fallback=ctx.fallback,
    )
