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
    info = asdict(manifest)
    info["build_seconds"] = round(time.perf_counter() - started, 1)
    return info, reports
