"""Backtest of a site's scoring profile on the clinic's own referral history (CLI and API).

Candidates are the active providers in the site's catchments (referring or
not: :func:`prospects.backtest.backtest` removes those who were active
referrers at the cut-off, by the terms the scoring stage uses, from its own
copy of the history); drive times are computed as for scoring. See
:mod:`prospects.backtest` for the metrics.
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
        The site has no provider in its catchments.
    """
    from service.prospecting.scoring import _in_catchments, add_proximity

    with ctx.sessions() as session:
        cand, _ = _in_catchments(session, site, ctx.settings.catchment_resolution)
    if cand.empty:
        raise NotFoundError(f"site {site.site_code!r} has no providers in its catchments")
    add_proximity(ctx, cand, site)
    return cand


def run_backtest(ctx: AppContext, request: BacktestRequest) -> dict:
    """Hide the last ``hide_months`` of history, score as of the cut-off, report the metrics."""
    from prospects.backtest import backtest
    from prospects.groups import expand_profile
    from service.ingest.groups import resolved_groups
    from service.prospecting.referrals import as_of_date
    from service.prospecting.scoring import profile_for, shipped
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
