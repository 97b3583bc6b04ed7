"""Prospect scoring (stage ``prm score``): white space per site, scored and explained.

Who is scored for a site (:func:`service.prospecting.universe.reachable`, the one
definition, which the learned score's history and backtest apply too): every
active provider, referring or not, who has not objected to processing and lies
within ``settings.prospect_reach_minutes`` (``PRM_PROSPECT_REACH_MINUTES``, 45
by default) of drive from the site. Drive
minutes come from the one road router (:func:`geo.drive_times.minutes_from`, one
search per site, the settings' snapping rule); where a provider or the site is
off the network or beyond its roads, they are the settings' straight-line
estimate, flagged ``proximity_estimated``. A provider without coordinates has
no drive time and is not within reach. Candidates are pre-selected in SQL by a
box on lat/lon wide enough to lose no one within reach (:func:`reach_box`),
the same statement on SQLite and PostgreSQL, then kept on their minutes.

The site's catchments (drive time and radius, :mod:`service.placement.catchments`)
are no longer the universe: a third of the doctors who went on to refer lay
outside them and were never ranked. Each prospect row stores ``in_catchment``
(the provider's H3 cell at the catchment resolution lies in one of the site's
catchments), a filter of the prospect list.

Active referrers (referring and not lapsed as of the as-of date,
:mod:`prospects.terms`) are not prospects: a lapsed referrer is back among
them. ``org_referring`` is true when another member of the organisation is
referring. Days since the last CRM interaction feed the recency component.
Scores come from the site's service-line profile (:mod:`prospects.profiles`).

Rows are upserted by (site, provider) and only rewritten when a value changed.

Bounded memory: a site is scored a chunk of provider ids at a time
(:mod:`service.prospecting.chunks`, sized from ``settings.memory_budget_mb``),
each chunk reading only its own candidates (those of its id range inside the
site's box), their referrer stats, the referring colleagues of their
organisations and their last contacts, and rewriting only the site's stored
prospects in its id range, in a transaction of its own that also marks it done
(:mod:`service.checkpoints`), so a killed run resumes at the first chunk not
stored. The router's search from a site is done once per site and run
(:func:`geo.drive_times.reach_from`), not once per chunk.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.progress import ProgressSink, null_progress
from data.db import analyze
from data.models import (
    ClinicSite,
    Prospect,
    ReferrerStat,
)
from service.checkpoints import Checkpoints, no_checkpoints
from service.context import AppContext
from service.prospecting.chunks import IdRange, one_provider, provider_ranges, providers_per_chunk
from service.prospecting.prospect_writes import announce_new, store_prospects
from service.prospecting.universe import (
    profile_for,
    reachable,
    referring_colleagues,
    shipped,
    site_reach,
)
from service.schemas import StageReport

if TYPE_CHECKING:
    from geo.drive_times import Reach
    from prospects.profiles import ScoringProfile
    from service.prospecting.served_model import ServedModel


def _candidates(
    ctx: AppContext,
    session: Session,
    site: ClinicSite,
    *,
    as_of: date,
    window_days: int,
    lapsed_days: int,
    rows: IdRange,
    reach: Reach | None = None,
) -> pd.DataFrame:
    """The site's prospects as of ``as_of`` with an id in ``rows``: who within its reach
    (:func:`reachable`) is not an active referrer.

    Adds ``org_referring`` and ``days_since_contact`` (NaN when never contacted).
    Both terms come from the stored referrer stats' ``last_referral``
    through :mod:`prospects.terms`, so the scoring stage, the learned score's
    history and backtest and the activity endpoint decide them alike. Only the stats of the candidates
    and of their organisations' referring members are read.
    """
    from data.models.prospecting import Interaction
    from prospects.terms import colleague_referring, is_active_referrer

    frame = reachable(ctx, session, site, rows=rows, reach=reach)
    if frame.empty:
        return frame
    stats = dict(
        session.execute(
            select(ReferrerStat.provider_id, ReferrerStat.last_referral).where(
                rows.where(ReferrerStat.provider_id)
            )
        ).all()
    )
    last = frame["provider_id"].map(stats)
    frame = frame[
        ~is_active_referrer(last, as_of=as_of, window_days=window_days, lapsed_days=lapsed_days)
    ].reset_index(drop=True)
    referring = referring_colleagues(
        session, frame["organization_id"], as_of=as_of, window_days=window_days
    )
    frame["org_referring"] = colleague_referring(frame, referring)
    last_contact = pd.DataFrame(
        session.execute(
            select(Interaction.provider_id, func.max(Interaction.occurred_at))
            .where(rows.where(Interaction.provider_id))
            .group_by(Interaction.provider_id)
        ).all(),
        columns=["provider_id", "last_contact"],
    )
    days = pd.Series(np.nan, index=frame.index)
    if len(last_contact):
        when = pd.to_datetime(last_contact["last_contact"], utc=True).dt.tz_localize(None)
        days_ago = (pd.Timestamp(as_of) - when.dt.normalize()).dt.days.clip(lower=0)
        by_id = dict(zip(last_contact["provider_id"], days_ago))
        days = frame["provider_id"].map(by_id).astype(float)
    frame["days_since_contact"] = days
    return frame


@dataclass
class SiteModel:
    """A site with what scores it: its line's profile, and the line's promoted model if any."""

    site: ClinicSite
    profile: ScoringProfile
    served: ServedModel | None = None

    @property
    def key(self) -> str:
        """Stored beside each score: the profile, and the model blended with it."""
        if self.served is None:
            return self.profile.key
        return f"{self.served.key}+{self.profile.key}"


def _site_models(ctx: AppContext, session: Session) -> tuple[list[SiteModel], list[str]]:
    """Every site (by code) with its scoring: its service line's profile (specialty groups
    expanded) and promoted model; and a warning per line whose model cannot be read."""
    from prospects.groups import expand_profile
    from service.ingest.groups import resolved_groups
    from service.prospecting.served_model import served_model

    profiles = shipped()
    groups = resolved_groups(ctx, session)
    sites = session.scalars(select(ClinicSite).order_by(ClinicSite.site_code)).all()
    served: dict[str, ServedModel | None] = {}
    warnings = []
    for line in sorted({site.service_line.strip().lower() for site in sites}):
        served[line], warning = served_model(ctx, session, line)
        if warning:
            warnings.append(warning)
    models = [
        SiteModel(
            site,
            expand_profile(profile_for(site.service_line, profiles), groups),
            served[site.service_line.strip().lower()],
        )
        for site in sites
    ]
    return models, warnings


def _score_site(
    ctx: AppContext,
    session: Session,
    model: SiteModel,
    *,
    as_of: date,
    rows: IdRange,
    reach: Reach | None = None,
) -> pd.DataFrame:
    """A site's candidates with an id in ``rows``, scored and explained (empty: none)."""
    from prospects.scoring import score_prospects
    from service.prospecting.served_model import apply_model

    s = ctx.settings
    cand = _candidates(
        ctx,
        session,
        model.site,
        as_of=as_of,
        window_days=s.referring_window_days,
        lapsed_days=s.lapsed_days,
        rows=rows,
        reach=reach,
    )
    if cand.empty:
        return cand
    scored = score_prospects(cand, model.profile, fallback=ctx.fallback, explain=True)
    if model.served is None:
        return scored
    return apply_model(
        ctx,
        session,
        model.served,
        scored,
        as_of=as_of,
        rows=rows,
        window_days=s.referring_window_days,
    )


