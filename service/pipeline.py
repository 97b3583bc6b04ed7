"""The whole pipeline after ingestion: link, geocode, catchments, tiers, score.

A run is stored (:mod:`service.checkpoints`): each stage marks itself complete
once its data is committed, and chunked stages mark each chunk in the
transaction that stores it. A run killed part-way (``interrupted``) or
``failed`` is resumed by the next run with the same scope over the same
inputs: completed stages are skipped, the stage in progress skips its stored
chunks. ``restart`` starts afresh; so does a run with another scope, or after
new data was loaded (the stored chunks no longer describe the inputs).

Nothing in ``service`` imports this module (the job runner of
:mod:`service.jobs` takes :func:`pipeline_job` as a callable from the API), so
the stages may import anything shared without a cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from pydantic import BaseModel
from sqlalchemy import func, select

from core.progress import ProgressSink, null_progress
from data.models import ClinicSite, LoadBatch
from service.checkpoints import Checkpoints, finish_run, open_run, run_lease
from service.context import AppContext
from service.linkage.resolve import resolve_providers
from service.placement.catchments import build_catchments
from service.placement.locate import geocode_providers
from service.placement.scope import PipelineScope, providers_in_scope
from service.prospecting.referrals import compute_referrer_stats
from service.prospecting.scoring import score_sites
from service.schemas import StageReport

_log = logging.getLogger(__name__)

#: A stage: (context, scope, progress, checkpoints) -> its report.
Stage = Callable[[AppContext, PipelineScope, ProgressSink, Checkpoints], StageReport]


def _link(
    ctx: AppContext,
    scope: PipelineScope,
    progress: ProgressSink,
    ck: Checkpoints,
    *,
    full: bool = False,
) -> StageReport:
    # by default only new and changed records, with the stored model (a first run, or
    # changed link settings, links everything anyway)
    return resolve_providers(ctx, progress=progress, incremental=not full)


def _geocode(
    ctx: AppContext, scope: PipelineScope, progress: ProgressSink, ck: Checkpoints
) -> StageReport:
    return geocode_providers(
        ctx, only_missing=True, states=scope.states, progress=progress, checkpoints=ck
    )


def _catchments(
    ctx: AppContext, scope: PipelineScope, progress: ProgressSink, ck: Checkpoints
) -> StageReport:
    return build_catchments(ctx, progress=progress)


def _tiers(
    ctx: AppContext, scope: PipelineScope, progress: ProgressSink, ck: Checkpoints
) -> StageReport:
    return compute_referrer_stats(ctx, progress=progress, checkpoints=ck)


def _score(
    ctx: AppContext, scope: PipelineScope, progress: ProgressSink, ck: Checkpoints
) -> StageReport:
    with ctx.sessions() as session:
        providers = providers_in_scope(ctx, session, scope=scope)
    return score_sites(ctx, providers=providers, progress=progress, checkpoints=ck)


#: The stages in order, by the name their reports and checkpoints carry.
STAGES: tuple[tuple[str, Stage], ...] = (
    ("link", _link),
    ("geocode", _geocode),
    ("catchments", _catchments),
    ("tiers", _tiers),
    ("score", _score),
)


def input_fingerprint(ctx: AppContext) -> str:
    """What a run's stored chunks were computed from: the newest load batch, the sites.

    Every load (registry records, referral events, taxonomy) records a batch;
    sites are loaded or edited in place. A run whose inputs changed since it
    started is not resumed. Changed settings are not seen: ``restart`` then.
    """
    with ctx.sessions() as session:
        newest = session.scalar(select(func.max(LoadBatch.id)))
        sites, edited = session.execute(
            select(func.count(ClinicSite.id), func.max(ClinicSite.updated_at))
        ).one()
    return f"load_batches<={newest or 0} sites={sites} edited={edited}"


def run_pipeline(
    ctx: AppContext,
    *,
    scope: PipelineScope | None = None,
    progress: ProgressSink = null_progress,
    restart: bool = False,
    full_link: bool = False,
    notify: Callable[[str], None] | None = None,
) -> list[StageReport]:
    """link (new and changed records) -> geocode (new or moved records) -> catchments -> tiers
    -> score, resumably.

    ``scope`` (:class:`~service.placement.scope.PipelineScope`) limits the
    provider stages: geocode places only providers in its states, and score
    scores and stores only providers in scope (state and drive minutes, the
    latter measured after geocoding); every other provider's rows stay as they
    are, and in-scope providers get what a whole run would give them. Link,
    catchments (per site) and tiers (per referral event) still run whole.

    Parameters
    ----------
    ctx
        Application context.
    scope
        The run's scope (everything by default).
    progress
        Receives every stage's ``(stage, done, total)`` updates.
    restart
        Start a new run even if the latest one did not finish (else it is
        resumed when its scope and inputs are the same).
    full_link
        Link every record afresh (EM trained again) instead of only the new and
        changed ones with the stored model, which is the default once a model
        is stored.
    notify
        Receives one line saying whether the run resumed (the CLI prints it).

    Returns
    -------
    list[StageReport]
        One per stage; a stage a resumed run skipped reports
        ``{"skipped": ...}``.

    Raises
    ------
    ConflictError
        Another pipeline run is running.
    """
    scope = scope or PipelineScope()
    run = open_run(
        ctx,
        scope=scope.model_dump(mode="json"),
        fingerprint=input_fingerprint(ctx),
        restart=restart,
    )
    _log.info("pipeline run %d: %s", run.id, run.note)
    if notify is not None:
        notify(run.note)
    reports: list[StageReport] = []
    with run_lease(ctx, run.id):
        try:
            for name, stage in STAGES:
                if name == "link" and full_link:
                    stage = partial(_link, full=True)
                if run.checkpoints.stage_done(name):
                    reports.append(_skipped(name, run.id))
                    continue
                reports.append(stage(ctx, scope, progress, run.checkpoints))
                run.checkpoints.mark_stage(ctx, name)
        except BaseException as exc:
            # stored chunks stay: the next run resumes this one (a kill never gets here)
            detail = {"error": type(exc).__name__, "detail": str(exc)[:2000]}
            try:
                finish_run(ctx, run.id, status="failed", detail=detail)
            except Exception:  # the database away: the lease expires, the run is interrupted
                _log.exception("pipeline run %d: its failure could not be recorded", run.id)
            raise
        finish_run(ctx, run.id, status="done", detail={"stages": [r.stage for r in reports]})
    return reports


def _skipped(stage: str, run_id: int) -> StageReport:
    return StageReport(
        stage=stage,
        detail={"skipped": f"completed earlier by pipeline run {run_id}"},
        duration_s=0.0,
    )


def pipeline_job(
    ctx: AppContext,
    progress: ProgressSink,
    *,
    scope: PipelineScope | None = None,
    full_link: bool = False,
) -> list[BaseModel]:
    """The job behind ``POST /v1/jobs/pipeline``: :func:`run_pipeline` with the job's progress."""
    return list(run_pipeline(ctx, scope=scope, progress=progress, full_link=full_link))
