"""Referral events (scheduling-system webhook), the review queue, referrer activity and alerts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api.deps import ContextDep, require_role
from api.problems import problem_responses
from service.prospecting.referrals import (
    list_alerts,
    list_reviews,
    receive_referral,
    referrer_activity,
    resolve_review,
)
from service.prospecting.schemas import (
    AlertPublic,
    ReferralReceipt,
    ReferralWebhook,
    ReferrerActivity,
    ReviewPublic,
    ReviewResolve,
)
from service.wire import IsoDate, UrlId, url_int

__all__ = ["router"]

router = APIRouter(
    tags=["referrals"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403, 422),
)


@router.post(
    "/referrals",
    response_model=ReferralReceipt,
    status_code=status.HTTP_201_CREATED,
    summary="Receive one referral (scheduling-system webhook, admin)",
    dependencies=[Depends(require_role("integration"))],
    responses={
        200: {
            "description": "Already stored (a redelivery): nothing changed.",
            "model": ReferralReceipt,
        },
        **problem_responses(409),
    },
)
def referral_webhook(
    ctx: ContextDep, payload: ReferralWebhook, response: Response
) -> ReferralReceipt:
    """Store a booking with a referrer, idempotent on ``external_id``.

    201 with the link found (NPI, free-text name, or queued for review);
    200 with the stored event when the same event is delivered again; 409
    when the id was stored with other values; 422 listing every fault of a
    bad payload (nothing stored). Patient identity is refused: only an
    opaque ``patient_ref``.
    """
    receipt = receive_referral(ctx, payload)
    if not receipt.created:
        response.status_code = status.HTTP_200_OK
    return receipt


@router.get(
    "/referrals/review",
    response_model=list[ReviewPublic],
    summary="Free-text referrers waiting for a link",
)
def review_list(
    ctx: ContextDep,
    state: Annotated[str, Query(alias="status", pattern="^(open|linked|dismissed)$")] = "open",
    limit: Annotated[url_int(ge=1, le=1000), Query()] = 100,
) -> list[ReviewPublic]:
    """Queued events whose referrer name did not link, with candidate records."""
    return list_reviews(ctx, status=state, limit=limit)


@router.post(
    "/referrals/review/{review_id}",
    response_model=ReviewPublic,
    summary="Link or dismiss a queued referrer (admin)",
    dependencies=[Depends(require_role("admin"))],
    responses=problem_responses(404),
)
def review_resolve(
    ctx: ContextDep, review_id: Annotated[UrlId, Path()], decision: ReviewResolve
) -> ReviewPublic:
    return resolve_review(ctx, review_id, decision)


@router.get(
    "/referrers/{provider_id}/activity",
    response_model=ReferrerActivity,
    summary="Referral analytics of one referrer",
    responses=problem_responses(404),
)
def activity(
    ctx: ContextDep,
    provider_id: Annotated[UrlId, Path()],
    weeks: Annotated[url_int(ge=1, le=260), Query()] = 12,
    months: Annotated[url_int(ge=1, le=120), Query()] = 12,
) -> ReferrerActivity:
    """Counts by week and month, trend (last month vs the 3-month average), tier,
    first and last referral dates, and whether the referrer has lapsed."""
    return ReferrerActivity.model_validate(
        referrer_activity(ctx, provider_id, weeks=weeks, months=months)
    )


@router.get("/alerts", response_model=list[AlertPublic], summary="At-risk referrer alerts")
def alerts(
    ctx: ContextDep,
    since: Annotated[IsoDate | None, Query(description="Raised on or after (YYYY-MM-DD).")] = None,
    rule: Annotated[str | None, Query(max_length=80)] = None,
    provider_id: Annotated[UrlId | None, Query()] = None,
    limit: Annotated[url_int(ge=1, le=5000), Query()] = 200,
) -> list[AlertPublic]:
    """Alerts raised by the at-risk rules at each tiers run, newest first, each with the
    referral history that triggered it."""
    return list_alerts(ctx, since=since, rule=rule, provider_id=provider_id, limit=limit)