def rescore_provider(ctx: AppContext, session: Session, *, provider_id: int) -> list[dict]:
    """Score one provider again at every site, with the code and models of ``prm score``.

    Runs in the caller's transaction (after a visit is logged, so its recency
    counts). The provider's prospect rows are inserted, updated or removed as
    the scoring stage would (a chunk of one provider), and a site where it is new
    sends the stage's ``prospect.new_in_territory`` event; no other provider's row
    is touched. Scores are per provider (nothing is normalised over the cohort),
    so the score equals the one the next full run gives.

    Returns
    -------
    list of dict
        ``site_code``, ``profile``, ``score``, ``segment``, ``drive_minutes`` per site
        where the provider is a prospect now.
    """
    from service.prospecting.referrals import as_of_date

    as_of = as_of_date(ctx)
    rows = one_provider(provider_id)
    out = []
    models, _ = _site_models(ctx, session)
    for model in models:
        site = model.site
        scored = _score_site(ctx, session, model, as_of=as_of, rows=rows)
        _, new = store_prospects(session, site.id, model.key, scored, rows=rows)
        announce_new(ctx, session, site, model.key, new)
        for row in scored.to_dict("records") if len(scored) else []:
            dm = row["drive_minutes"]
            out.append(
                {
                    "site_code": site.site_code,
                    "profile": model.key,
                    "score": round(float(row["score"]), 2),
                    "segment": row["segment"],
                    "drive_minutes": None if pd.isna(dm) else round(float(dm), 2),
                }
            )
    return out


