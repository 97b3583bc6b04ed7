"""The whole pipeline after ingestion: link, geocode, catchments, tiers, score.

Nothing in ``service`` imports this module (the job runner of
:mod:`service.jobs` takes :func:`pipeline_job` as a callable from the API), so
the stages may import anything shared without a cycle.
"""

from __future__ import annotations

from pydantic import BaseModel

from core.progress import ProgressSink, null_progress
from service.context import AppContext
from service.linkage.resolve import resolve_providers
from service.placement.catchments import build_catchments
from service.placement.locate import geocode_providers
from service.prospecting.referrals import compute_referrer_stats
from service.prospecting.scoring import score_sites
from service.schemas import StageReport


def run_pipeline(ctx: AppContext, *, progress: ProgressSink = null_progress) -> list[StageReport]:
    """link -> geocode (new or moved records) -> catchments -> tiers -> score."""
    return [
        resolve_providers(ctx, progress=progress),
        geocode_providers(ctx, only_missing=True, progress=progress),
        build_catchments(ctx, progress=progress),
        compute_referrer_stats(ctx, progress=progress),
        score_sites(ctx, progress=progress),
    ]


def pipeline_job(ctx: AppContext, progress: ProgressSink) -> list[BaseModel]:
    """The job behind ``POST /v1/jobs/pipeline``: :func:`run_pipeline` with the job's progress."""
    return list(run_pipeline(ctx, progress=progress))
