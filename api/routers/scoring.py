"""Scoring models learned from the clinic's history: list, fit, backtest, promote."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from fastapi.responses import FileResponse

from api.deps import ContextDep, require_role
from api.problems import problem_responses
from core.errors import NotFoundError
from core.progress import ProgressSink
from service.context import AppContext
from service.jobs import JobPublic, start_job
from service.prospecting.model_ops import backtest_line, fit_line, list_line_models, promote_line
from service.prospecting.model_schemas import (
    ScoringBacktestReport,
    ScoringBacktestRequest,
    ScoringFitCreate,
    ScoringFitReport,
    ScoringModelPublic,
    ScoringPromotion,
)
from service.prospecting.model_store import calibration_file

__all__ = ["router"]

router = APIRouter(
    prefix="/scoring",
    tags=["scoring"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403, 404, 422),
)
#: A line's models live in a folder named by its letters and digits: a name needs one.
_NAMED = "[A-Za-z0-9]"
_NAMED_TEXT = "a service line: at least one letter or digit (A-Z, 0-9)"
Line = Annotated[str, Path(min_length=1, max_length=60, pattern=_NAMED, description=_NAMED_TEXT)]
LineQuery = Annotated[
    str | None, Query(min_length=1, max_length=60, pattern=_NAMED, description=_NAMED_TEXT)
]
Version = Annotated[int, Path(ge=1)]


@router.get("/models", response_model=list[ScoringModelPublic], summary="Fitted scoring models")
def models(ctx: ContextDep, service_line: LineQuery = None) -> list[ScoringModelPublic]:
    """Every fitted version (of one service line, or all), which one is served, its backtest."""
    return [
        ScoringModelPublic.model_validate(m)
        for m in list_line_models(ctx, service_line=service_line)
    ]


def _fit_job(ctx: AppContext, progress: ProgressSink, *, request: ScoringFitCreate) -> list:
    report = fit_line(
        ctx, service_line=request.service_line, as_of=request.as_of, progress=progress
    )
    return [ScoringFitReport.model_validate(report)]


@router.post(
    "/models",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Fit a new version on the clinic's history in the background (admin)",
    dependencies=[Depends(require_role("admin"))],
    responses={**problem_responses(409), 202: {"description": "The job; poll its Location."}},
)
def fit(ctx: ContextDep, request: ScoringFitCreate, response: Response) -> JobPublic:
    """Start the fit (history, fit, rolling-origin backtest: stages with counts and the time
    left); the job's outcome is the fit report (a :class:`ScoringFitReport`), or the reason
    none was stored (one class, too few starts, ``as_of`` outside the data)."""
    job = start_job(ctx, "scoring-fit", partial(_fit_job, request=request))
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job


@router.post(
    "/backtests",
    response_model=ScoringBacktestReport,
    summary="Rolling-origin backtest against the served order and baselines (marketing)",
    dependencies=[Depends(require_role("marketing"))],
)
def backtest(ctx: ContextDep, request: ScoringBacktestRequest) -> ScoringBacktestReport:
    """p@25/50/100, AUC and Brier score of each order, paired intervals, calibration bins."""
    return ScoringBacktestReport.model_validate(
        backtest_line(ctx, service_line=request.service_line, as_of=request.as_of)
    )


@router.post(
    "/models/{service_line}/{version}/promote",
    response_model=ScoringPromotion,
    summary="Serve a version if it beats the served order (admin)",
    dependencies=[Depends(require_role("admin"))],
)
def promote(ctx: ContextDep, service_line: Line, version: Version) -> ScoringPromotion:
    """Refused (422, the gate's figures) unless the AUC difference's 95% interval is above 0."""
    return ScoringPromotion.model_validate(
        promote_line(ctx, service_line=service_line, version=version)
    )


@router.get(
    "/models/{service_line}/{version}/calibration.png",
    response_class=FileResponse,
    summary="The version's calibration plot",
    responses={200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}},
)
def calibration(ctx: ContextDep, service_line: Line, version: Version) -> FileResponse:
    path = calibration_file(ctx.settings.scoring_model_dir, service_line, version)
    if not path.exists():
        raise NotFoundError(f"no calibration plot for {service_line} v{version}")
    return FileResponse(path, media_type="image/png")
