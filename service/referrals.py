"""Referral activity (stage ``prm tiers``): link events to referrers, volumes and tiers.

Events naming an NPI link to the golden record with that NPI; free-text names
go through :func:`enrichment.freetext.match_free_text`. Stats are computed with
:func:`prospects.tiers.referrer_stats` as of ``settings.as_of`` (default today)
and upserted, so a re-run on the same data changes nothing.

Not handled yet (issue #6): the review queue for unlinked names, at-risk alerts.
"""

from __future__ import annotations

import time
from datetime import date

import pandas as pd
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.progress import ProgressSink, null_progress
from core.values import plain
from data.models import Provider, ReferralEvent, ReferrerStat
from service.context import AppContext
from service.schemas import StageReport

STAT_FIELDS = ("referrals_window", "referrals_total", "first_referral", "last_referral",
               "trend", "referring", "tier")


def as_of_date(ctx: AppContext) -> date:
    return ctx.settings.as_of or date.today()


def link_referral_events(session: Session) -> dict[str, int]:
    """Attach unlinked referral events to golden records, in the caller's transaction."""
    from enrichment.freetext import match_free_text

    pending = session.execute(
        select(ReferralEvent.id, ReferralEvent.referrer_npi, ReferralEvent.referrer_name)
        .where(ReferralEvent.provider_id.is_(None))
    ).all()
    if not pending:
        return {"linked_by_npi": 0, "linked_by_name": 0, "unlinked": 0}
    by_npi = dict(session.execute(
        select(Provider.npi, Provider.id).where(Provider.npi.is_not(None))
        .order_by(Provider.is_active.asc())  # an active record wins over a deactivated one
    ).all())
    updates, names = [], []
    for ev_id, npi, name in pending:
        if npi and npi in by_npi:
            updates.append({"id": ev_id, "provider_id": by_npi[npi], "link_confidence": 1.0})
        elif name:
            names.append((ev_id, name))
    n_npi = len(updates)
    if names:
        golden = pd.DataFrame(
            session.execute(
                select(Provider.id.label("provider_id"), Provider.first_name, Provider.last_name)
                .where(Provider.entity_type == "individual")
            ).all(),
            columns=["provider_id", "first_name", "last_name"],
        )
        unique = sorted({n for _, n in names})
        matches = dict(zip(unique, match_free_text(pd.Series(unique), golden), strict=True))
        for ev_id, name in names:
            m = matches[name]
            if m.provider_id is not None:
                updates.append({"id": ev_id, "provider_id": m.provider_id, "link_confidence": m.confidence})
    if updates:
        session.execute(update(ReferralEvent), updates)
    return {"linked_by_npi": n_npi, "linked_by_name": len(updates) - n_npi,
            "unlinked": len(pending) - len(updates)}


def compute_referrer_stats(ctx: AppContext, *, progress: ProgressSink = null_progress) -> StageReport:
    """Link events, then compute and store each referrer's volume, trend and tier."""
    from prospects.tiers import referrer_stats

    started = time.perf_counter()
    s = ctx.settings
    as_of = as_of_date(ctx)
    with ctx.sessions.begin() as session:
        links = link_referral_events(session)
        events = pd.DataFrame(
            session.execute(
                select(ReferralEvent.provider_id, ReferralEvent.referral_date)
                .where(ReferralEvent.provider_id.is_not(None), ReferralEvent.referral_date <= as_of)
            ).all(),
            columns=["provider_id", "referral_date"],
        )
        progress("tiers", 0, len(events))
        stats = referrer_stats(events, as_of=as_of, window_days=s.referring_window_days,
                               tier_a_min=s.tier_a_min, tier_b_min=s.tier_b_min)
        have = {r.provider_id: r for r in session.scalars(select(ReferrerStat))}
        for row in stats.to_dict("records"):
            pid = int(row["provider_id"])
            values = {f: plain(row[f]) for f in STAT_FIELDS} | {"as_of": as_of}
            stat = have.get(pid)
            if stat is None:
                session.add(ReferrerStat(provider_id=pid, **values))
            else:
                for f, v in values.items():
                    if getattr(stat, f) != v:
                        setattr(stat, f, v)
        gone = set(have) - {int(p) for p in stats["provider_id"]}
        if gone:
            session.execute(delete(ReferrerStat).where(ReferrerStat.provider_id.in_(gone)))
        tiers = stats["tier"].value_counts(dropna=True).to_dict()
    return StageReport(
        stage="tiers",
        detail={**links, "as_of": as_of.isoformat(), "referrers": int(stats["referring"].sum()),
                "tiers": {k: int(v) for k, v in sorted(tiers.items())}},
        duration_s=round(time.perf_counter() - started, 3),
    )
