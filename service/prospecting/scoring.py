"""Prospect scoring (stage ``prm score``): white space per site, scored and explained.

Who is scored for a site (:func:`reachable`, the one definition, which the
backtest uses too): every active provider, referring or not, who has not
objected to processing and lies within ``settings.prospect_reach_minutes``
(``PRM_PROSPECT_REACH_MINUTES``, 45 by default) of drive from the site. Drive
minutes come from the one road router (:func:`geo.routing.minutes_from`, one
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
(:func:`geo.routing.reach_from`), not once per chunk.
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
from core.sequences import chunked
from data.db import analyze
from data.models import (
    Catchment,
    CatchmentCell,
    ClinicSite,
    Organization,
    Prospect,
    Provider,
    ReferrerStat,
    h3_column,
)
from service.checkpoints import Checkpoints, no_checkpoints
from service.context import AppContext
from service.prospecting.chunks import IdRange, one_provider, provider_ranges, providers_per_chunk
from service.prospecting.prospect_writes import announce_new, store_prospects
from service.schemas import StageReport
from service.security.privacy import objected

if TYPE_CHECKING:
    from geo.routing import Reach

DEFAULT_PROFILE = "imaging_mri"


def shipped() -> dict:
    """The shipped scoring profiles by name."""
    from prospects.profiles import load_profile, shipped_profiles

    return {name: load_profile(path) for name, path in shipped_profiles().items()}


def profile_for(service_line: str, profiles: dict):  # noqa: ANN201
    """The profile whose service line (or name) matches the site's, else the default."""
    wanted = service_line.strip().lower()
    for profile in profiles.values():
        if profile.service_line.lower() == wanted or profile.name.lower() == wanted:
            return profile
    return profiles[DEFAULT_PROFILE]


def reach_box(ctx: AppContext, site: ClinicSite) -> tuple[float, float, float, float]:
    """``(west, south, east, north)``: where every provider within reach of ``site`` lies.

    The reach is ``settings.prospect_reach_minutes`` of drive by the one rule
    (:func:`geo.routing.minutes_from`); the box holds the circle of
    :func:`geo.routing.reach_km`, the farthest those minutes go in a straight
    line at the fastest speed the rule can give (the router's fastest road,
    else the fallback's ``speed_kph / circuity``), so the SQL pre-selection it
    makes loses no one within reach. It is wider than the reach (roads wind,
    and few are that fast): who is kept is decided on the minutes themselves.
    """
    from geo.distance import bounding_box
    from geo.routing import reach_km

    km = reach_km(ctx.router_or_none, ctx.settings.prospect_reach_minutes, fallback=ctx.fallback)
    # 0.1 % and a metre wider: a provider exactly at the edge survives rounding in SQL
    return bounding_box(site.lat, site.lon, km * 1.001 + 0.001)