@dataclass
class _SiteTally:
    """A site's report, added up chunk by chunk in bounded memory."""

    profile: str
    prospects: int = 0
    #: scores rounded to 0.1, as tenths -> how many: the median's exact input
    tenths: Counter = field(default_factory=Counter)
    segments: Counter = field(default_factory=Counter)
    written: Counter = field(
        default_factory=lambda: Counter(inserted=0, updated=0, unchanged=0, removed=0)
    )

    def add(self, scored: pd.DataFrame, written: dict[str, int]) -> None:
        self.written.update(written)
        if scored.empty:
            return
        self.prospects += len(scored)
        self.tenths.update((scored["score"] * 10).round().astype("int64").tolist())
        self.segments.update(scored["segment"].tolist())

    def median(self) -> float:
        """The median of the scores rounded to 0.1 (the midpoint of the two middle ones)."""
        low_at, high_at = (self.prospects - 1) // 2, self.prospects // 2
        seen, low = 0, None
        for tenth in sorted(self.tenths):
            seen += self.tenths[tenth]
            if low is None and seen > low_at:
                low = tenth
            if seen > high_at:
                return round((low / 10 + tenth / 10) / 2, 1)
        return float("nan")

    def detail(self) -> dict:
        if not self.prospects:
            return {"prospects": 0, **self.written}
        return {
            "profile": self.profile,
            "prospects": self.prospects,
            "median_score": self.median(),
            "segments": dict(self.segments.most_common(6)),
            **self.written,
        }


def _in_scope(rows: IdRange, providers: list[int] | None) -> bool:
    """Whether any of the (sorted) scoped providers has an id in the range (no scope: yes)."""
    if providers is None:
        return True
    i = bisect_left(providers, rows.lo)
    return i < len(providers) and (rows.hi is None or providers[i] < rows.hi)


def score_sites(
    ctx: AppContext,
    *,
    providers: frozenset[int] | None = None,
    progress: ProgressSink = null_progress,
    checkpoints: Checkpoints = no_checkpoints,
    chunk_providers: int | None = None,
) -> StageReport:
    """Score every site's white-space prospects and store them, a chunk of providers at a time.

    Each (site, provider-id range) chunk is one transaction, marked in ``checkpoints``
    (stage ``"score"``, key ``"site=CODE providers=[lo,hi)"``) and skipped when already
    done. A site's new prospects are announced per chunk: one ``prospect.new_in_territory``
    event per chunk that stored any, listing at most ``EVENT_MAX_PROSPECTS`` of that
    chunk's (its ``count`` being the chunk's); with the default chunk size a site of up to
    ``memory_budget_mb * 64`` providers sends one. The report adds up the chunks this run
    stored (``median_score`` is that of the scores rounded to 0.1).

    ``providers``: score only these (a pipeline scope); every other provider's
    stored prospects stay as they are. A provider's score depends on it and its
    site alone, so a scoped run stores what a whole run would for them.
    ``chunk_providers``: providers per chunk instead of the memory budget's (tests).
    """
    from service.prospecting.referrals import as_of_date

    started = time.perf_counter()
    as_of = as_of_date(ctx)
    size = providers_per_chunk(ctx.settings.memory_budget_mb, override=chunk_providers)
    scope = sorted(providers) if providers is not None else None
    with ctx.sessions() as session:  # read only: the sites stay readable once it closes
        models, warnings = _site_models(ctx, session)
        ranges = provider_ranges(session, size=size)
    chunks = [(model, rows) for model in models for rows in ranges]
    tallies = {model.site.site_code: _SiteTally(model.key) for model in models}
    reach: dict[str, Reach] = {}  # the current site's one search, when it has several chunks
    for n, (model, rows) in enumerate(chunks):
        site = model.site
        progress("score", n, len(chunks))
        key = f"site={site.site_code} {rows.key}"
        if not _in_scope(rows, scope) or checkpoints.done("score", key):
            continue
        with ctx.sessions.begin() as session:
            if len(ranges) > 1 and site.site_code not in reach:
                reach = {site.site_code: site_reach(ctx, site)}
            scored = _score_site(
                ctx, session, model, as_of=as_of, rows=rows, reach=reach.get(site.site_code)
            )
            if providers is not None and not scored.empty:
                scored = scored[scored["provider_id"].isin(providers)].reset_index(drop=True)
            written, new = store_prospects(
                session, site.id, model.key, scored, rows=rows, providers=providers
            )
            announce_new(ctx, session, site, model.key, new)
            checkpoints.mark(session, "score", key)
        tallies[site.site_code].add(scored, written)
    with ctx.sessions.begin() as session:
        analyze(session, Prospect.__tablename__)  # planner statistics for the prospect list
    progress("score", len(chunks), len(chunks))
    return StageReport(
        stage="score",
        detail={code: tally.detail() for code, tally in tallies.items()}
        | ({"warnings": warnings} if warnings else {}),
        duration_s=round(time.perf_counter() - started, 3),
    )
