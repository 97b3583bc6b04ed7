"""Catchments (stage ``prm catchments``): radius and drive-time cell sets per site.

A drive-time catchment is the site's isochrone (the one road router of
:mod:`geo.road_router`, with the settings' snapping rule and fallback); a site off
the network gets an estimated (straight-line) catchment flagged ``estimated``. Catchments are
upserted by (site, method, parameter, resolution) and their cells replaced only
when the set changed, so a re-run on the same data changes nothing.
"""

from __future__ import annotations

import time

import pandas as pd
import shapely
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.progress import ProgressSink, null_progress
from core.values import plain
from data.models import Catchment, CatchmentCell, ClinicSite
from service.context import AppContext
from service.schemas import StageReport


def build_catchments(ctx: AppContext, *, progress: ProgressSink = null_progress) -> StageReport:
    """Compute and store every site's catchments (one transaction)."""
    from geo.h3grid import cells_to_geometry
    from territories.catchments import site_catchments

    started = time.perf_counter()
    s = ctx.settings
    router = ctx.router_or_none if s.drive_minutes else None
    with ctx.sessions.begin() as session:
        sites = pd.DataFrame(
            session.execute(select(ClinicSite.id, ClinicSite.lat, ClinicSite.lon)).all(),
            columns=["site_id", "lat", "lon"],
        )
        if sites.empty:
            return StageReport(stage="catchments", detail={"sites": 0}, duration_s=0.0)
        progress("catchments", 0, len(sites))
        table = site_catchments(
            router,
            sites,
            minutes=s.drive_minutes,
            radius_km=s.radius_km,
            res=s.catchment_resolution,
            max_snap_m=s.max_snap_m,
            fallback=ctx.fallback,
            on_unreachable="estimate",
        )
        written, kept = 0, set()
        for (site_id, method, param), cells in table.groupby(
            ["site_id", "method", "parameter"], sort=True
        ):
            first = cells["snap_m"].iloc[0]
            snap_m = round(float(first), 1) if method == "drive_time" and pd.notna(first) else None
            catchment_id, changed = _store(
                session,
                int(site_id),
                method,
                float(param),
                s.catchment_resolution,
                cells,
                cells_to_geometry(cells["h3"].to_numpy()),
                snap_m,
            )
            kept.add(catchment_id)
            written += changed
        # catchments of settings no longer in force (other minutes, radius or resolution)
        stale = session.scalars(select(Catchment.id).where(Catchment.id.not_in(kept))).all()
        if stale:
            session.execute(delete(Catchment).where(Catchment.id.in_(stale)))
        written += len(stale)
        progress("catchments", len(sites), len(sites))
        summary = (
            table.groupby(["method", "parameter"])
            .agg(cells=("h3", "size"), truncated=("truncated", "any"))
            .reset_index()
            .to_dict("records")
        )
    return StageReport(
        stage="catchments",
        detail={
            "sites": len(sites),
            "catchments_changed": written,
            "road_network": router is not None,
            "summary": summary,
        },
        duration_s=round(time.perf_counter() - started, 3),
    )


def _store(
    session: Session,
    site_id: int,
    method: str,
    param: float,
    res: int,
    cells: pd.DataFrame,
    geometry: shapely.Geometry | None,
    snap_m: float | None,
) -> tuple[int, bool]:
    """Upsert one catchment; returns its id and whether anything changed."""
    catchment = session.scalars(
        select(Catchment).where(
            Catchment.site_id == site_id,
            Catchment.method == method,
            Catchment.parameter == param,
            Catchment.resolution == res,
        )
    ).first()
    truncated = bool(cells["truncated"].any())
    estimated = bool(cells["estimated"].any())
    new = {
        int(h): (None if plain(d) is None else round(float(d), 3), round(float(k), 4))
        for h, d, k in zip(cells["h3"], cells["drive_minutes"], cells["distance_km"], strict=True)
    }
    if catchment is None:
        catchment = Catchment(site_id=site_id, method=method, parameter=param, resolution=res)
        session.add(catchment)
        session.flush()
    else:
        old = {
            c.h3: (c.drive_minutes, c.distance_km)
            for c in session.scalars(
                select(CatchmentCell).where(CatchmentCell.catchment_id == catchment.id)
            )
        }
        if (
            old == new
            and catchment.truncated == truncated
            and catchment.estimated == estimated
            and catchment.snap_m == snap_m
        ):
            return catchment.id, False
        session.execute(delete(CatchmentCell).where(CatchmentCell.catchment_id == catchment.id))
    catchment.truncated = truncated
    catchment.estimated = estimated
    catchment.snap_m = snap_m
    catchment.cell_count = len(new)
    catchment.geom = geometry
    session.execute(
        CatchmentCell.__table__.insert(),
        [
            {"catchment_id": catchment.id, "h3": h, "drive_minutes": d, "distance_km": k}
            for h, (d, k) in new.items()
        ],
    )
    return catchment.id, True