def reachable(
    ctx: AppContext,
    session: Session,
    site: ClinicSite,
    *,
    rows: IdRange | None = None,
    reach: Reach | None = None,
) -> pd.DataFrame:
    """Who is scored for ``site``: every active provider (referring or not, objection-free)
    within ``settings.prospect_reach_minutes`` of drive from it (``rows``: with an id in
    that range only).

    The one definition of the universe, for the score stage and the backtest.
    Rows are pre-selected in SQL by :func:`reach_box` (the same statement on
    both backends), then their drive minutes computed as :func:`add_proximity`
    does (``reach``: the site's :func:`site_reach`) and those within reach kept;
    a provider without coordinates has no drive time and is not within reach.
    ``in_catchment`` says whether the provider's cell (at the catchment
    resolution) lies in one of the site's catchments: catchments filter the
    prospect list, they no longer decide who is scored.
    """
    res = ctx.settings.catchment_resolution
    cell_col = h3_column(Provider, res)
    catchment_cells = (
        select(CatchmentCell.h3)
        .join(Catchment, Catchment.id == CatchmentCell.catchment_id)
        .where(Catchment.site_id == site.id, Catchment.resolution == res)
    )
    west, south, east, north = reach_box(ctx, site)
    stmt = (
        select(
            Provider.id.label("provider_id"),
            Provider.taxonomy_code,
            Provider.classification,
            Provider.entity_type,
            Provider.lat,
            Provider.lon,
            Provider.organization_id,
            func.coalesce(Organization.member_count, 1).label("practice_size"),
            cell_col.in_(catchment_cells).label("in_catchment"),
        )
        .outerjoin(Organization, Organization.id == Provider.organization_id)
        .where(
            Provider.is_active.is_(True),
            Provider.lat.between(south, north),
            Provider.lon.between(west, east),
            Provider.id.not_in(objected()),  # GDPR objection: never a prospect
        )
        .order_by(Provider.id)
    )
    if rows is not None:
        stmt = stmt.where(rows.where(Provider.id))
    frame = pd.DataFrame(session.execute(stmt).mappings().all())
    if frame.empty:
        return frame
    frame["practice_size"] = frame["practice_size"].clip(lower=1)
    # NULL (no cell at that resolution) is not in a catchment; SQLite answers 0/1
    frame["in_catchment"] = frame["in_catchment"].astype("boolean").fillna(False).astype(bool)
    add_proximity(ctx, frame, site, reach=reach)
    within = frame["drive_minutes"] <= ctx.settings.prospect_reach_minutes
    return frame[within].reset_index(drop=True)


#: Organisation ids per ``IN (...)`` list: below both backends' bound-parameter limits.
_IN_BATCH = 5000


def referring_bounds(*, as_of: date, window_days: int) -> tuple[date, date]:
    """First and last day of a referring referrer's last referral, for SQL pre-filters.

    The bounds of :func:`prospects.terms.is_referring`'s window
    (:func:`prospects.terms.window_start` to ``as_of``): a SQL filter on them
    keeps every stat that function calls referring, which then decides.
    """
    from prospects.terms import window_start

    return window_start(as_of=as_of, days=window_days), as_of


