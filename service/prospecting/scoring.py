"""Prospect scoring (stage ``prm score``): white space per site, scored and explained.

For each site, candidates are selected through H3: active providers whose
cell (at the catchment resolution) lies in any of the site's catchments — the
same SQL on SQLite and PostgreSQL. Active referrers (referring and not lapsed
as of the as-of date, :mod:`prospects.terms`) are not prospects: a lapsed
referrer is back among them. ``org_referring`` is true when another member of
the organisation is referring. Days since the last CRM interaction feed the
recency component. Drive minutes come from the one road router
(:func:`geo.routing.minutes_from`, one search per site, the settings' snapping
rule); where a provider or the site is off the network or beyond reach, they
are the settings' straight-line estimate, flagged as estimated. Scores come from
the site's service-line profile (:mod:`prospects.profiles`).

Rows are upserted by (site, provider) and only rewritten when a value changed.
"""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from core.progress import ProgressSink, null_progress
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
from service.context import AppContext
from service.events import emit
from service.schemas import StageReport
from service.security.privacy import objected

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


def _in_catchments(
    session: Session, site: ClinicSite, res: int, *, only: int | None = None
) -> tuple[pd.DataFrame, Select]:
    """Active providers in the site's catchments (referring or not), and the query of their ids
    (``only``: that provider alone, when it is one of them)."""
    cell_col = h3_column(Provider, res)
    in_catchment = (
        select(CatchmentCell.h3)
        .join(Catchment, Catchment.id == CatchmentCell.catchment_id)
        .where(Catchment.site_id == site.id, Catchment.resolution == res)
    )
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
        )
        .outerjoin(Organization, Organization.id == Provider.organization_id)
        .where(
            Provider.is_active.is_(True), cell_col.in_(in_catchment), Provider.id.not_in(objected())
        )  # GDPR objection: never a prospect
    )
    if only is not None:
        stmt = stmt.where(Provider.id == only)
    frame = pd.DataFrame(session.execute(stmt).mappings().all())
    if not frame.empty:
        frame["practice_size"] = frame["practice_size"].clip(lower=1)
    return frame, stmt.with_only_columns(Provider.id)


