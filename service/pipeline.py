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
from service.placement.scope import PipelineScope, providers_in_scope
from service.prospecting.referrals import compute_referrer_stats
from service.prospecting.scoring import score_sites
from service.schemas import StageReport


def run_pipeline(
    ctx: AppContext,
    *,
    scope: PipelineScope | None = None,
    progress: ProgressSink = null_progress,
) -> list[StageReport]:
    """link -> geocode (new or moved records) -> catchments -> tiers -> score.

    ``scope`` (:class:`~service.placement.scope.PipelineScope`) limits the
    provider stages: geocode places only providers in its states, and score
    scores and stores only providers in scope (state and drive minutes, the
    latter measured after geocoding); every other provider's rows stay as they
    are, and in-scope providers get what a whole run would give them. Link,
    catchments (per site) and tiers (per referral event) still run whole.
    """
    scope = scope or PipelineScope()
    reports = [
        resolve_providers(ctx, progress=progress),
        geocode_providers(ctx, only_missing=True, states=scope.states, progress=progress),
        build_catchments(ctx, progress=progress),
        compute_referrer_stats(ctx, progress=progress),
    ]
    with ctx.sessions() as session:
        providers = providers_in_scope(ctx, session, scope=scope)
    reports.append(score_sites(ctx, providers=providers, progress=progress))
    return reports


def pipeline_job(
    ctx: AppContext, progress: ProgressSink, *, scope: PipelineScope | None = None
) -> list[BaseModel]:
    """The job behind ``POST /v1/jobs/pipeline``: :func:`run_pipeline` with the job's progress."""
    return list(run_pipeline(ctx, scope=scope, progress=progress))
