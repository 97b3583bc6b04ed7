"""The whole pipeline after ingestion, and the demo build."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import date
from pathlib import Path

from core.progress import ProgressSink, null_progress
from service.catchments import build_catchments
from service.context import AppContext
from service.ingest import ingest_nucc, ingest_records, ingest_referral_events
from service.locate import geocode_providers
from service.referrals import compute_referrer_stats
from service.resolve import resolve_providers
from service.schemas import BatchReport, StageReport
from service.scoring import score_sites
from service.sites import load_sites


def run_pipeline(ctx: AppContext, *, progress: ProgressSink = null_progress) -> list[StageReport]:
    """link -> geocode (new or moved records) -> catchments -> tiers -> score."""
    return [
        resolve_providers(ctx, progress=progress),
        geocode_providers(ctx, only_missing=True, progress=progress),
        build_catchments(ctx, progress=progress),
        compute_referrer_stats(ctx, progress=progress),
        score_sites(ctx, progress=progress),
    ]


#: Candidate sites of the demo's expansion scenario (real Columbus neighbourhoods).
DEMO_CANDIDATES = (
    {"label": "Grandview", "lat": 39.977, "lon": -83.045},
    {"label": "Clintonville", "lat": 40.035, "lon": -83.015},
    {"label": "German Village", "lat": 39.948, "lon": -82.995},
    {"label": "Old Town East", "postal_code": "43203"},
)


def _demo_planning(ctx: AppContext) -> None:
    """A liaison territory plan and an expansion scenario, so the planning map shows them."""
    from service.expansion import evaluate_scenario
    from service.planning_schemas import ScenarioCreate, TerritoryPlanCreate
    from service.territories import build_plan

    build_plan(ctx, TerritoryPlanCreate(name="demo-liaisons", liaisons=["Ana", "Ben", "Chloe"],
                                        measure="potential"), created_by="demo")
    evaluate_scenario(ctx, ScenarioCreate(name="demo-expansion", candidates=list(DEMO_CANDIDATES),
                                          minutes=10, pick=2))


def build_demo(
    ctx: AppContext,
    out_dir: Path,
    *,
    providers: int = 6000,
    seed: int = 7,
    as_of: date | None = None,
    progress: ProgressSink = null_progress,
) -> tuple[dict, list[BatchReport | StageReport]]:
    """Generate the synthetic Columbus demo files, load them and run the pipeline."""
    from data.demo import generate_demo

    started = time.perf_counter()
    kwargs = {"as_of": as_of} if as_of else {}
    manifest = generate_demo(
        out_dir, providers=providers, seed=seed, graph=ctx.graph,
        street_index=ctx.street_index, progress=progress, **kwargs,
    )
    def path_of(kind: str) -> Path:
        return Path(out_dir) / manifest.files[kind]

    reports: list[BatchReport | StageReport] = [
        ingest_nucc(ctx, ctx.settings.nucc_file),
        ingest_records(ctx, path_of("nppes"), source="nppes", progress=progress),
        ingest_records(ctx, path_of("referrers"), source="referrer_list", progress=progress),
    ]
    load_sites(ctx, path_of("sites"))
    reports.append(ingest_referral_events(ctx, path_of("referrals"), progress=progress))
    reports.extend(run_pipeline(ctx, progress=progress))
    _demo_planning(ctx)
    info = asdict(manifest)
    info["build_seconds"] = round(time.perf_counter() - started, 1)
    return info, reports
