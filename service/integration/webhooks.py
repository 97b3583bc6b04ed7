"""Outgoing webhooks: subscriptions, and signed deliveries with retries of the events domains emit.

Flow: service code calls :func:`service.events.emit` (``emit(ctx,
"referrer.tier_changed", {...})``, or with its own ``session`` so the event
commits with the change); one *delivery* row per active subscription to that
event type is queued, and this module delivers it.
:func:`dispatch` (``prm webhooks dispatch``, ``POST /v1/webhooks/dispatch``, or
a cron/timer) sends the due ones: ``POST`` of the JSON event with headers

* ``PRM-Webhook-Id`` (event id), ``PRM-Webhook-Event`` (type),
* ``PRM-Webhook-Timestamp`` (Unix seconds),
* ``PRM-Webhook-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``.

A 2xx answer marks it delivered; anything else (or a network error, a name
that does not resolve included) is retried after
``webhook_backoff_s * 2**(attempt-1)`` seconds until ``webhook_max_attempts``,
then marked failed. Every attempt's outcome stays in the delivery log.
Receivers verify with :func:`verify` (constant-time comparison; reject
timestamps older than 5 minutes against replays).

Destinations (SSRF and DNS rebinding): deliveries go through
:class:`service.integration.outbound.PinnedTransport`, which resolves the URL's host at
delivery time, refuses the delivery in production if any address it resolves
to is not public (loopback, private, link-local, multicast, reserved, ...,
IPv4-mapped ones too), and connects to the very address it checked, with the
original ``Host`` header and TLS server name. A refused destination is a
permanent failure of that delivery: it is marked ``failed`` at once, without
further attempts (the DNS answer is in the hands of whoever controls the name;
retrying would only give a rebinding attempt more tries), with
``last_error = "refused: <host> resolves to <address> (<kind> address); ..."``.
The subscription stays active: each later event is checked again. Outside
production (``PRM_ENVIRONMENT`` other than ``production``) private and
loopback destinations are allowed, so a receiver on 127.0.0.1 works in
development and tests; the host is still resolved once and pinned.
Subscriptions are checked when made, too: in production a URL must be https
and must not name a non-public IP literal or ``localhost``.

Each subscription's secret is HMAC(``PRM_WEBHOOK_SECRET``, ``"<id>:<salt>"``):
shown once at creation, never stored, re-derivable by the service only.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy import select

from core.errors import InputError, NotFoundError, Problem, UnsafeDestinationError
from data.models.security import WebhookDelivery, WebhookSubscription
from service.context import AppContext
from service.events import EVENT_TYPES
from service.integration.outbound import PinnedTransport, refusal_reason
from service.pagination import encode_cursor, keyset

__all__ = [
    "EVENT_TYPES",
    "deactivate",
    "delivery_client",
    "delivery_page",
    "dispatch",
    "list_deliveries",
    "list_subscriptions",
    "sign",
    "subscribe",
    "verify",
]

REPLAY_WINDOW_S = 300
_TIMEOUT_S = 10.0


def _now() -> datetime:
    return datetime.now(UTC)


def secret_for(ctx: AppContext, sub: WebhookSubscription) -> str:
    """The signing secret of a subscription (derived, never stored)."""
    master = ctx.settings.webhook_secret.get_secret_value().encode()
    return "whsec_" + hmac.new(master, f"{sub.id}:{sub.salt}".encode(), hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``PRM-Webhook-Signature`` value of a body sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None
) -> bool:
    """Receiver side: is this a fresh delivery signed with ``secret``?"""
    if not timestamp.isdigit():
        return False
    age = (now if now is not None else time.time()) - int(timestamp)
    if abs(age) > REPLAY_WINDOW_S:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def _check_url(ctx: AppContext, url: str) -> list[Problem]:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or len(url) > 2000:
        return [
            Problem(
                "must be an http(s) URL of at most 2000 characters", field="url", value=url[:200]
            )
        ]
    if parts.scheme == "http" and ctx.settings.environment == "production":
        return [Problem("production deliveries need https", field="url", value=url[:200])]
    if ctx.settings.environment != "production":
        return []
    # An early, literal check; host names are resolved and checked at each delivery.
    host = parts.hostname.rstrip(".")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        is_localhost = host == "localhost" or host.endswith(".localhost")
        ip = ipaddress.ip_address("127.0.0.1") if is_localhost else None
    reason = refusal_reason(ip) if ip is not None else None
    if reason is not None:
        return [
            Problem(
                f"a {reason} address; only public addresses are reached in production",
                field="url",
                value=url[:200],
            )
        ]
    return []


def subscribe(
    ctx: AppContext,
    *,
    url: str,
    event_types: list[str],
    description: str | None = None,
    created_by: str = "cli",
) -> dict[str, Any]:
    """Create a subscription; the returned ``secret`` is shown this once.

    Raises
    ------
    core.errors.InputError
        Listing every problem (URL, unknown or missing event types).
    """
    problems = _check_url(ctx, url)
    unknown = [e for e in event_types if e not in EVENT_TYPES]
    if unknown or not event_types:
        problems.append(
            Problem(
                f"event types must be among {', '.join(EVENT_TYPES)}",
                field="event_types",
                value=", ".join(unknown)[:200] or None,
            )
        )
    if description is not None and len(description) > 300:
        problems.append(Problem("at most 300 characters", field="description"))
    if problems:
        raise InputError("invalid webhook subscription", problems=problems)
    with ctx.sessions.begin() as session:
        sub = WebhookSubscription(
            url=url,
            event_types=sorted(set(event_types)),
            salt=secrets.token_hex(16),
            description=description,
            created_by=created_by[:100],
            active=True,
        )
        session.add(sub)
        session.flush()
        out = _public(sub) | {"secret": secret_for(ctx, sub)}
    return out


def _public(sub: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "url": sub.url,
        "event_types": list(sub.event_types),
        "active": sub.active,
        "description": sub.description,
        "created_at": sub.created_at,
        "created_by": sub.created_by,
    }


def list_subscriptions(ctx: AppContext) -> list[dict[str, Any]]:
    """Every subscription (never its secret)."""
    with ctx.sessions() as session:
        return [
            _public(s)
            for s in session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id))
        ]


def deactivate(ctx: AppContext, subscription_id: int) -> dict[str, Any]:
    """Stop sending to a subscription (its delivery log is kept); pending deliveries are dropped."""
    with ctx.sessions.begin() as session:
        sub = session.get(WebhookSubscription, subscription_id)
        if sub is None:
            raise NotFoundError(f"no webhook subscription with id {subscription_id}")
        sub.active = False
        for d in session.scalars(
            select(WebhookDelivery).where(
                WebhookDelivery.subscription_id == sub.id, WebhookDelivery.status == "pending"
            )
        ):
            d.status, d.last_error = "failed", "subscription deactivated"
        session.flush()
        return _public(sub)


def delivery_client(ctx: AppContext) -> httpx.Client:
    """The HTTP client of deliveries: destinations checked and pinned, no redirects, no proxies.

    Private destinations are allowed outside production only (see the module docstring).
    """
    transport = PinnedTransport(allow_private=ctx.settings.environment != "production")
    return httpx.Client(
        transport=transport, timeout=_TIMEOUT_S, follow_redirects=False, trust_env=False
    )


def dispatch(ctx: AppContext, *, limit: int = 100, now: datetime | None = None) -> dict[str, int]:
    """Send the due deliveries (at most ``limit``).

    Parameters
    ----------
    ctx
        Application context.
    limit
        Most deliveries sent by this call.
    now
        Time of the attempts (due deliveries are those with ``next_attempt_at <= now``).

    Returns
    -------
    dict
        Counts ``delivered``, ``retrying`` and ``failed`` (attempts exhausted,
        or a refused destination).
    """
    now = now or _now()
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    with delivery_client(ctx) as http:
        with ctx.sessions() as session:
            due = session.scalars(
                select(WebhookDelivery.id)
                .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit)
            ).all()
        for delivery_id in due:
            counts[_attempt(ctx, http, delivery_id, now)] += 1
    return counts


def _attempt(ctx: AppContext, http: httpx.Client, delivery_id: int, now: datetime) -> str:
    with ctx.sessions.begin() as session:
        d = session.get(WebhookDelivery, delivery_id)
        sub = session.get(WebhookSubscription, d.subscription_id)
        body = orjson.dumps(d.payload)
        ts = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "prm-webhooks/1",
            "PRM-Webhook-Id": d.event_id,
            "PRM-Webhook-Event": d.event_type,
            "PRM-Webhook-Timestamp": str(ts),
            "PRM-Webhook-Signature": sign(secret_for(ctx, sub), ts, body),
        }
        d.attempts += 1
        try:
            response = http.post(sub.url, content=body, headers=headers)
            d.last_status_code, d.last_error = response.status_code, None
            ok = 200 <= response.status_code < 300
            if not ok:
                d.last_error = f"HTTP {response.status_code}"
        except UnsafeDestinationError as exc:  # permanent: never retried
            d.status, d.last_status_code = "failed", None
            d.last_error = f"refused: {exc.detail}"[:500]
            return "failed"
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            ok, d.last_error = False, f"{type(exc).__name__}: {exc}"[:500]
        if ok:
            d.status, d.delivered_at = "delivered", now
            return "delivered"
        if d.attempts >= ctx.settings.webhook_max_attempts:
            d.status = "failed"
            return "failed"
        d.next_attempt_at = now + timedelta(
            seconds=ctx.settings.webhook_backoff_s * 2 ** (d.attempts - 1)
        )
        return "retrying"


def delivery_page(
    ctx: AppContext,
    *,
    subscription_id: int | None = None,
    status: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the delivery log, newest first, and the cursor of the next (None: the last page).

    Raises
    ------
    core.errors.InputError
        An invalid cursor, or one of another list.
    """
    stmt = select(WebhookDelivery)
    if subscription_id is not None:
        stmt = stmt.where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    stmt = keyset(
        stmt, sort_col=None, id_col=WebhookDelivery.id, descending=True, cursor=cursor
    )  # newest first
    with ctx.sessions() as session:
        rows = [
            {
                "id": d.id,
                "subscription_id": d.subscription_id,
                "event_id": d.event_id,
                "event_type": d.event_type,
                "status": d.status,
                "attempts": d.attempts,
                "next_attempt_at": d.next_attempt_at,
                "last_status_code": d.last_status_code,
                "last_error": d.last_error,
                "created_at": d.created_at,
                "delivered_at": d.delivered_at,
            }
            for d in session.scalars(stmt.limit(limit + 1))
        ]
    nxt = encode_cursor(None, rows[limit - 1]["id"]) if len(rows) > limit else None
    return rows[:limit], nxt


def list_deliveries(
    ctx: AppContext,
    *,
    subscription_id: int | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The newest ``limit`` entries of the delivery log (see :func:`delivery_page`)."""
    return delivery_page(ctx, subscription_id=subscription_id, status=status, limit=limit)[0]
