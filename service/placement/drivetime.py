"""Drive-time reads: isochrones, nearest-site assignment, overlap, cell measures.

Computed on request from the road network held by the context (the router is
built once per process); where no network is loaded every figure is a
straight-line estimate and says so (``estimated``). Nothing here writes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import InputError, Problem
from data.models import (
    Catchment,
    CatchmentCell,
    ClinicSite,
    Prospect,
    Provider,
    ReferrerStat,
    h3_column,
)
from service.context import AppContext
from service.pagination import encode_cursor, keyset
from service.queries import site_by_code
from service.schemas import Page, ProviderAssignment

__all__ = [
    "assignment_cells",
    "assignment_providers",
    "cell_measures",
    "isochrones",
    "overlap",
    "router_or_none",
    "sites_table",
]

TIER_VISITS = {"A": 3.0, "B": 2.0, "C": 1.0}
PROSPECT_VISIT_MIN_SCORE = 50.0


def router_or_none(ctx: AppContext):  # noqa: ANN201 - geo.road_router.RoadRouter | None
    """The context's road router, or None when no road network can be loaded."""
    return ctx.router_or_none


def sites_table(session: Session, site_code: str | None = None) -> pd.DataFrame:
    """``site_id`` (the site code), ``lat``, ``lon`` of located sites (one, or all)."""
    stmt = (
        select(ClinicSite.site_code, ClinicSite.lat, ClinicSite.lon)
        .where(ClinicSite.lat.is_not(None))
        .order_by(ClinicSite.site_code)
    )
    if site_code is not None:
        site_by_code(session, site_code)
        stmt = stmt.where(ClinicSite.site_code == site_code)
    return pd.DataFrame(session.execute(stmt).all(), columns=["site_id", "lat", "lon"])


def _minutes(ctx: AppContext, minutes: list[float] | None) -> list[float]:
    values = list(minutes) if minutes else list(ctx.settings.isochrone_minutes)
    bad = [
        Problem("must be between 0 and 180", field="minutes", value=str(m))
        for m in values
        if not 0 < m <= 180
    ]
    if bad or len(values) > 6:
        raise InputError(
            "invalid minutes", problems=bad or [Problem("at most 6 time limits", field="minutes")]
        )
    return values


def isochrones(
    ctx: AppContext,
    *,
    site_code: str | None = None,
    minutes: list[float] | None = None,
    res: int | None = None,
) -> Any:
    """Isochrones of one or every site (:class:`territories.isochrones.Isochrones`)."""
    from territories.isochrones import site_isochrones

    with ctx.sessions() as session:
        sites = sites_table(session, site_code)
    return site_isochrones(
        router_or_none(ctx),
        sites,
        minutes=_minutes(ctx, minutes),
        res=res or ctx.settings.catchment_resolution,
        max_snap_m=ctx.settings.max_snap_m,
        fallback=ctx.fallback,
    )


def isochrones_geojson(
    ctx: AppContext, *, site_code: str | None = None, minutes: list[float] | None = None
) -> dict:
    """Isochrone polygons as GeoJSON, with ``truncated``/``estimated`` and a label saying so."""
    iso = isochrones(ctx, site_code=site_code, minutes=minutes)
    polys = iso.polygons().rename(columns={"site_id": "site_code"})
    polys["label"] = [
        isochrone_label(s, m, truncated=t, estimated=e)
        for s, m, t, e in zip(
            polys["site_code"], polys["minutes"], polys["truncated"], polys["estimated"]
        )
    ]
    polys = polys[~polys.geometry.is_empty]
    return polys.to_geo_dict(na="null", drop_id=True)


def isochrone_label(site: str, minutes: float, *, truncated: bool, estimated: bool) -> str:
    """E.g. ``"COL1 · 20 min drive (truncated at network edge)"``."""
    tail = ""
    if estimated:
        tail = " (estimated: straight line, no road network)"
    elif truncated:
        tail = " (truncated at network edge)"
    return f"{site} · {minutes:g} min drive{tail}"


def _region_cells(session: Session, res: int) -> np.ndarray:
    col = h3_column(Provider, res)
    prov = session.scalars(
        select(col).where(col.is_not(None), Provider.is_active.is_(True)).distinct()
    ).all()
    catch = session.scalars(
        select(CatchmentCell.h3).join(Catchment).where(Catchment.resolution == res).distinct()
    ).all()
    return np.unique(np.asarray(list(prov) + list(catch), dtype="int64"))


def assignment_cells(ctx: AppContext, *, res: int | None = None) -> pd.DataFrame:
    """Nearest site by drive time of every cell holding a provider or in a catchment.

    Returns
    -------
    pandas.DataFrame
        ``h3``, ``site_code``, ``drive_minutes``, ``estimated``, ``snap_m``.
    """
    from territories.isochrones import nearest_site_for_cells

    res = res or ctx.settings.catchment_resolution
    with ctx.sessions() as session:
        sites = sites_table(session)
        cells = _region_cells(session, res)
    if sites.empty or cells.size == 0:
        return pd.DataFrame(columns=["h3", "site_code", "drive_minutes", "estimated", "snap_m"])
    out = nearest_site_for_cells(
        router_or_none(ctx),
        sites,
        cells,
        res=res,
        max_snap_m=ctx.settings.max_snap_m,
        fallback=ctx.fallback,
    )
    return out.rename(columns={"site_id": "site_code"})


MAX_ASSIGNMENT_PAGE = 5000


