"""Outgoing webhooks (role integration): subscriptions, the delivery log, dispatch.

Deliveries are signed (HMAC-SHA256 over ``"<timestamp>." + body``) and
retried with exponential backoff; see :mod:`service.integration.webhooks`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CallerDep, ContextDep, CursorQuery, require_role
from api.problems import problem_responses
from service.events import EVENT_TYPES
from service.integration.webhooks import (
    deactivate,
    delivery_page,
    dispatch,
    list_subscriptions,
    subscribe,
)
from service.schemas import Page
from service.wire import StorableText, UrlId, url_int

__all__ = ["router"]

router = APIRouter(
    prefix="/webhooks",
    tags=["webhooks"],
    dependencies=[Depends(require_role("integration"))],
    responses=problem_responses(401, 403, 422, 429),
)

EventType = Literal["prospect.new_in_territory", "referrer.tier_changed", "alert.at_risk"]
assert set(EventType.__args__) == set(EVENT_TYPES)  # type: ignore[attr-defined]


class SubscriptionCreate(StorableText):
    """A CRM endpoint and the events it wants."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://crm.example.com/hooks/prm",
                    "event_types": ["prospect.new_in_territory"],
                    "description": "HubSpot sync",
                }
            ]
        },
    )

    # an http(s) URL with a host (service.webhooks checks it; the pattern says so to clients)
    url: str = Field(
        min_length=8,
        max_length=2000,
        pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9._~%!$&'()*+,;=-]+(:[0-9]*)?([/?#][^\x00-\x1f]*)?$",
    )
    event_types: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))
    description: str | None = Field(None, max_length=300)


class SubscriptionPublic(BaseModel):
    id: int
    url: str
    event_types: list[str]
    active: bool
    description: str | None = None
    created_at: datetime | None = None
    created_by: str | None = None


class SubscriptionCreated(SubscriptionPublic):
    secret: str = Field(
        description="Signing secret: shown this once; verify PRM-Webhook-Signature with it."
    )


class DeliveryPublic(BaseModel):
    id: int
    subscription_id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime | None = None
    delivered_at: datetime | None = None


class DispatchCounts(BaseModel):
    """What one dispatch run did with the due deliveries."""

    delivered: int
    retrying: int = Field(description="Failed this time; tried again later (backoff).")
    failed: int = Field(description="Out of attempts, or refused (see last_error).")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionCreated,
    summary="Subscribe an endpoint to events (integration)",
)
def webhook_create(
    ctx: ContextDep, body: SubscriptionCreate, caller: CallerDep
) -> SubscriptionCreated:
    """The answer holds the signing secret, shown this once."""
    return SubscriptionCreated.model_validate(
        subscribe(
            ctx,
            url=body.url,
            event_types=list(body.event_types),
            description=body.description,
            created_by=caller.actor,
        )
    )


@router.get("", response_model=list[SubscriptionPublic], summary="Subscriptions (integration)")
def webhook_list(ctx: ContextDep) -> list[SubscriptionPublic]:
    """Every subscription, without secrets."""
    return [SubscriptionPublic.model_validate(s) for s in list_subscriptions(ctx)]


# digits only: /deliveries and /dispatch are other resources (their 405s list their own methods)
@router.delete(
    "/{subscription_id:int}",
    response_model=SubscriptionPublic,
    summary="Deactivate a subscription (integration)",
    responses=problem_responses(404),
)
def webhook_deactivate(
    ctx: ContextDep, subscription_id: Annotated[UrlId, Path()]
) -> SubscriptionPublic:
    """No more deliveries; pending ones are marked failed; the log is kept."""
    return SubscriptionPublic.model_validate(deactivate(ctx, subscription_id))


@router.get(
    "/deliveries", response_model=Page[DeliveryPublic], summary="Delivery log (integration)"
)
def webhook_deliveries(
    ctx: ContextDep,
    subscription_id: Annotated[UrlId | None, Query()] = None,
    status_: Annotated[
        Literal["pending", "delivered", "failed"] | None, Query(alias="status")
    ] = None,
    limit: Annotated[url_int(ge=1, le=500), Query()] = 100,
    cursor: CursorQuery = None,
) -> Page[DeliveryPublic]:
    """Newest first: each event to each subscription, attempts, last status code or error.

    Pages by cursor like every list (``next_cursor`` back as ``cursor``).
    """
    items, nxt = delivery_page(
        ctx, subscription_id=subscription_id, status=status_, limit=limit, cursor=cursor
    )
    return Page[DeliveryPublic](
        items=[DeliveryPublic.model_validate(i) for i in items], next_cursor=nxt
    )


@router.post(
    "/dispatch", response_model=DispatchCounts, summary="Send due deliveries now (integration)"
)
def webhook_dispatch(
    ctx: ContextDep, limit: Annotated[url_int(ge=1, le=1000), Query()] = 100
) -> DispatchCounts:
    """Counts delivered / retrying / failed. A timer running ``prm webhooks dispatch`` does the same.

    In production a delivery whose host resolves to a non-public address is refused and
    failed at once (``last_error`` starts with ``refused:``); see docs/security.md.
    """
    return DispatchCounts.model_validate(dispatch(ctx, limit=limit))