def _referring_colleagues(
    session: Session, organizations: pd.Series, *, as_of: date, window_days: int
) -> pd.DataFrame:
    """``provider_id``, ``last_referral``, ``organization_id`` of the referring members of these
    organisations (wherever they are), :func:`prospects.terms.is_referring` deciding."""
    from prospects.terms import is_referring

    first, last = referring_bounds(as_of=as_of, window_days=window_days)
    orgs = sorted({int(o) for o in organizations.dropna()})
    found = []
    for batch in chunked(orgs, _IN_BATCH):
        found += session.execute(
            select(ReferrerStat.provider_id, ReferrerStat.last_referral, Provider.organization_id)
            .join(Provider, Provider.id == ReferrerStat.provider_id)
            .where(
                Provider.organization_id.in_(batch),
                ReferrerStat.last_referral.between(first, last),
            )
        ).all()
    colleagues = pd.DataFrame(found, columns=["provider_id", "last_referral", "organization_id"])
    return colleagues[
        is_referring(colleagues["last_referral"], as_of=as_of, window_days=window_days)
    ]


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
    through :mod:`prospects.terms`, so the scoring stage, the backtest and
    the activity endpoint decide them alike. Only the stats of the candidates
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
    referring = _referring_colleagues(
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


def add_proximity(
    ctx: AppContext, cand: pd.DataFrame, site: ClinicSite, *, reach: Reach | None = None
) -> None:
    """Add ``distance_km``, ``drive_minutes`` and ``proximity_estimated`` in place.

    The drive minutes every other view shows (:func:`geo.routing.minutes_from`
    with the settings' rule): routed where the site and the provider are on the
    network, else the straight-line estimate with ``proximity_estimated`` True;
    NaN for a provider without coordinates. ``reach``: the site's
    :func:`site_reach`, when it answers many batches.
    """
    from geo.distance import haversine_km
    from geo.routing import minutes_from

    lat, lon = cand["lat"].to_numpy(float), cand["lon"].to_numpy(float)
    cand["distance_km"] = haversine_km(site.lat, site.lon, lat, lon)
    cand["drive_minutes"], cand["proximity_estimated"] = minutes_from(
        ctx.router_or_none,
        site.lat,
        site.lon,
        lat,
        lon,
        max_snap_m=ctx.settings.max_snap_m,
        fallback=ctx.fallback,
        reach=reach,
    )


def site_reach(ctx: AppContext, site: ClinicSite) -> Reach:
    """The router's one whole search from the site (:func:`geo.routing.reach_from`)."""
    from geo.routing import reach_from

    return reach_from(
        ctx.router_or_none,
        site.lat,
        site.lon,
        max_snap_m=ctx.settings.max_snap_m,
        fallback=ctx.fallback,
    )


def _site_models(ctx: AppContext, session: Session) -> list[tuple[ClinicSite, object]]:
    """Every site (by code) with its active scoring model: its service line's profile,
    specialty groups expanded."""
    from prospects.groups import expand_profile
    from service.ingest.groups import resolved_groups

    profiles = shipped()
    groups = resolved_groups(ctx, session)
    sites = session.scalars(select(ClinicSite).order_by(ClinicSite.site_code)).all()
    return [
        (site, expand_profile(profile_for(site.service_line, profiles), groups)) for site in sites
    ]


def _score_site(
    ctx: AppContext,
    session: Session,
    site: ClinicSite,
    profile,  # noqa: ANN001
    *,
    as_of: date,
    rows: IdRange,
    reach: Reach | None = None,
) -> pd.DataFrame:
    """A site's candidates with an id in ``rows``, scored and explained (empty: none)."""
    from prospects.scoring import score_prospects

    s = ctx.settings
    cand = _candidates(
        ctx,
        session,
        site,
        as_of=as_of,
        window_days=s.referring_window_days,
        lapsed_days=s.lapsed_days,
        rows=rows,
        reach=reach,
    )
    if cand.empty:
        return cand
    return score_prospects(cand, profile, fallback=ctx.fallback, explain=True)


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
    for site, profile in _site_models(ctx, session):
        scored = _score_site(ctx, session, site, profile, as_of=as_of, rows=rows)
        _, new = store_prospects(session, site.id, profile.key, scored, rows=rows)
        announce_new(ctx, session, site, profile.key, new)
        for row in scored.to_dict("records") if len(scored) else []:
            dm = row["drive_minutes"]
            out.append(
                {
                    "site_code": site.site_code,
                    "profile": profile.key,
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
        models = _site_models(ctx, session)
        ranges = provider_ranges(session, size=size)
    chunks = [(site, profile, rows) for site, profile in models for rows in ranges]
    tallies = {site.site_code: _SiteTally(profile.key) for site, profile in models}
    reach: dict[str, Reach] = {}  # the current site's one search, when it has several chunks
    for n, (site, profile, rows) in enumerate(chunks):
        progress("score", n, len(chunks))
        key = f"site={site.site_code} {rows.key}"
        if not _in_scope(rows, scope) or checkpoints.done("score", key):
            continue
        with ctx.sessions.begin() as session:
            if len(ranges) > 1 and site.site_code not in reach:
                reach = {site.site_code: site_reach(ctx, site)}
            scored = _score_site(
                ctx, session, site, profile, as_of=as_of, rows=rows, reach=reach.get(site.site_code)
            )
            if providers is not None and not scored.empty:
                scored = scored[scored["provider_id"].isin(providers)].reset_index(drop=True)
            written, new = store_prospects(
                session, site.id, profile.key, scored, rows=rows, providers=providers
            )
            announce_new(ctx, session, site, profile.key, new)
            checkpoints.mark(session, "score", key)
        tallies[site.site_code].add(scored, written)
    with ctx.sessions.begin() as session:
        analyze(session, Prospect.__tablename__)  # planner statistics for the prospect list
    progress("score", len(chunks), len(chunks))
    return StageReport(
        stage="score",
        detail={code: tally.detail() for code, tally in tallies.items()},
        duration_s=round(time.perf_counter() - started, 3),
    )
