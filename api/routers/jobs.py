"""Long jobs (admin): start the pipeline in the background and follow its progress."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Response, status

from api.deps import ContextDep, SessionDep, require_role
from api.problems import problem_responses
from service.jobs import JobPublic, get_job, start_job
from service.pipeline import pipeline_job
from service.placement.scope import PipelineScope
from service.wire import UrlId

__all__ = ["job_get", "pipeline_start", "router"]

router = APIRouter(
    prefix="/jobs",
    tags=["jobs"],
    dependencies=[Depends(require_role("admin"))],
    responses=problem_responses(401, 403),
)


@router.post(
    "/pipeline",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Run link, geocode, catchments, tiers and score in the background",
    responses=problem_responses(409, 422),
)
def pipeline_start(
    ctx: ContextDep,
    response: Response,
    scope: Annotated[PipelineScope | None, Body()] = None,
    full_link: Annotated[
        bool,
        Query(
            description=(
                "Link every record afresh (match model trained again); by default only new and"
                " changed records are linked with the stored model."
            )
        ),
    ] = False,
) -> JobPublic:
    """Start the pipeline; poll the job's URL (``Location``) for its stage and counts.

    An optional body limits the run to providers in some practice states and/or
    within some drive minutes of a site (see ``prm pipeline --help``); without
    one the whole file runs.
    """
    job = start_job(ctx, "pipeline", partial(pipeline_job, scope=scope, full_link=full_link))
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job


@router.get(
    "/{job_id:int}",  # digits only: /v1/jobs/pipeline is another resource (its 405 says POST)
    response_model=JobPublic,
    summary="A job's status and progress",
    responses=problem_responses(404, 422),
)
def job_get(ctx: ContextDep, session: SessionDep, job_id: Annotated[UrlId, Path()]) -> JobPublic:
    """Status (running, done, failed), current stage with done/total, and the outcome."""
    return get_job(ctx, session, job_id)
