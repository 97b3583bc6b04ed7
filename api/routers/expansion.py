"""Expansion scenarios: evaluate candidates (admin), read and compare (viewer), export (marketing)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.responses import StreamingResponse

from api.audit import ExportDep
from api.deps import ContextDep, require_role
from api.problems import problem_responses
from service.planning.expansion import (
    compare_scenarios,
    evaluate_scenario,
    get_scenario,
    list_scenarios,
    scenarios_csv,
)
from service.planning.schemas import (
    ScenarioComparison,
    ScenarioCreate,
    ScenarioPublic,
    ScenarioSummary,
)

__all__ = ["router"]

router = APIRouter(
    prefix="/expansion", tags=["expansion"], responses=problem_responses(401, 403, 422)
)

NamesQuery = Annotated[
    list[str],
    Query(min_length=1, max_length=10, description="Scenario names (repeat the parameter)."),
]


@router.post(
    "/scenarios",
    status_code=status.HTTP_201_CREATED,
    response_model=ScenarioPublic,
    summary="Evaluate and store a scenario",
    dependencies=[Depends(require_role("admin"))],
    responses=problem_responses(409),
)
def create_scenario(ctx: ContextDep, body: ScenarioCreate) -> ScenarioPublic:
    """White space and cannibalisation of each candidate and the best ``pick`` of them
    (exact ILP when small enough, else greedy with its 1-1/e guarantee, stated)."""
    return ScenarioPublic.model_validate(evaluate_scenario(ctx, body))


@router.get(
    "/scenarios",
    response_model=list[ScenarioSummary],
    summary="Stored scenarios",
    dependencies=[Depends(require_role("viewer"))],
)
def scenarios(ctx: ContextDep) -> list[ScenarioSummary]:
    return [ScenarioSummary.model_validate(s) for s in list_scenarios(ctx)]


@router.get(
    "/scenarios/{name}",
    response_model=ScenarioPublic,
    summary="One scenario",
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(404),
)
def scenario(ctx: ContextDep, name: Annotated[str, Path(max_length=100)]) -> ScenarioPublic:
    return ScenarioPublic.model_validate(get_scenario(ctx, name))


@router.get(
    "/compare",
    response_model=ScenarioComparison,
    summary="Scenarios side by side",
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(404),
)
def compare(ctx: ContextDep, names: NamesQuery) -> ScenarioComparison:
    return ScenarioComparison.model_validate(compare_scenarios(ctx, names))


@router.get(
    "/compare.csv",
    response_class=StreamingResponse,
    summary="Export scenarios as CSV (marketing)",
    dependencies=[Depends(require_role("marketing"))],
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **problem_responses(404),
    },
)
def export(ctx: ContextDep, exported: ExportDep, names: NamesQuery) -> StreamingResponse:
    """One row per scenario and candidate; formula-like text is neutralised. Audited."""
    table = compare_scenarios(ctx, names)  # 404 before the stream starts
    exported.record(rows=len(table["candidates"]), format="csv", scenarios=list(names))
    return StreamingResponse(
        scenarios_csv(table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="expansion-scenarios.csv"'},
    )
