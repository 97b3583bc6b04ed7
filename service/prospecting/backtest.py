"""Backtest of a site's scoring profile on the clinic's own referral history (CLI and API).

Candidates are those the scoring stage scores, by its one definition
(:func:`service.prospecting.universe.reachable`): every active provider within
``prospect_reach_minutes`` of drive from the site, referring or not
(:func:`prospects.backtest.backtest` removes those who were active referrers at
the cut-off, by the terms the scoring stage uses, from its own copy of the
history), with the drive times scoring computes. See :mod:`prospects.backtest`
for the metrics.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from core.errors import NotFoundError
from data.models import ClinicSite, Provider, ReferralEvent
from service.context import AppContext
from service.prospecting.schemas import BacktestRequest

__all__ = ["backtest_candidates", "run_backtest"]


def backtest_candidates(ctx: AppContext, site: ClinicSite) -> pd.DataFrame:
    """The backtest's candidates of ``site`` with their scoring features, as scoring computes them.

    Raises
    ------
    core.errors.NotFoundError
        No provider is within reach of the site.
    """
    from service.prospecting.universe import reachable

    with ctx.sessions() as session:
        cand = reachable(ctx, session, site)
    if cand.empty:
        minutes = ctx.settings.prospect_reach_minutes
        raise NotFoundError(f"site {site.site_code!r} has no providers within {minutes:g} minutes")
    return cand


def run_backtest(ctx: AppContext, request: BacktestRequest) -> dict:
    """Hide the last ``hide_months`` of history, score as of the cut-off, report the metrics."""
    from prospects.backtest import backtest
    from prospects.groups import expand_profile
    from service.ingest.groups import resolved_groups
    from service.prospecting.referrals import as_of_date
    from service.prospecting.universe import profile_for, shipped
    from service.queries import site_by_code

    s = ctx.settings
    profiles = shipped()
    if request.profile is not None and request.profile not in profiles:
        raise NotFoundError(f"no shipped profile {request.profile!r}; known: {', '.join(profiles)}")
    with ctx.sessions() as session:
        site = site_by_code(session, request.site)
        base = (
            profiles[request.profile]
            if request.profile
            else profile_for(site.service_line, profiles)
        )
        profile = expand_profile(base, resolved_groups(ctx, session))
        events = pd.DataFrame(
            session.execute(
                select(
                    ReferralEvent.provider_id, ReferralEvent.referral_date, Provider.organization_id
                ).join(Provider, Provider.id == ReferralEvent.provider_id)
            ).all(),
            columns=["provider_id", "referral_date", "organization_id"],
        )
    cand = backtest_candidates(ctx, site)
    result = backtest(
        events,
        cand,
        profile,
        as_of=as_of_date(ctx),
        hide_months=request.hide_months,
        window_days=s.referring_window_days,
        lapsed_days=s.lapsed_days,
        organizations=events[["provider_id", "organization_id"]].drop_duplicates(),
        k=request.k,
        seed=request.seed,
        fallback=ctx.fallback,
    )
    return {"site": request.site, **result.as_dict()}
