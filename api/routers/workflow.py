"""Prospect workflow (status, liaison, history, visit outcomes) and exclusion lists.

The status of a prospect is a resource with an ETag (``GET .../status``); a
change (``PUT .../status``, ``POST .../visit-outcome``) must send it back in
``If-Match`` (428 without it, 412 when someone changed the status first) and
is attributed to the caller's named person. A ``liaison`` works prospects
assigned to them or unassigned (:func:`service.prospecting.workflow.may_work`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request, Response, status

from api.audit import audit_records
from api.deps import CallerDep, ContextDep, require_role
from api.problems import problem_responses
from service.prospecting.outcome import OUTCOME_STATUS, record_visit_outcome
from service.prospecting.schemas import (
    ExclusionCreate,
    ExclusionPublic,
    StatusPublic,
    StatusUpdate,
    VisitOutcomeCreate,
    VisitOutcomePublic,
)
from service.prospecting.workflow import (
    add_exclusion,
    get_status,
    list_exclusions,
    remove_exclusion,
    set_status,
)
from service.wire import UrlId

__all__ = ["router"]

router = APIRouter(
    tags=["workflow"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403, 404, 422),
)
ProviderId = Annotated[UrlId, Path()]
IfMatch = Annotated[
    str,
    Header(
        alias="If-Match",
        min_length=1,
        max_length=200,
        description="The status's ETag as last read (GET .../status). Required: 428 without "
        "it, 412 when the status changed since.",
    ),
]
_ETAG_HEADER = {"ETag": {"description": "The status's entity tag.", "schema": {"type": "string"}}}
_CHANGE_PROBLEMS = problem_responses(412, 428)


@router.get(
    "/prospects/{provider_id}/status",
    response_model=StatusPublic,
    summary="Workflow status of a prospect, with its history and ETag",
    responses={200: {"headers": _ETAG_HEADER}},
)
def status_get(ctx: ContextDep, provider_id: ProviderId, response: Response) -> StatusPublic:
    """The ``ETag`` header (and ``etag`` field) is what a change sends back in ``If-Match``."""
    current = get_status(ctx, provider_id)
    response.headers["ETag"] = current.etag
    return current


@router.put(
    "/prospects/{provider_id}/status",
    response_model=StatusPublic,
    summary="Change status and/or liaison (liaison: own or unassigned prospects)",
    dependencies=[Depends(require_role("liaison"))],
    responses={200: {"headers": _ETAG_HEADER}, **_CHANGE_PROBLEMS},
)
def status_set(
    ctx: ContextDep,
    request: Request,
    response: Response,
    caller: CallerDep,
    provider_id: ProviderId,
    change: StatusUpdate,
    if_match: IfMatch,
) -> StatusPublic:
    """Statuses: new, contacted, meeting held, referring, not a fit. Survives re-scoring
    and registry refreshes; 'not a fit' hides the prospect from lists and exports.

    Attributed to the caller's named person. Below role integration, only a prospect
    assigned to the caller or to no one (setting its status assigns it to the caller),
    and ``assigned_to`` may only be the caller or '' (release). Needs ``If-Match``."""
    done = set_status(ctx, provider_id, change, caller=caller, if_match=if_match)
    audit_records(
        request, provider_id=provider_id, status=done.status, assigned_to=done.assigned_to
    )
    response.headers["ETag"] = done.etag
    return done


@router.post(
    "/prospects/{provider_id}/visit-outcome",
    response_model=VisitOutcomePublic,
    status_code=status.HTTP_201_CREATED,
    summary="After a visit: log its outcome, move the status, re-score (liaison)",
    dependencies=[Depends(require_role("liaison"))],
    responses={201: {"headers": _ETAG_HEADER}, **_CHANGE_PROBLEMS},
    description="Logs a `visit` interaction of the caller with the outcome and note, moves "
    "the status ("
    + ", ".join(f"{k} → {v}" for k, v in OUTCOME_STATUS.items())
    + "), then scores the provider again at every site with the scoring stage's code and "
    "each site's active profile, all in one transaction. Same rules as changing the status: "
    "the caller's own or an unassigned prospect (then claimed), `If-Match` with the status's "
    "ETag (428 without, 412 when it changed). The answer holds the interaction, the new status "
    "(its ETag also in the header) and the new scores.",
)
def visit_outcome(
    ctx: ContextDep,
    request: Request,
    response: Response,
    caller: CallerDep,
    provider_id: ProviderId,
    report: VisitOutcomeCreate,
    if_match: IfMatch,
) -> VisitOutcomePublic:
    done = record_visit_outcome(ctx, provider_id, report, caller=caller, if_match=if_match)
    audit_records(
        request,
        provider_id=provider_id,
        outcome=report.outcome,
        interaction_id=done.interaction.id,
        status=done.status.status,
        scores={s.site_code: s.score for s in done.scores},
    )
    response.headers["ETag"] = done.status.etag
    return done


@router.get("/exclusions", response_model=list[ExclusionPublic], summary="Exclusion lists")
def exclusions(ctx: ContextDep) -> list[ExclusionPublic]:
    return list_exclusions(ctx)


@router.post(
    "/exclusions",
    response_model=ExclusionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add to do-not-contact / own physicians (admin)",
    dependencies=[Depends(require_role("admin"))],
    responses=problem_responses(409),
)
def exclusion_add(ctx: ContextDep, item: ExclusionCreate) -> ExclusionPublic:
    return add_exclusion(ctx, item)


@router.delete(
    "/exclusions/{exclusion_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an exclusion (admin)",
    dependencies=[Depends(require_role("admin"))],
)
def exclusion_remove(ctx: ContextDep, exclusion_id: Annotated[UrlId, Path()]) -> None:
    remove_exclusion(ctx, exclusion_id)