def _candidates(
    session: Session,
    site: ClinicSite,
    res: int,
    *,
    as_of: date,
    window_days: int,
    lapsed_days: int,
    only: int | None = None,
) -> pd.DataFrame:
    """The site's prospects as of ``as_of``: who in its catchments is not an active referrer.

    Adds ``org_referring`` and ``days_since_contact`` (NaN when never contacted).
    Both terms come from the stored referrer stats' ``last_referral``
    through :mod:`prospects.terms`, so the scoring stage, the backtest and
    the activity endpoint decide them alike.
    """
    from data.models.prospecting import Interaction
    from prospects.terms import colleague_referring, is_active_referrer, is_referring

    frame, ids = _in_catchments(session, site, res, only=only)
    if frame.empty:
        return frame
    referrers = pd.DataFrame(
        session.execute(
            select(
                ReferrerStat.provider_id, ReferrerStat.last_referral, Provider.organization_id
            ).join(Provider, Provider.id == ReferrerStat.provider_id)
        ).all(),
        columns=["provider_id", "last_referral", "organization_id"],
    )
    last = frame["provider_id"].map(referrers.set_index("provider_id")["last_referral"])
    frame = frame[
        ~is_active_referrer(last, as_of=as_of, window_days=window_days, lapsed_days=lapsed_days)
    ].reset_index(drop=True)
    referring = referrers[
        is_referring(referrers["last_referral"], as_of=as_of, window_days=window_days)
    ]
    frame["org_referring"] = colleague_referring(frame, referring)
    last_contact = pd.DataFrame(
        session.execute(
            select(Interaction.provider_id, func.max(Interaction.occurred_at))
            .where(Interaction.provider_id.in_(ids.scalar_subquery()))
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


def add_proximity(ctx: AppContext, cand: pd.DataFrame, site: ClinicSite) -> None:
    """Add ``distance_km``, ``drive_minutes`` and ``proximity_estimated`` in place.

    The drive minutes every other view shows (:func:`geo.routing.minutes_from`
    with the settings' rule): routed where the site and the provider are on the
    network, else the straight-line estimate with ``proximity_estimated`` True;
    NaN for a provider without coordinates.
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
    only: int | None = None,
) -> pd.DataFrame:
    """A site's candidates (``only``: that provider, if one), scored and explained (empty: none)."""
    from prospects.scoring import score_prospects

    s = ctx.settings
    cand = _candidates(
        session,
        site,
        s.catchment_resolution,
        as_of=as_of,
        window_days=s.referring_window_days,
        lapsed_days=s.lapsed_days,
        only=only,
    )
    if cand.empty:
        return cand
    add_proximity(ctx, cand, site)
    return score_prospects(cand, profile, fallback=ctx.fallback, explain=True)


def rescore_provider(ctx: AppContext, session: Session, *, provider_id: int) -> list[dict]:
    """Score one provider again at every site, with the code and models of ``prm score``.

    Runs in the caller's transaction (after a visit is logged, so its recency
    counts). The provider's prospect rows are inserted, updated or removed as
    the scoring stage would, and a site where it is new sends the stage's
    ``prospect.new_in_territory`` event; no other provider's row is touched. Scores are
    per provider (nothing is normalised over the cohort), so the score equals
    the one the next full run gives.

    Returns
    -------
    list of dict
        ``site_code``, ``profile``, ``score``, ``segment``, ``drive_minutes`` per site
        where the provider is a prospect now.
    """
    from service.prospecting.referrals import as_of_date

    as_of = as_of_date(ctx)
    out = []
    for site, profile in _site_models(ctx, session):
        scored = _score_site(ctx, session, site, profile, as_of=as_of, only=provider_id)
        _, new = _store(session, site.id, profile.key, scored, only=provider_id)
        _announce_new(ctx, session, site, profile.key, new)
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


def score_sites(
    ctx: AppContext,
    *,
    providers: frozenset[int] | None = None,
    progress: ProgressSink = null_progress,
) -> StageReport:
    """Score every site's white-space prospects and store them (one transaction).

    ``providers``: score only these (a pipeline scope); every other provider's
    stored prospects stay as they are. A provider's score depends on it and its
    site alone, so a scoped run stores what a whole run would for them.
    """
    from service.prospecting.referrals import as_of_date

    started = time.perf_counter()
    detail: dict[str, dict] = {}
    as_of = as_of_date(ctx)
    with ctx.sessions.begin() as session:
        models = _site_models(ctx, session)
        for n, (site, profile) in enumerate(models):
            progress("score", n, len(models))
            scored = _score_site(ctx, session, site, profile, as_of=as_of)
            if providers is not None and not scored.empty:
                scored = scored[scored["provider_id"].isin(providers)].reset_index(drop=True)
            if scored.empty:
                written, _ = _store(
                    session, site.id, profile.key, pd.DataFrame(), providers=providers
                )
                detail[site.site_code] = {"prospects": 0, **written}
                continue
            written, new = _store(session, site.id, profile.key, scored, providers=providers)
            _announce_new(ctx, session, site, profile.key, new)
            segs = scored["segment"].value_counts().head(6).to_dict()
            detail[site.site_code] = {
                "profile": profile.key,
                "prospects": len(scored),
                "median_score": round(float(scored["score"].median()), 1),
                "segments": {k: int(v) for k, v in segs.items()},
                **written,
            }
        analyze(session, Prospect.__tablename__)  # planner statistics for the prospect list
        progress("score", len(models), len(models))
    return StageReport(
        stage="score", detail=detail, duration_s=round(time.perf_counter() - started, 3)
    )


#: At most this many new prospects are listed in one ``prospect.new_in_territory`` event.
EVENT_MAX_PROSPECTS = 500


def _announce_new(
    ctx: AppContext, session: Session, site: ClinicSite, profile: str, new: list[dict]
) -> None:
    """Queue ``prospect.new_in_territory`` for the site's newly stored prospects, if any: the
    one event a score change sends, whether from a full run or one provider's re-scoring."""
    if new:  # committed (and so sent) only with the scores themselves
        emit(
            ctx,
            "prospect.new_in_territory",
            _new_prospects_event(site, profile, new),
            session=session,
        )


def _new_prospects_event(site: ClinicSite, profile: str, new: list[dict]) -> dict:
    best = sorted(new, key=lambda r: -r["score"])[:EVENT_MAX_PROSPECTS]
    return {
        "site_code": site.site_code,
        "profile": profile,
        "count": len(new),
        "prospects": [
            {
                "provider_id": r["provider_id"],
                "score": round(r["score"], 1),
                "segment": r["segment"],
            }
            for r in best
        ],
    }


#: The prospect columns a score run writes (besides the site and provider keys).
_PROSPECT_VALUES = (
    "profile",
    "score",
    "segment",
    "taxonomy_code",
    "classification",
    "drive_minutes",
    "distance_km",
    "proximity_estimated",
    "components",
)
#: Rows per executemany batch when prospects are written.
WRITE_CHUNK = 5000


def _prospect_values(row: dict, profile: str) -> dict:
    dm = row["drive_minutes"]
    values = {
        "profile": profile,
        "score": float(row["score"]),
        "segment": row["segment"],
        "taxonomy_code": row.get("taxonomy_code"),
        "classification": row.get("classification"),
        "drive_minutes": None if pd.isna(dm) else round(float(dm), 2),
        "distance_km": round(float(row["distance_km"]), 3),
        "proximity_estimated": bool(row["proximity_estimated"]),
        "components": row["components"],
    }
    return {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in values.items()}


def _store(
    session: Session,
    site_id: int,
    profile: str,
    scored: pd.DataFrame,
    *,
    only: int | None = None,
    providers: frozenset[int] | None = None,
) -> tuple[dict[str, int], list[dict]]:
    """Upsert a site's prospects (``only``: that provider's row alone; ``providers``: only
    theirs, the rest untouched); returns the counts and the rows inserted (new prospects).

    The stored rows are read as plain tuples and written back with one executemany per
    statement and chunk (no ORM object per row, which cost more than the scoring itself).
    """
    table = Prospect.__table__
    cols = [table.c[k] for k in _PROSPECT_VALUES]
    stmt = select(table.c.provider_id, table.c.id, *cols).where(table.c.site_id == site_id)
    if only is not None:
        stmt = stmt.where(table.c.provider_id == only)
    have = {r[0]: (r[1], r[2:]) for r in session.execute(stmt)}
    if providers is not None:
        have = {pid: row for pid, row in have.items() if pid in providers}
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    inserts, updates = [], []
    for row in scored.to_dict("records") if len(scored) else []:
        pid = int(row["provider_id"])
        values = _prospect_values(row, profile)
        current = have.pop(pid, None)
        if current is None:
            inserts.append({"site_id": site_id, "provider_id": pid, **values})
            counts["inserted"] += 1
        elif any(old != values[k] for k, old in zip(_PROSPECT_VALUES, current[1], strict=True)):
            updates.append({"_id": current[0], **values})
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    for i in range(0, len(updates), WRITE_CHUNK):
        session.execute(
            update(table).where(table.c.id == bindparam("_id")),
            updates[i : i + WRITE_CHUNK],
        )
    for i in range(0, len(inserts), WRITE_CHUNK):
        session.execute(table.insert(), inserts[i : i + WRITE_CHUNK])
    gone = [pk for pk, _ in have.values()]
    for i in range(0, len(gone), WRITE_CHUNK):
        session.execute(delete(table).where(table.c.id.in_(gone[i : i + WRITE_CHUNK])))
    counts["removed"] = len(have)
    return counts, inserts