def assignment_providers(
    ctx: AppContext, *, limit: int = 1000, cursor: str | None = None
) -> Page[ProviderAssignment]:
    """Nearest site by drive time of located active providers, one page in provider id order.

    Parameters
    ----------
    ctx
        Application context.
    limit
        Page size, 1 to :data:`MAX_ASSIGNMENT_PAGE` (each page is routed on request).
    cursor
        ``next_cursor`` of the previous page; ``None`` for the first.

    Returns
    -------
    Page[ProviderAssignment]
        The page, ``next_cursor`` (``None`` on the last page) and ``total``
        (located active providers, all pages). Without sites, no items.

    Raises
    ------
    core.errors.InputError
        A page size out of range or an invalid cursor.
    """
    from territories.isochrones import nearest_site_for_points

    if not 1 <= limit <= MAX_ASSIGNMENT_PAGE:
        raise InputError(
            "page size out of range",
            problems=[
                Problem(
                    f"must be between 1 and {MAX_ASSIGNMENT_PAGE}", field="limit", value=str(limit)
                )
            ],
        )
    base = select(Provider.id, Provider.npi, Provider.lat, Provider.lon).where(
        Provider.lat.is_not(None), Provider.is_active.is_(True)
    )
    page_stmt = keyset(base, sort_col=None, id_col=Provider.id, cursor=cursor).limit(limit + 1)
    with ctx.sessions() as session:
        sites = sites_table(session)
        total = session.scalar(select(func.count()).select_from(base.subquery()))
        rows = pd.DataFrame(
            session.execute(page_stmt).all(), columns=["provider_id", "npi", "lat", "lon"]
        )
    more = len(rows) > limit
    rows = rows.iloc[:limit]
    items: list[ProviderAssignment] = []
    if not sites.empty and not rows.empty:
        router = router_or_none(ctx)
        near = nearest_site_for_points(
            router,
            sites,
            rows["lat"],
            rows["lon"],
            max_snap_m=ctx.settings.max_snap_m,
            fallback=ctx.fallback,
        )
        off = (
            (near["snap_m"].to_numpy() > ctx.settings.max_snap_m)
            if router is not None
            else np.ones(len(rows), bool)
        )
        for r, (_, n), o in zip(rows.itertuples(index=False), near.iterrows(), off):
            items.append(
                ProviderAssignment(
                    provider_id=int(r.provider_id),
                    npi=r.npi,
                    site_code=n["site_id"],
                    drive_minutes=round(float(n["drive_minutes"]), 2),
                    estimated=bool(n["estimated"]),
                    snap_m=None if pd.isna(n["snap_m"]) else round(float(n["snap_m"]), 1),
                    off_network=bool(o),
                )
            )
    nxt = encode_cursor(None, items[-1].provider_id) if more and items else None
    return Page[ProviderAssignment](items=items, next_cursor=nxt, total=int(total or 0))


def overlap(ctx: AppContext, *, minutes: float) -> list[dict]:
    """Pairs of sites whose isochrones at ``minutes`` share cells, with shared providers."""
    from territories.isochrones import catchment_overlap

    iso = isochrones(ctx, minutes=[minutes])
    res = ctx.settings.catchment_resolution
    with ctx.sessions() as session:
        demand = cell_measures(session, res=res, cells=iso.cells["h3"].unique())
    out = catchment_overlap(iso.cells, weights=demand["providers"])
    est = dict(zip(iso.summary["site_id"], iso.summary["estimated"]))
    trunc = dict(zip(iso.summary["site_id"], iso.summary["truncated"]))
    return [
        {
            "site_a": r.site_a,
            "site_b": r.site_b,
            "minutes": minutes,
            "shared_cells": int(r.shared_cells),
            "shared_providers": int(r.shared_weight),
            "share_a": round(float(r.share_a), 4),
            "share_b": round(float(r.share_b), 4),
            "estimated": bool(est[r.site_a] or est[r.site_b]),
            "truncated": bool(trunc[r.site_a] or trunc[r.site_b]),
        }
        for r in out.itertuples(index=False)
    ]


def cell_measures(session: Session, *, res: int, cells: Any = None) -> pd.DataFrame:
    """Per H3 cell: ``providers``, ``potential`` and ``workload`` (see
    :data:`service.planning.schemas.Measure`), indexed by ``h3``; optionally only ``cells``."""
    col = h3_column(Provider, res).label("h3")
    best = (
        select(Prospect.provider_id, func.max(Prospect.score).label("score"))
        .group_by(Prospect.provider_id)
        .subquery()
    )
    stmt = (
        select(Provider.id, col, best.c.score, ReferrerStat.tier, ReferrerStat.referring)
        .outerjoin(best, best.c.provider_id == Provider.id)
        .outerjoin(ReferrerStat, ReferrerStat.provider_id == Provider.id)
        .where(col.is_not(None), Provider.is_active.is_(True))
    )
    frame = pd.DataFrame(
        session.execute(stmt).all(), columns=["id", "h3", "score", "tier", "referring"]
    )
    if cells is not None:
        frame = frame[frame["h3"].isin(np.asarray(cells, dtype="int64"))]
    score = pd.to_numeric(frame["score"], errors="coerce").fillna(0.0)
    # float even when no row matched (an empty text column maps to an empty text column)
    visits = (
        frame["tier"]
        .map(TIER_VISITS)
        .astype("float64")
        .where(frame["referring"].fillna(False).astype(bool))
    )
    frame = frame.assign(
        providers=1.0,
        potential=score / 100.0,
        workload=visits.fillna(0.0) + (score >= PROSPECT_VISIT_MIN_SCORE).astype(float),
    )
    out = frame.groupby("h3")[["providers", "potential", "workload"]].sum()
    out.index = out.index.astype("int64")
    return out
