"""Liaison territory plans: build a new version, list, read, draw.

A plan name (e.g. ``columbus-2027``) has versions 1, 2, ...: every build
stores a new version with its cells, territories (one per liaison) and
report; older versions stay readable. Each build is one transaction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from core.errors import GeoError, NotFoundError, Problem, TerritoryError
from data.models import (
    Catchment,
    CatchmentCell,
    Provider,
    Territory,
    TerritoryCell,
    TerritoryPlan,
    h3_column,
)
from service.context import AppContext
from service.placement.drivetime import cell_measures
from service.planning.schemas import TerritoryPlanCreate

__all__ = ["build_plan", "get_plan", "list_plans", "plan_frame", "plan_geojson"]


def _region(session, res: int, region: str, measures: pd.DataFrame) -> pd.DataFrame:  # noqa: ANN001
    if region == "catchments":
        cells = session.scalars(
            select(CatchmentCell.h3).join(Catchment).where(Catchment.resolution == res).distinct()
        ).all()
    else:
        cells = measures.index.tolist()
    arr = np.unique(np.asarray(cells, dtype="int64"))
    if arr.size == 0:
        raise TerritoryError(
            "the region has no cells",
            problems=[
                Problem(
                    f"no {region} cells at resolution {res}; run the pipeline first", field="region"
                )
            ],
        )
    frame = measures.reindex(arr).fillna(0.0)
    frame.index.name = "h3"
    return frame.reset_index()


def _locks(session, data: TerritoryPlanCreate, res: int) -> dict[int, str]:  # noqa: ANN001
    from geo.h3grid import h3_int

    locks: dict[int, str] = {}
    problems: list[Problem] = []

    def put(cell: int, liaison: str, what: str) -> None:
        if locks.get(cell, liaison) != liaison:
            problems.append(
                Problem(
                    f"cell locked to both {locks[cell]} and {liaison}",
                    field=what,
                    value=format(cell, "x"),
                )
            )
        locks[cell] = liaison

    for liaison, cells in data.locked_cells.items():
        for c in cells:
            try:
                put(h3_int(c), liaison, "locked_cells")
            except GeoError:
                problems.append(Problem("not an H3 cell", field="locked_cells", value=c))
    col = h3_column(Provider, res)
    for liaison, ids in data.locked_accounts.items():
        found = dict(session.execute(select(Provider.id, col).where(Provider.id.in_(ids))).all())
        for pid in ids:
            if found.get(pid) is None:
                problems.append(
                    Problem(
                        "unknown or unlocated provider", field="locked_accounts", value=str(pid)
                    )
                )
            else:
                put(int(found[pid]), liaison, "locked_accounts")
    if problems:
        raise TerritoryError("invalid locks", problems=problems)
    return locks


def build_plan(
    ctx: AppContext, data: TerritoryPlanCreate, *, created_by: str | None = None
) -> dict:
    """Partition the region into ``len(data.liaisons)`` territories and store a new version."""
    from geo.h3grid import cells_to_geometry
    from territories.liaison import partition_territories

    res = ctx.settings.catchment_resolution
    with ctx.sessions.begin() as session:
        measures = cell_measures(session, res=res)
        cells = _region(session, res, data.region, measures)
        locks = _locks(session, data, res)
        plan = partition_territories(
            cells,
            k=len(data.liaisons),
            weight=data.measure,
            liaisons=data.liaisons,
            locks=locks,
            max_seconds=data.max_seconds,
        )
        version = (
            session.scalar(
                select(func.max(TerritoryPlan.version)).where(TerritoryPlan.name == data.name)
            )
            or 0
        ) + 1
        row = TerritoryPlan(
            name=data.name,
            version=version,
            measure=data.measure,
            k=len(data.liaisons),
            resolution=res,
            region=data.region,
            balance=plan.balance,
            compactness=round(plan.compactness, 4),
            moves=plan.moves,
            created_by=created_by,
            report={
                "locked_cells": len(locks),
                "total_load": float(plan.territories["load"].sum()),
                "cells": len(plan.cells),
            },
        )
        session.add(row)
        session.flush()
        ids = {}
        for t in plan.territories.itertuples(index=False):
            members = plan.cells.loc[plan.cells["territory"] == t.territory, "h3"].to_numpy()
            terr = Territory(
                plan_id=row.id,
                number=int(t.territory),
                liaison=t.liaison,
                load=float(t.load),
                share=float(t.share),
                cell_count=int(t.cells),
                compactness=float(t.compactness),
                contiguous=bool(t.contiguous),
                geom=cells_to_geometry(members),
            )
            session.add(terr)
            session.flush()
            ids[int(t.territory)] = terr.id
        session.execute(
            TerritoryCell.__table__.insert(),
            [
                {
                    "plan_id": row.id,
                    "h3": int(h),
                    "territory_id": ids[int(t)],
                    "weight": float(w),
                    "locked": bool(lk),
                }
                for h, t, w, lk in zip(
                    plan.cells["h3"],
                    plan.cells["territory"],
                    plan.cells["weight"],
                    plan.cells["locked"],
                )
            ],
        )
        return _public(row, session)


def _public(row: TerritoryPlan, session) -> dict:  # noqa: ANN001
    terrs = session.scalars(
        select(Territory).where(Territory.plan_id == row.id).order_by(Territory.number)
    ).all()
    return {
        "name": row.name,
        "version": row.version,
        "measure": row.measure,
        "k": row.k,
        "resolution": row.resolution,
        "region": row.region,
        "balance_max_min": row.balance,
        "compactness": row.compactness,
        "moves": row.moves,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "report": row.report,
        "territories": [
            {
                "number": t.number + 1,
                "liaison": t.liaison,
                "load": round(t.load, 3),
                "share": round(t.share, 4),
                "cells": t.cell_count,
                "compactness": round(t.compactness, 4),
                "contiguous": t.contiguous,
            }
            for t in terrs
        ],
    }


def _plan(session, name: str, version: int | None) -> TerritoryPlan:  # noqa: ANN001
    stmt = select(TerritoryPlan).where(TerritoryPlan.name == name)
    stmt = (
        stmt.where(TerritoryPlan.version == version)
        if version is not None
        else stmt.order_by(TerritoryPlan.version.desc())
    )
    row = session.scalars(stmt.limit(1)).first()
    if row is None:
        raise NotFoundError(
            f"no territory plan {name!r}" + (f" version {version}" if version is not None else "")
        )
    return row


def get_plan(ctx: AppContext, name: str, *, version: int | None = None) -> dict:
    """One version of a plan (the newest when ``version`` is None)."""
    with ctx.sessions() as session:
        return _public(_plan(session, name, version), session)


def list_plans(ctx: AppContext) -> list[dict]:
    """Every plan name with its versions, newest first."""
    with ctx.sessions() as session:
        rows = session.execute(
            select(
                TerritoryPlan.name,
                TerritoryPlan.version,
                TerritoryPlan.measure,
                TerritoryPlan.k,
                TerritoryPlan.balance,
                TerritoryPlan.created_at,
            ).order_by(TerritoryPlan.name, TerritoryPlan.version.desc())
        ).all()
    return [
        {
            "name": n,
            "version": v,
            "measure": m,
            "k": k,
            "balance_max_min": b,
            "created_at": c.isoformat() if c else None,
        }
        for n, v, m, k, b, c in rows
    ]


def plan_frame(ctx: AppContext, name: str | None = None, *, version: int | None = None):  # noqa: ANN201
    """Territory outlines of a plan as a GeoDataFrame (the newest plan when no name), or None."""
    import geopandas as gpd

    with ctx.sessions() as session:
        if name is None:
            name = session.scalar(
                select(TerritoryPlan.name)
                .order_by(TerritoryPlan.created_at.desc(), TerritoryPlan.id.desc())
                .limit(1)
            )
            if name is None:
                return None
        row = _plan(session, name, version)
        terrs = session.scalars(
            select(Territory).where(Territory.plan_id == row.id).order_by(Territory.number)
        ).all()
        return gpd.GeoDataFrame(
            {
                "plan": row.name,
                "version": row.version,
                "measure": row.measure,
                "number": [t.number + 1 for t in terrs],
                "liaison": [t.liaison for t in terrs],
                "load": [t.load for t in terrs],
                "share": [t.share for t in terrs],
                "cells": [t.cell_count for t in terrs],
                "compactness": [t.compactness for t in terrs],
            },
            geometry=[t.geom for t in terrs],
            crs="EPSG:4326",
        )


def plan_geojson(ctx: AppContext, name: str, *, version: int | None = None) -> dict:
    """Territory outlines of a plan version as GeoJSON (one feature per liaison)."""
    frame = plan_frame(ctx, name, version=version)
    return frame.to_geo_dict(na="null", drop_id=True)
