"""GDPR objection and erasure for a person (role admin); both are written to the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from api.deps import CallerDep, ContextDep, require_role
from api.problems import problem_responses
from service.security.privacy import erase, list_objections, object_to_processing
from service.security.schemas import ErasureReport, ObjectionCreate, ObjectionPublic
from service.wire import UrlId

__all__ = ["erasure_create", "objection_create", "objection_list", "router"]

router = APIRouter(
    prefix="/privacy",
    tags=["privacy"],
    dependencies=[Depends(require_role("admin"))],
    responses=problem_responses(401, 403, 404, 422, 429),
)

ProviderId = Annotated[UrlId, Path(description="Golden record id.")]


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post(
    "/objections/{provider_id}",
    response_model=ObjectionPublic,
    summary="Record a person's objection: no prospecting, no exports (admin)",
)
def objection_create(
    ctx: ContextDep,
    request: Request,
    provider_id: ProviderId,
    body: ObjectionCreate,
    caller: CallerDep,
) -> ObjectionPublic:
    """Idempotent; removes the person's prospect rows now and keeps them out of every later run."""
    return object_to_processing(
        ctx, provider_id, actor=caller.actor, reason=body.reason, client_ip=_ip(request)
    )


@router.get(
    "/objections", response_model=list[ObjectionPublic], summary="Recorded objections (admin)"
)
def objection_list(ctx: ContextDep) -> list[ObjectionPublic]:
    """Every objection, with the erasure date when the person's data was also erased."""
    return list_objections(ctx)


@router.post(
    "/erasures/{provider_id}",
    response_model=ErasureReport,
    summary="Erase what we hold beyond the public registry record (admin)",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "provider_id": 1201,
                        "erased_at": "2026-11-25T10:00:00Z",
                        "removed": {
                            "prospects": 2,
                            "referrer_stats": 1,
                            "interactions": 3,
                            "source_records": 1,
                        },
                        "scrubbed": {"referral_events": 14, "providers": 1},
                    }
                }
            }
        }
    },
)
def erasure_create(
    ctx: ContextDep, request: Request, provider_id: ProviderId, caller: CallerDep
) -> ErasureReport:
    """Every table that refers to the person is treated as ``service.security.privacy.ERASURE_PLAN`` says
    (docs/security.md lists it); also records an objection, so the next pipeline run does not
    bring the person back."""
    return erase(ctx, provider_id, actor=caller.actor, client_ip=_ip(request))
