"""Expansion scenarios: evaluate candidate sites, pick the best N, compare, export.

A scenario names a set of candidates (coordinates, or a US postcode's
centroid), a drive time and a measure. Existing sites' isochrones at that
drive time are the covered area; each candidate's isochrone gives its added
white space, its cannibalisation of existing sites and the overlap per site;
:func:`territories.expansion.best_candidates` picks the best ``pick`` of them.
Each evaluation is stored (one transaction) and can be compared side by side
with others or exported as CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, select

from core.errors import ConflictError, InputError, NotFoundError, Problem
from core.spreadsheet import neutralise_formula
from data.models import ExpansionCandidate, ExpansionScenario
from service.context import AppContext
from service.placement.drivetime import cell_measures, router_or_none, sites_table
from service.placement.locate import place_point
from service.planning.schemas import ScenarioCreate

__all__ = [
    "compare_scenarios",
    "evaluate_scenario",
    "get_scenario",
    "list_scenarios",
    "scenario_frame",
    "scenarios_csv",
]

COMPARE_FIELDS = (
    "label",
    "chosen",
    "pick_order",
    "cells",
    "new_cells",
    "overlap_cells",
    "white_space_providers",
    "white_space_potential",
    "cannibalised_providers",
    "cannibalised_potential",
    "truncated",
    "estimated",
    "snap_m",
    "lat",
    "lon",
    "postal_code",
)


def _locate(data: ScenarioCreate) -> pd.DataFrame:
    from geo.geocode import zip_centroid

    rows, problems = [], []
    for i, c in enumerate(data.candidates):
        lat, lon = c.lat, c.lon
        if lat is None:
            found = zip_centroid(c.postal_code or "")
            if found is None:
                problems.append(
                    Problem(
                        "unknown postal code",
                        field=f"candidates[{i}].postal_code",
                        value=c.postal_code,
                    )
                )
                continue
            lat, lon = found
        rows.append({"site_id": c.label, "lat": lat, "lon": lon, "postal_code": c.postal_code})
    if problems:
        raise InputError("cannot place every candidate", problems=problems)
    return pd.DataFrame(rows)


def evaluate_scenario(ctx: AppContext, data: ScenarioCreate) -> dict:
    """Evaluate and store a scenario; a stored one of the same name needs ``replace``."""
    from geo.h3grid import cells_to_geometry
    from territories.expansion import (
        ADDS_NOTHING,
        best_candidates,
        candidate_gains,
        candidate_overlap,
    )
    from territories.isochrones import site_isochrones

    res = ctx.settings.catchment_resolution
    cands = _locate(data)
    router = router_or_none(ctx)
    kw = {
        "minutes": [data.minutes],
        "res": res,
        "max_snap_m": ctx.settings.max_snap_m,
        "fallback": ctx.fallback,
    }
    with ctx.sessions.begin() as session:
        old = session.scalar(select(ExpansionScenario).where(ExpansionScenario.name == data.name))
        if old is not None and not data.replace:
            raise ConflictError(f"scenario {data.name!r} exists; set replace to overwrite it")
        if old is not None:
            session.execute(delete(ExpansionScenario).where(ExpansionScenario.id == old.id))
            session.flush()
        sites = sites_table(session)
        existing = site_isochrones(router, sites, **kw) if not sites.empty else None
        cand_iso = site_isochrones(router, cands[["site_id", "lat", "lon"]], **kw)
        cc = cand_iso.cells.rename(columns={"site_id": "candidate_id"})
        ex_cells = (
            existing.cells
            if existing is not None
            else pd.DataFrame({"site_id": [], "h3": np.empty(0, "int64")})
        )
        demand = cell_measures(
            session, res=res, cells=np.union1d(cc["h3"].to_numpy(), ex_cells["h3"].to_numpy())
        )
        gains = candidate_gains(cc, ex_cells["h3"].to_numpy(), demand).set_index("candidate_id")
        off = cand_iso.summary
        sel = best_candidates(
            cc,
            ex_cells["h3"].to_numpy(),
            demand,
            pick=data.pick,
            measure=data.measure,
            method=data.method,
            # the router's one rule (point_legs): farther than max_snap_m from any road
            off_network=off.loc[off["off_network"].astype(bool), "site_id"].tolist(),
        )
        # never picked and why; a candidate reaching no cell at all adds nothing either
        unpicked = {str(c): r for c, r in sel.unpicked.items()} | {
            str(c): ADDS_NOTHING
            for c in cands["site_id"]
            if c not in sel.chosen and c not in sel.unpicked and c not in gains.index
        }
        shared = candidate_overlap(cc, ex_cells, demand["providers"])
        scen = ExpansionScenario(
            name=data.name,
            minutes=data.minutes,
            measure=data.measure,
            pick=data.pick,
            resolution=res,
            method=sel.method,
            optimal=sel.optimal,
            guarantee=sel.guarantee,
            added=float(sel.added),
            summary={
                "candidates": len(cands),
                "existing_sites": len(sites),
                "road_network": router is not None,
                "chosen": [str(c) for c in sel.chosen],
                "marginal": [round(m, 3) for m in sel.marginal],
                "unpicked": unpicked,
            },
        )
        session.add(scen)
        session.flush()
        summary = cand_iso.summary.set_index("site_id")
        order = {c: i + 1 for i, c in enumerate(sel.chosen)}
        for c in cands.itertuples(index=False):
            g = gains.loc[c.site_id] if c.site_id in gains.index else None
            s = summary.loc[c.site_id]
            cells = cc.loc[cc["candidate_id"] == c.site_id, "h3"].to_numpy()
            per_site = shared[shared["candidate_id"] == c.site_id]
            row = ExpansionCandidate(
                scenario_id=scen.id,
                label=c.site_id,
                postal_code=c.postal_code,
                chosen=c.site_id in order,
                pick_order=order.get(c.site_id),
                cells=int(g["cells"]) if g is not None else 0,
                new_cells=int(g["new_cells"]) if g is not None else 0,
                overlap_cells=int(g["overlap_cells"]) if g is not None else 0,
                white_space_providers=float(g["providers_white_space"]) if g is not None else 0.0,
                white_space_potential=float(g["potential_white_space"]) if g is not None else 0.0,
                cannibalised_providers=float(g["providers_cannibalised"]) if g is not None else 0.0,
                cannibalised_potential=float(g["potential_cannibalised"]) if g is not None else 0.0,
                truncated=bool(s["truncated"]),
                estimated=bool(s["estimated"]),
                snap_m=None if pd.isna(s["snap_m"]) else round(float(s["snap_m"]), 1),
                overlap=[
                    {
                        "site_code": r.site_id,
                        "shared_cells": int(r.shared_cells),
                        "shared_providers": float(r.shared_demand),
                    }
                    for r in per_site.itertuples(index=False)
                ],
                coverage=cells_to_geometry(cells),
            )
            place_point(row, float(c.lat), float(c.lon))
            session.add(row)
        session.flush()
        return _public(session, scen)


def _public(session, scen: ExpansionScenario) -> dict:  # noqa: ANN001
    rows = session.scalars(
        select(ExpansionCandidate)
        .where(ExpansionCandidate.scenario_id == scen.id)
        .order_by(ExpansionCandidate.label)
    ).all()
    return {
        "name": scen.name,
        "minutes": scen.minutes,
        "measure": scen.measure,
        "pick": scen.pick,
        "resolution": scen.resolution,
        "method": scen.method,
        "optimal": scen.optimal,
        "guarantee": scen.guarantee,
        "added": scen.added,
        "summary": scen.summary,
        "created_at": scen.created_at.isoformat() if scen.created_at else None,
        "candidates": [
            dict(
                {f: getattr(r, f) for f in COMPARE_FIELDS},
                overlap=r.overlap,
                flag=(scen.summary or {}).get("unpicked", {}).get(r.label),
            )
            for r in rows
        ],
    }


def _scenario(session, name: str) -> ExpansionScenario:  # noqa: ANN001
    scen = session.scalar(select(ExpansionScenario).where(ExpansionScenario.name == name))
    if scen is None:
        raise NotFoundError(f"no expansion scenario {name!r}")
    return scen


def get_scenario(ctx: AppContext, name: str) -> dict:
    with ctx.sessions() as session:
        return _public(session, _scenario(session, name))


def list_scenarios(ctx: AppContext) -> list[dict]:
    with ctx.sessions() as session:
        rows = session.scalars(select(ExpansionScenario).order_by(ExpansionScenario.name)).all()
        return [
            {
                "name": s.name,
                "minutes": s.minutes,
                "measure": s.measure,
                "pick": s.pick,
                "method": s.method,
                "optimal": s.optimal,
                "added": s.added,
                "chosen": (s.summary or {}).get("chosen", []),
            }
            for s in rows
        ]


def compare_scenarios(ctx: AppContext, names: list[str]) -> dict:
    """Scenarios side by side: headline figures per scenario and every candidate row."""
    if not names:
        raise InputError("name at least one scenario", problems=[Problem("empty", field="names")])
    with ctx.sessions() as session:
        found = [_public(session, _scenario(session, n)) for n in names]
    return {
        "scenarios": [
            {
                k: s[k]
                for k in (
                    "name",
                    "minutes",
                    "measure",
                    "pick",
                    "method",
                    "optimal",
                    "guarantee",
                    "added",
                )
            }
            | {
                "chosen": s["summary"].get("chosen", []),
                "unpicked": s["summary"].get("unpicked", {}),
                "estimated_candidates": sum(c["estimated"] for c in s["candidates"]),
                "truncated_candidates": sum(c["truncated"] for c in s["candidates"]),
            }
            for s in found
        ],
        "candidates": [dict(c, scenario=s["name"]) for s in found for c in s["candidates"]],
    }


def scenarios_csv(table: dict[str, Any]) -> Iterator[str]:
    """CSV of a :func:`compare_scenarios` table, one row per scenario and candidate."""
    head = {s["name"]: s for s in table["scenarios"]}
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(
        ["scenario", "minutes", "measure", "method", "optimal", *COMPARE_FIELDS, "flag"]
    )
    yield buf.getvalue()
    for c in table["candidates"]:
        buf.seek(0)
        buf.truncate()
        s = head[c["scenario"]]
        writer.writerow(
            [
                neutralise_formula(v)
                for v in (
                    c["scenario"],
                    s["minutes"],
                    s["measure"],
                    s["method"],
                    s["optimal"],
                    *(c[f] for f in COMPARE_FIELDS),
                    c.get("flag"),
                )
            ]
        )
        yield buf.getvalue()


def scenario_frame(ctx: AppContext, name: str | None = None):  # noqa: ANN201
    """Candidates of a scenario (the newest when no name) as points for the map, or None."""
    import geopandas as gpd

    with ctx.sessions() as session:
        stmt = select(ExpansionScenario)
        scen = (
            _scenario(session, name)
            if name
            else session.scalars(
                stmt.order_by(
                    ExpansionScenario.created_at.desc(), ExpansionScenario.id.desc()
                ).limit(1)
            ).first()
        )
        if scen is None:
            return None
        rows = session.scalars(
            select(ExpansionCandidate).where(ExpansionCandidate.scenario_id == scen.id)
        ).all()
        frame = gpd.GeoDataFrame(
            {
                "scenario": scen.name,
                "minutes": scen.minutes,
                **{f: [getattr(r, f) for r in rows] for f in COMPARE_FIELDS},
            },
            geometry=[r.geom for r in rows],
            crs="EPSG:4326",
        )
        frame["coverage"] = [r.coverage for r in rows]
        unpicked = (scen.summary or {}).get("unpicked", {})
        frame["flag"] = [unpicked.get(r.label) for r in rows]
        return frame
