"""CRM: interaction log, contact preferences and the pre-visit brief of a provider."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from api.audit import audit_records
from api.deps import CallerDep, ContextDep, require_role
from api.problems import problem_responses
from service.prospecting.brief import brief, brief_html
from service.prospecting.crm import (
    add_interaction,
    get_preferences,
    list_interactions,
    set_preferences,
)
from service.prospecting.schemas import (
    BriefPublic,
    InteractionCreate,
    InteractionPublic,
    PreferencePublic,
    PreferenceUpdate,
)
from service.wire import UrlId, url_int

__all__ = ["router"]

router = APIRouter(
    tags=["crm"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403, 404, 422),
)
ProviderId = Annotated[UrlId, Path()]


@router.post(
    "/interactions",
    response_model=InteractionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Log a visit, call or email (liaison: own or unassigned prospects; CRM)",
    dependencies=[Depends(require_role("liaison"))],
    responses={
        201: {"description": "Logged."},
        200: {
            "description": "Already logged (the CRM sent the same `external_id` "
            "again, same values): the stored interaction.",
            "model": InteractionPublic,
        },
        **problem_responses(403, 409),
    },
)
def interaction_create(
    ctx: ContextDep,
    request: Request,
    caller: CallerDep,
    item: InteractionCreate,
    response: Response,
) -> InteractionPublic:
    """201 when logged; 200 when the CRM re-sends the same ``external_id`` (idempotent; 409 when
    it was logged with other values).

    Attributed to the caller's named person (``liaison`` in the answer). Below role
    integration, only for a prospect assigned to the caller or to no one (403 otherwise)."""
    row, created = add_interaction(ctx, item, caller=caller)
    audit_records(request, provider_id=item.provider_id, interaction_id=row.id, created=created)
    if not created:
        response.status_code = status.HTTP_200_OK
    return row


@router.get(
    "/providers/{provider_id}/interactions",
    response_model=list[InteractionPublic],
    summary="A provider's interactions, latest first",
)
def interactions(
    ctx: ContextDep, provider_id: ProviderId, limit: Annotated[url_int(ge=1, le=500), Query()] = 50
) -> list[InteractionPublic]:
    return list_interactions(ctx, provider_id, limit=limit)


@router.put(
    "/providers/{provider_id}/preferences",
    response_model=PreferencePublic,
    summary="Set contact preferences (CRM, integration)",
    dependencies=[Depends(require_role("integration"))],
)
def preferences_set(
    ctx: ContextDep, provider_id: ProviderId, update: PreferenceUpdate
) -> PreferencePublic:
    return set_preferences(ctx, provider_id, update)


@router.get(
    "/providers/{provider_id}/preferences",
    response_model=PreferencePublic | None,
    summary="Contact preferences (null when none)",
)
def preferences_get(ctx: ContextDep, provider_id: ProviderId) -> PreferencePublic | None:
    with ctx.sessions() as session:
        return get_preferences(session, provider_id)


@router.get(
    "/providers/{provider_id}/brief", response_model=BriefPublic, summary="Pre-visit brief (JSON)"
)
def brief_json(ctx: ContextDep, provider_id: ProviderId) -> BriefPublic:
    """Profile, referral history and trend, tier, colleagues who refer, last interactions,
    preferences, workflow status and the explained score per site."""
    return BriefPublic.model_validate(brief(ctx, provider_id))


@router.get(
    "/providers/{provider_id}/brief.html",
    response_class=HTMLResponse,
    summary="Pre-visit brief (printable HTML)",
)
def brief_page(ctx: ContextDep, provider_id: ProviderId) -> HTMLResponse:
    return HTMLResponse(brief_html(brief(ctx, provider_id)))
