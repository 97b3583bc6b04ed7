"""Referral activity (stage ``prm tiers``): link events to referrers, volumes and tiers.

Events naming an NPI link to the golden record with that NPI; free-text names
go through :func:`enrichment.freetext.match_free_text`. Stats are computed with
:func:`prospects.tiers.referrer_stats` as of ``settings.as_of`` (default today)
and upserted, so a re-run on the same data changes nothing.

Free-text names that do not link are queued for review (``referral_review``);
events also arrive one by one through the scheduling-system webhook
(:func:`receive_referral`, idempotent on the external id). The tiers stage
also evaluates the at-risk rules (``settings.at_risk_rules``) and stores
each alert with the history that triggered it. After linking, the stage works
a chunk of provider ids at a time (:func:`compute_referrer_stats`), so its
memory does not grow with the number of providers or events.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, date, datetime

import pandas as pd
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from core.errors import ConflictError, InputError, NotFoundError, Problem
from core.progress import ProgressSink, null_progress
from core.settings import AtRiskRule, Settings
from core.values import json_value, plain
from data.bulk import bulk_update
from data.models import Provider, ReferralEvent, ReferrerStat
from data.models.prospecting import ReferralAlert, ReferralReview
from service.checkpoints import Checkpoints, no_checkpoints
from service.context import AppContext
from service.prospecting.chunks import IdRange, provider_ranges, providers_per_chunk
from service.prospecting.schemas import (
    AlertPublic,
    ReferralReceipt,
    ReferralWebhook,
    ReviewPublic,
    ReviewResolve,
)
from service.prospecting.workflow import mark_referring
from service.queries import NPI_PROVIDER_ORDER
from service.schemas import StageReport

STAT_FIELDS = (
    "referrals_window",
    "referrals_total",
    "first_referral",
    "last_referral",
    "trend",
    "referring",
    "tier",
)


def as_of_date(ctx: AppContext) -> date:
    return ctx.settings.as_of or date.today()


def link_referral_events(session: Session) -> dict[str, int]:
    """Attach unlinked referral events to golden records, in the caller's transaction.

    Events naming an NPI are linked by one ``UPDATE`` in the database (an
    active record wins over a deactivated one), so the national file's NPIs
    are never held in memory; events left with only a free-text name go to
    :func:`enrichment.freetext.match_free_text`, the unmatched ones to review.
    """
    from enrichment.freetext import match_free_text
    from service.linkage.matching import free_text_golden

    unlinked = ReferralEvent.provider_id.is_(None)
    pending = session.scalar(select(func.count()).where(unlinked)) or 0
    if not pending:
        return {"linked_by_npi": 0, "linked_by_name": 0, "unlinked": 0}
    by_npi = (
        select(Provider.id)
        .where(Provider.npi == ReferralEvent.referrer_npi)
        .order_by(*NPI_PROVIDER_ORDER)
        .limit(1)
        .scalar_subquery()
    )
    n_npi = session.execute(
        update(ReferralEvent)
        .where(unlinked, ReferralEvent.referrer_npi.is_not(None), by_npi.is_not(None))
        .values(provider_id=by_npi, link_confidence=1.0)
        .execution_options(synchronize_session=False)
    ).rowcount
    names = session.execute(
        select(ReferralEvent.id, ReferralEvent.referrer_name).where(
            unlinked, ReferralEvent.referrer_name.is_not(None), ReferralEvent.referrer_name != ""
        )
    ).all()
    by_name: list[tuple[int, int, float]] = []
    if names:
        golden = free_text_golden(session)
        unique = sorted({n for _, n in names})
        matches = dict(zip(unique, match_free_text(pd.Series(unique), golden), strict=True))
        queued = set(
            session.scalars(
                select(ReferralReview.event_id)
                .join(ReferralEvent, ReferralEvent.id == ReferralReview.event_id)
                .where(unlinked)
            )
        )
        reviews = []
        for ev_id, name in names:
            m = matches[name]
            if m.provider_id is not None:
                by_name.append((ev_id, m.provider_id, m.confidence))
            elif ev_id not in queued:
                reviews.append(_review_row(ev_id, name, m))
        if reviews:
            session.execute(ReferralReview.__table__.insert(), reviews)
    columns = ("provider_id", "link_confidence")
    bulk_update(session, ReferralEvent.__table__, key="id", columns=columns, rows=by_name)
    return {
        "linked_by_npi": n_npi,
        "linked_by_name": len(by_name),
        "unlinked": pending - n_npi - len(by_name),
    }


def _review_row(event_id: int, name: str, match) -> dict:  # noqa: ANN001 - FreeTextMatch
    return {
        "event_id": event_id,
        "referrer_name": name,
        "status": "open",
        "confidence": round(float(match.confidence), 4),
        "candidates": [
            {"provider_id": int(p), "confidence": float(c)} for p, c in match.alternatives
        ],
    }


_EVENT_FIELDS = (
    "referral_date",
    "referrer_npi",
    "referrer_name",
    "service_line",
    "site_code",
    "patient_ref",
)


def receive_referral(ctx: AppContext, payload: ReferralWebhook) -> ReferralReceipt:
    """Store one referral posted by the scheduling system, linked at once when possible.

    Idempotent on ``external_id``: a redelivery of the same event returns the
    stored event (``created=False``) and changes nothing; the same id with
    different content is a :class:`~core.errors.ConflictError` (nothing stored).
    The referrer links by NPI, else by free-text name through
    :func:`enrichment.freetext.match_free_text`; an unlinked name is queued
    for review. The date may not lie after ``settings.as_of`` (or today).
    """
    from enrichment.freetext import match_free_text
    from service.linkage.matching import free_text_golden

    today = as_of_date(ctx)
    if payload.referral_date > today:
        raise InputError(
            "referral date in the future",
            problems=[
                Problem(
                    f"after {today.isoformat()}",
                    field="referral_date",
                    value=payload.referral_date.isoformat(),
                )
            ],
        )
    values = {f: getattr(payload, f) for f in _EVENT_FIELDS}
    with ctx.sessions.begin() as session:
        ev = session.scalars(
            select(ReferralEvent).where(ReferralEvent.external_id == payload.external_id)
        ).first()
        if ev is not None:
            differs = [f for f, v in values.items() if getattr(ev, f) != v]
            if differs:
                raise ConflictError(
                    f"external_id {payload.external_id!r} was stored with other values",
                    problems=[
                        Problem("differs from the stored event", field=f, value=str(values[f]))
                        for f in differs
                    ],
                )
            review = session.scalars(
                select(ReferralReview.id).where(ReferralReview.event_id == ev.id)
            ).first()
            link = (
                "npi"
                if ev.link_confidence == 1.0 and ev.referrer_npi
                else ("name" if ev.provider_id else ("review" if review else "none"))
            )
            return ReferralReceipt(
                event_id=ev.id,
                external_id=ev.external_id,
                created=False,
                provider_id=ev.provider_id,
                link=link,
                link_confidence=ev.link_confidence,
                review_id=review,
            )
        provider_id, confidence, link, match = None, None, "none", None
        if payload.referrer_npi:
            provider_id = session.scalars(
                select(Provider.id)
                .where(Provider.npi == payload.referrer_npi)
                .order_by(*NPI_PROVIDER_ORDER)
            ).first()
            if provider_id is not None:
                confidence, link = 1.0, "npi"
        if provider_id is None and payload.referrer_name:
            match = match_free_text(
                pd.Series([payload.referrer_name]), free_text_golden(session, active_only=True)
            )[0]
            if match.provider_id is not None:
                provider_id, confidence, link = (
                    int(match.provider_id),
                    float(match.confidence),
                    "name",
                )
        ev = ReferralEvent(
            external_id=payload.external_id,
            provider_id=provider_id,
            link_confidence=confidence,
            **values,
        )
        session.add(ev)
        session.flush()
        review_id = None
        if provider_id is None and payload.referrer_name:
            row = _review_row(ev.id, payload.referrer_name, match)
            review_id = session.execute(
                ReferralReview.__table__.insert().returning(ReferralReview.id), [row]
            ).scalar_one()
            link = "review"
        return ReferralReceipt(
            event_id=ev.id,
            external_id=ev.external_id,
            created=True,
            provider_id=provider_id,
            link=link,
            link_confidence=confidence,
            review_id=review_id,
        )


def list_reviews(ctx: AppContext, *, status: str = "open", limit: int = 100) -> list[ReviewPublic]:
    """Unlinked free-text referrers waiting for a person (oldest first)."""
    with ctx.sessions() as session:
        rows = session.execute(
            select(ReferralReview, ReferralEvent.external_id, ReferralEvent.referral_date)
            .join(ReferralEvent, ReferralEvent.id == ReferralReview.event_id)
            .where(ReferralReview.status == status)
            .order_by(ReferralReview.id)
            .limit(limit)
        ).all()
        return [
            ReviewPublic(
                id=r.id,
                event_id=r.event_id,
                external_id=ext,
                referral_date=d,
                referrer_name=r.referrer_name,
                confidence=r.confidence,
                candidates=r.candidates,
                status=r.status,
                resolved_by=r.resolved_by,
                resolved_at=r.resolved_at,
            )
            for r, ext, d in rows
        ]


def resolve_review(ctx: AppContext, review_id: int, decision: ReviewResolve) -> ReviewPublic:
    """Link a queued event to a golden record (``provider_id``) or dismiss it (None)."""
    with ctx.sessions.begin() as session:
        review = session.get(ReferralReview, review_id)
        if review is None:
            raise NotFoundError(f"no review item {review_id}")
        if decision.provider_id is not None and session.get(Provider, decision.provider_id) is None:
            raise NotFoundError(f"no provider with id {decision.provider_id}")
        event = session.get(ReferralEvent, review.event_id)
        now = datetime.now(UTC)
        same = []
        if decision.provider_id is not None:
            # the same free text written again names the same person: decide those too
            same = session.scalars(
                select(ReferralReview).where(
                    ReferralReview.status == "open",
                    ReferralReview.id != review.id,
                    func.upper(ReferralReview.referrer_name) == review.referrer_name.upper(),
                )
            ).all()
        for item in (review, *same):
            if decision.provider_id is not None:
                linked = session.get(ReferralEvent, item.event_id)
                linked.provider_id, linked.link_confidence = decision.provider_id, 1.0
            item.status = "linked" if decision.provider_id is not None else "dismissed"
            item.resolved_by, item.resolved_at = decision.resolved_by, now
        session.flush()
        return ReviewPublic(
            id=review.id,
            event_id=review.event_id,
            external_id=event.external_id,
            referral_date=event.referral_date,
            referrer_name=review.referrer_name,
            confidence=review.confidence,
            candidates=review.candidates,
            status=review.status,
            resolved_by=review.resolved_by,
            resolved_at=review.resolved_at,
            same_name_linked=len(same),
        )


def _stats(events: pd.DataFrame, *, as_of: date, settings: Settings) -> pd.DataFrame:
    """Each referrer's volume, trend and tier from its events, with the settings' thresholds."""
    from prospects.tiers import referrer_stats

    return referrer_stats(
        events,
        as_of=as_of,
        window_days=settings.referring_window_days,
        tier_a_min=settings.tier_a_min,
        tier_b_min=settings.tier_b_min,
    )


def compute_referrer_stats(
    ctx: AppContext,
    *,
    progress: ProgressSink = null_progress,
    checkpoints: Checkpoints = no_checkpoints,
    chunk_providers: int | None = None,
) -> StageReport:
    """Link events, then compute and store each referrer's volume, trend and tier.

    Linking is one transaction; the stats, at-risk alerts and workflow moves then
    follow a chunk of provider ids at a time (:mod:`service.prospecting.chunks`,
    sized from ``settings.memory_budget_mb`` or ``chunk_providers``), each reading
    only its providers' events and stored rows, in a transaction of its own marked in
    ``checkpoints`` (stage ``"tiers"``, key ``"providers=[lo,hi)"``) and skipped
    when already done. A referrer's figures depend on its own events alone, so the
    chunking changes nothing stored; the report adds up the chunks this run stored.
    """
    started = time.perf_counter()
    as_of = as_of_date(ctx)
    with ctx.sessions.begin() as session:
        links = link_referral_events(session)
    size = providers_per_chunk(ctx.settings.memory_budget_mb, override=chunk_providers)
    with ctx.sessions() as session:
        ranges = provider_ranges(session, size=size)
    referrers, moved = 0, 0
    tiers: Counter = Counter()
    alerts: Counter = Counter(raised=0, new=0)
    for n, rows in enumerate(ranges):
        progress("tiers", n, len(ranges))
        if checkpoints.done("tiers", rows.key):
            continue
        with ctx.sessions.begin() as session:
            stats, chunk_alerts, chunk_moved = _tiers_chunk(ctx, session, rows, as_of=as_of)
            checkpoints.mark(session, "tiers", rows.key)
        referrers += int(stats["referring"].sum())
        tiers.update(t for t in stats["tier"] if t is not None and not pd.isna(t))
        alerts.update(chunk_alerts)
        moved += chunk_moved
    progress("tiers", len(ranges), len(ranges))
    return StageReport(
        stage="tiers",
        detail={
            **links,
            "as_of": as_of.isoformat(),
            "referrers": referrers,
            "tiers": {k: int(v) for k, v in sorted(tiers.items())},
            "alerts": dict(alerts),
            "prospects_now_referring": moved,
        },
        duration_s=round(time.perf_counter() - started, 3),
    )


def _tiers_chunk(
    ctx: AppContext, session: Session, rows: IdRange, *, as_of: date
) -> tuple[pd.DataFrame, dict[str, int], int]:
    """Stats, alerts and workflow moves of the referrers with an id in ``rows``, stored.

    Returns the stats, the alert counts and how many prospects moved to referring.
    """
    from prospects.terms import is_active_referrer

    s = ctx.settings
    events = pd.DataFrame(
        session.execute(
            select(ReferralEvent.provider_id, ReferralEvent.referral_date).where(
                rows.where(ReferralEvent.provider_id), ReferralEvent.referral_date <= as_of
            )
        ).all(),
        columns=["provider_id", "referral_date"],
    )
    stats = _stats(events, as_of=as_of, settings=s)
    _store_stats(session, stats, as_of=as_of, rows=rows)
    alerts = _store_alerts(session, stats, events, s.at_risk_rules, as_of=as_of, rows=rows)
    # a worked prospect refers "now" once it is an active referrer: a lapsed one being won back
    # keeps its workflow status until it refers again
    now_referring = stats[
        is_active_referrer(
            stats["last_referral"],
            as_of=as_of,
            window_days=s.referring_window_days,
            lapsed_days=s.lapsed_days,
        )
    ]
    moved = mark_referring(
        session,
        {int(p) for p in now_referring["provider_id"]},
        {int(p): f for p, f in zip(now_referring["provider_id"], now_referring["first_referral"])},
        rows=rows,
    )
    return stats, alerts, moved


#: Rows per executemany batch when referrer stats are written.
WRITE_CHUNK = 5000


def _store_stats(session: Session, stats: pd.DataFrame, *, as_of: date, rows: IdRange) -> None:
    """Upsert the referrer stats of the providers with an id in ``rows`` and remove those of
    the range's providers no longer referring (``stats``: all the range's referrers).

    Stored rows are read as plain tuples and written with one executemany per statement and
    chunk; a row is rewritten only when a value changed.
    """
    table = ReferrerStat.__table__
    fields = (*STAT_FIELDS, "as_of")
    have = {
        r[0]: r[1:]
        for r in session.execute(
            select(table.c.provider_id, *(table.c[f] for f in fields)).where(
                rows.where(table.c.provider_id)
            )
        )
    }
    inserts, updates = [], []
    for row in stats.to_dict("records"):
        pid = int(row["provider_id"])
        values = {f: plain(row[f]) for f in STAT_FIELDS} | {"as_of": as_of}
        current = have.pop(pid, None)
        if current is None:
            inserts.append({"provider_id": pid, **values})
        elif any(old != values[f] for f, old in zip(fields, current, strict=True)):
            updates.append({"_pid": pid, **values})
    for i in range(0, len(updates), WRITE_CHUNK):
        session.execute(
            update(table).where(table.c.provider_id == bindparam("_pid")),
            updates[i : i + WRITE_CHUNK],
        )
    for i in range(0, len(inserts), WRITE_CHUNK):
        session.execute(table.insert(), inserts[i : i + WRITE_CHUNK])
    gone = list(have)
    for i in range(0, len(gone), WRITE_CHUNK):
        session.execute(delete(table).where(table.c.provider_id.in_(gone[i : i + WRITE_CHUNK])))


def _store_alerts(
    session: Session,
    stats: pd.DataFrame,
    events: pd.DataFrame,
    rules: list[AtRiskRule],
    *,
    as_of: date,
    rows: IdRange,
) -> dict[str, int]:
    """Evaluate the at-risk rules for the referrers with an id in ``rows`` (``stats`` and
    ``events``: theirs) and store new alerts (one per referrer, rule and day)."""
    from prospects.activity import at_risk_alerts

    found = at_risk_alerts(stats, events, rules, as_of=as_of)
    have = {
        (pid, rule)
        for pid, rule in session.execute(
            select(ReferralAlert.provider_id, ReferralAlert.rule).where(
                ReferralAlert.raised_on == as_of, rows.where(ReferralAlert.provider_id)
            )
        )
    }
    new = [
        {
            "provider_id": r["provider_id"],
            "rule": r["rule"],
            "raised_on": as_of,
            "tier": r["tier"],
            "message": r["message"],
            "history": json_value(r["history"]),
        }
        for r in found.to_dict("records")
        if (r["provider_id"], r["rule"]) not in have
    ]
    if new:
        session.execute(ReferralAlert.__table__.insert(), new)
    return {"raised": len(found), "new": len(new)}


def list_alerts(
    ctx: AppContext,
    *,
    since: date | None = None,
    rule: str | None = None,
    provider_id: int | None = None,
    limit: int = 200,
) -> list[AlertPublic]:
    """At-risk alerts, newest first, each with the history that triggered it."""
    stmt = (
        select(ReferralAlert, Provider.display_name)
        .join(Provider, Provider.id == ReferralAlert.provider_id)
        .order_by(ReferralAlert.raised_on.desc(), ReferralAlert.id.desc())
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(ReferralAlert.raised_on >= since)
    if rule:
        stmt = stmt.where(ReferralAlert.rule == rule)
    if provider_id is not None:
        stmt = stmt.where(ReferralAlert.provider_id == provider_id)
    with ctx.sessions() as session:
        return [
            AlertPublic.model_validate(a).model_copy(update={"display_name": name})
            for a, name in session.execute(stmt).all()
        ]


def referrer_activity(
    ctx: AppContext, provider_id: int, *, weeks: int = 12, months: int = 12
) -> dict:
    """One referrer's analytics: counts by week and month, trend, tier, first and last dates."""
    from prospects.activity import referral_counts
    from prospects.terms import is_lapsed

    s = ctx.settings
    as_of = as_of_date(ctx)
    with ctx.sessions() as session:
        if session.get(Provider, provider_id) is None:
            raise NotFoundError(f"no provider with id {provider_id}")
        events = pd.DataFrame(
            session.execute(
                select(ReferralEvent.provider_id, ReferralEvent.referral_date).where(
                    ReferralEvent.provider_id == provider_id, ReferralEvent.referral_date <= as_of
                )
            ).all(),
            columns=["provider_id", "referral_date"],
        )
    stats = _stats(events, as_of=as_of, settings=s)
    out: dict = {
        "provider_id": provider_id,
        "as_of": as_of.isoformat(),
        "referrals_total": 0,
        "referrals_window": 0,
        "tier": None,
        "trend": None,
        "last_month": 0,
        "prev_3_month_avg": 0.0,
        "first_referral": None,
        "last_referral": None,
        "lapsed": False,
        "weekly": [],
        "monthly": [],
    }
    if len(stats):
        row = stats.iloc[0]
        out.update(
            referrals_total=int(row["referrals_total"]),
            referrals_window=int(row["referrals_window"]),
            tier=row["tier"],
            trend=row["trend"],
            last_month=int(row["last_30d"]),
            prev_3_month_avg=round(float(row["prev_90d_monthly_avg"]), 2),
            first_referral=row["first_referral"].isoformat(),
            last_referral=row["last_referral"].isoformat(),
            lapsed=bool(
                is_lapsed(stats["last_referral"], as_of=as_of, lapsed_days=s.lapsed_days)[0]
            ),
        )
    for key, period, n in (("weekly", "week", weeks), ("monthly", "month", months)):
        counts = referral_counts(events, as_of=as_of, period=period, periods=n)
        out[key] = [
            {"period_start": d.isoformat(), "referrals": int(c)}
            for d, c in zip(counts["period_start"], counts["referrals"], strict=True)
        ]
    return out
