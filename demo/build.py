"""Build the demo: generate the synthetic Columbus files, load them, run the pipeline, plan."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import date
from pathlib import Path

from core.progress import ProgressSink, null_progress
from demo.generator import generate_demo
from service.context import AppContext
from service.ingest.ingest import ingest_nucc, ingest_records, ingest_referral_events
from service.ingest.sites import load_sites
from service.pipeline import run_pipeline
from service.schemas import BatchReport, StageReport

__all__ = ["DEMO_CANDIDATES", "build_demo"]


#: Candidate sites of the demo's expansion scenario (real Columbus neighbourhoods).
DEMO_CANDIDATES = (
    {"label": "Grandview", "lat": 39.977, "lon": -83.045},
    {"label": "Clintonville", "lat": 40.035, "lon": -83.015},
    {"label": "German Village", "lat": 39.948, "lon": -82.995},
    {"label": "Old Town East", "postal_code": "43203"},
)


def _demo_planning(ctx: AppContext) -> None:
    """A liaison territory plan and an expansion scenario, so the planning map shows them."""
    from service.planning.expansion import evaluate_scenario
    from service.planning.schemas import ScenarioCreate, TerritoryPlanCreate
    from service.planning.territories import build_plan

    build_plan(
        ctx,
        TerritoryPlanCreate(
            name="demo-liaisons", liaisons=["Ana", "Ben", "Chloe"], measure="potential"
        ),
        created_by="demo",
    )
    evaluate_scenario(
        ctx,
        ScenarioCreate(name="demo-expansion", candidates=list(DEMO_CANDIDATES), minutes=10, pick=2),
    )


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
    started = time.perf_counter()
    kwargs = {"as_of": as_of} if as_of else {}
    manifest = generate_demo(
        out_dir,
        providers=providers,
        seed=seed,
        graph=ctx.graph,
        street_index=ctx.street_index,
        progress=progress,
        **kwargs,
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
