"""The event outbox: domains queue events here, :mod:`service.integration.webhooks` delivers them.

Shared by every domain (it imports none): a domain that changes something a
CRM may subscribe to calls :func:`emit` inside its own transaction, so the
event is sent only if the change commits.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models.security import WebhookDelivery, WebhookSubscription
from service.context import AppContext

__all__ = ["EVENT_TYPES", "emit"]

EVENT_TYPES: tuple[str, ...] = (
    "prospect.new_in_territory",
    "referrer.tier_changed",
    "alert.at_risk",
)
"""Event types a CRM can subscribe to. Add new ones here before emitting them."""


def _now() -> datetime:
    return datetime.now(UTC)


def _queue(session: Session, event_type: str, payload: dict[str, Any]) -> int:
    subs = [
        s
        for s in session.scalars(
            select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
        )
        if event_type in (s.event_types or [])
    ]
    if not subs:
        return 0
    event_id = uuid.uuid4().hex
    now = _now()
    body = {
        "id": event_id,
        "type": event_type,
        "created_at": now.isoformat(timespec="seconds"),
        "data": payload,
    }
    for sub in subs:
        session.add(
            WebhookDelivery(
                subscription_id=sub.id,
                event_id=event_id,
                event_type=event_type,
                payload=body,
                status="pending",
                attempts=0,
                next_attempt_at=now,
            )
        )
    return len(subs)


def emit(
    ctx: AppContext, event_type: str, payload: dict[str, Any], *, session: Session | None = None
) -> int:
    """Queue an event for every active subscription to ``event_type``; returns how many.

    Parameters
    ----------
    ctx
        Application context.
    event_type
        One of :data:`EVENT_TYPES`.
    payload
        JSON-serialisable event data (opaque ids, no patient data).
    session
        The caller's session: the event is queued in its transaction (it is
        sent only if that commits). Without one, a transaction of its own.

    Raises
    ------
    ValueError
        For an event type not in :data:`EVENT_TYPES` (a programming error).
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; add it to EVENT_TYPES")
    orjson.dumps(payload)  # fail here, not at delivery, if it cannot be serialised
    if session is not None:
        return _queue(session, event_type, payload)
    with ctx.sessions.begin() as own:
        return _queue(own, event_type, payload)
