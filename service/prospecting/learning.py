"""The clinic's history as provider-months, and what fits, judges and promotes a scoring model.

``prm scoring fit|backtest|promote|show`` and ``/v1/scoring/...`` call these.
The history of one service line is read from the database as the scoring
stage sees it: the universe of prospects (every active provider within
``prospect_reach_minutes`` of a site of the line, by the one router; people
who objected are never prospects), the referrals linked at load (NPI or free
text, :func:`service.prospecting.referrals.link_referral_events`) and the
contact log. :func:`prospects.features.provider_months` turns it into rows
with no look-ahead; :mod:`prospects.model` fits; :mod:`prospects.rolling`
and :mod:`prospects.ranking_metrics`, :mod:`prospects.calibration` and
:mod:`prospects.bootstrap` judge.

Which referrals belong to a line: those naming it (``service_line``, any
case), and those naming none that went to one of its sites or name no site
either (a single-line clinic's file rarely says its line).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from core.errors import InputError, NotFoundError, Problem, ScoringError
from core.sequences import chunked
from data.models import ClinicSite, Competitor, Organization, Provider, ReferralEvent, SourceRecord
from data.models.prospecting import Interaction
from prospects.features import monthly_cutoffs, provider_months
from prospects.model import FittedModel, blend_weight, fit_model, prior_logit
from prospects.profiles import ScoringProfile
from service.context import AppContext

__all__ = [
    "History",
    "competitor_minutes",
    "line_competitors",
    "line_history",
    "line_profile",
    "line_sites",
    "line_universe",
    "nearest_place",
    "served_weight",
]

#: Provider ids per ``IN (...)`` list, below both backends' bound-parameter limits.
_IN_BATCH = 5000


@dataclass(frozen=True)
class History:
    """A service line's provider-months and what they were built from."""

    service_line: str
    as_of: date
    first_day: date
    cutoffs: list[date]
    frame: pd.DataFrame
    profile: ScoringProfile
    sites: list[str]


def line_sites(session: Session, service_line: str) -> list[ClinicSite]:
    """The clinic's sites of a service line (any case).

    Raises
    ------
    NotFoundError
        No site offers it (listing the lines that exist).
    """
    wanted = service_line.strip().lower()
    sites = session.scalars(select(ClinicSite).order_by(ClinicSite.site_code)).all()
    found = [s for s in sites if s.service_line.strip().lower() == wanted]
    if not found:
        known = sorted({s.service_line for s in sites})
        raise NotFoundError(
            f"no site offers service line {service_line!r}; known: {', '.join(known) or 'none'}"
        )
    return found


def line_profile(ctx: AppContext, session: Session, service_line: str) -> ScoringProfile:
    """The hand-set profile of a service line, specialty groups expanded (the prior)."""
    from prospects.groups import expand_profile
    from service.ingest.groups import resolved_groups
    from service.prospecting.universe import profile_for, shipped

    return expand_profile(profile_for(service_line, shipped()), resolved_groups(ctx, session))


def served_weight(ctx: AppContext, model: FittedModel) -> float:
    """The model's share against the profile as served: ``n / (n + k)``."""
    return blend_weight(starts=model.starts, prior_starts=ctx.settings.scoring_prior_starts)


def prior_of(ctx: AppContext, points: np.ndarray) -> np.ndarray:
    """The profile's score as log-odds, with the settings' base rate and slope."""
    s = ctx.settings
    return prior_logit(points, base_rate=s.scoring_prior_base_rate, slope=s.scoring_prior_slope)


def _union_box(ctx: AppContext, sites: list[ClinicSite]) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` holding every site's :func:`reach_box`."""
    from service.prospecting.universe import reach_box

    boxes = [reach_box(ctx, site) for site in sites]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def nearest_place(
    ctx: AppContext,
    places: Sequence[ClinicSite | Competitor],
    lat: pd.Series,
    lon: pd.Series,
    *,
    reaches: dict | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drive minutes to the nearest of ``places`` (sites, or competitors) by the one router's
    rule, whether estimated, and the straight-line km to that place (NaN where no place or no
    coordinates). ``reaches``: a place's point -> its one search, filled as needed (a run
    scoring many chunks searches once per place)."""
    from geo.distance import haversine_km
    from service.prospecting.universe import drive_minutes, site_reach

    lat_a, lon_a = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    reaches = {} if reaches is None else reaches
    best = np.full(len(lat_a), np.inf)
    estimated = np.zeros(len(lat_a), dtype=bool)
    km = np.full(len(lat_a), np.nan)
    for place in places:
        point = (place.lat, place.lon)  # a search depends on where it starts, nothing else
        if point not in reaches:
            reaches[point] = site_reach(ctx, place)
        minutes, flagged = drive_minutes(ctx, place, lat_a, lon_a, reach=reaches[point])
        closer = np.nan_to_num(minutes, nan=np.inf) < best
        best = np.where(closer, minutes, best)
        estimated = np.where(closer, flagged, estimated)
        km = np.where(closer, haversine_km(place.lat, place.lon, lat_a, lon_a), km)
    return np.where(np.isinf(best), np.nan, best), estimated, km


def line_competitors(session: Session, service_line: str) -> list[Competitor]:
    """The clinic's competitors of a service line (any case), and those of every line (blank)."""
    wanted = service_line.strip().lower()
    rows = session.scalars(
        select(Competitor).where(Competitor.lat.is_not(None)).order_by(Competitor.id)
    ).all()
    return [c for c in rows if not (c.service_line or "").strip() or
            c.service_line.strip().lower() == wanted]  # fmt: skip


def competitor_minutes(
    ctx: AppContext,
    competitors: Sequence[Competitor],
    lat: pd.Series,
    lon: pd.Series,
    *,
    reaches: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``competitor_minutes`` and ``competitor_estimated`` of providers at these points: the
    drive minutes to the nearest of ``competitors`` (:func:`nearest_place`); NaN and False
    for all when there is none (no list loaded: unknown, not far)."""
    if not competitors:
        return np.full(len(lat), np.nan), np.zeros(len(lat), dtype=bool)
    minutes, estimated, _ = nearest_place(ctx, competitors, lat, lon, reaches=reaches)
    return minutes, estimated


def line_universe(ctx: AppContext, session: Session, sites: list[ClinicSite]) -> pd.DataFrame:
    """Active providers within reach of any of the sites, with the nearest one's drive minutes
    and the drive minutes to the nearest competitor of the sites' line (:func:`competitor_minutes`).

    The score stage's rule (:func:`service.prospecting.universe.reachable`: active, not
    objected, within ``prospect_reach_minutes`` by the one router), for a line's sites at once.
    """

    from service.prospecting.universe import candidates_in

    reach = ctx.settings.prospect_reach_minutes
    rows = session.execute(
        select(
            Provider.id.label("provider_id"),
            Provider.taxonomy_code,
            Provider.classification,
            Provider.entity_type,
            Provider.organization_id,
            Provider.lat,
            Provider.lon,
            Organization.member_count.label("practice_size"),
        )
        .outerjoin(Organization, Organization.id == Provider.organization_id)
        .where(*candidates_in(_union_box(ctx, sites)))
        .order_by(Provider.id)
    ).all()
    frame = pd.DataFrame(rows, columns=["provider_id", "taxonomy_code", "classification",
                                        "entity_type", "organization_id", "lat", "lon",
                                        "practice_size"])  # fmt: skip
    minutes, estimated, km = nearest_place(ctx, sites, frame["lat"], frame["lon"])
    frame["drive_minutes"], frame["drive_estimated"], frame["distance_km"] = minutes, estimated, km
    frame = frame[minutes <= reach].reset_index(drop=True)
    competitors = line_competitors(session, sites[0].service_line)
    frame["competitor_minutes"], frame["competitor_estimated"] = competitor_minutes(
        ctx, competitors, frame["lat"], frame["lon"]
    )
    parts = [
        provider_attributes(session, rows, SourceRecord.provider_id.in_(batch))
        for batch in chunked(frame["provider_id"].tolist(), _IN_BATCH)
        for rows in [frame[frame["provider_id"].isin(batch)]]
    ]
    if parts:
        frame[list(_ATTRIBUTES)] = pd.concat(parts)[list(_ATTRIBUTES)]
    else:
        frame = frame.assign(**{c: pd.Series(dtype=object) for c in _ATTRIBUTES})
    return frame.drop(columns=["lat", "lon"])


#: What :func:`provider_attributes` adds: the model's view of a provider beyond its golden row.
_ATTRIBUTES = ("practice_size", "enrolment_date", "is_organisation")


def provider_attributes(
    session: Session, rows: pd.DataFrame, *where: ColumnElement[bool]
) -> pd.DataFrame:
    """``practice_size`` (:func:`practice_sizes`), ``enrolment_date`` and ``is_organisation``
    of ``rows`` (``provider_id``, ``practice_size`` as co-located, ``entity_type``), on their
    index; ``where``: conditions on :class:`SourceRecord` holding their records.

    The fit and the served model read a provider through this one function.
    """
    from prospects.scoring import is_organisation

    enrolled = enrolment_dates(session, *where).to_dict()
    return pd.DataFrame(
        {
            "practice_size": practice_sizes(
                session, rows["provider_id"], rows["practice_size"], *where
            ),
            "enrolment_date": pd.to_datetime(rows["provider_id"].map(enrolled)),
            "is_organisation": is_organisation(rows["entity_type"]),
        },
        index=rows.index,
    )


def enrolment_dates(session: Session, *where: ColumnElement[bool]) -> pd.Series:
    """The NPI enumeration date per provider (the earliest of its NPPES records), from the
    source records' data; ``where``: conditions on :class:`SourceRecord` (e.g. an id range)."""
    day = func.min(SourceRecord.data["enumeration_date"].as_string())
    rows = session.execute(
        select(SourceRecord.provider_id, day)
        .where(SourceRecord.source == "nppes", SourceRecord.provider_id.is_not(None), *where)
        .group_by(SourceRecord.provider_id)
    ).all()
    return pd.Series(
        pd.to_datetime([day for _, day in rows], errors="coerce"),
        index=pd.Index([provider_id for provider_id, _ in rows], dtype="int64"),
        dtype="datetime64[ns]",
    )


def cms_group_sizes(session: Session, *where: ColumnElement[bool]) -> pd.Series:
    """Per provider, the largest ``num_org_mem`` of its CMS Doctors & Clinicians groups
    (``identifiers.groups[].members``); providers without one are absent."""
    rows = session.execute(
        select(SourceRecord.provider_id, SourceRecord.data).where(
            SourceRecord.source == "cms_dac", SourceRecord.provider_id.is_not(None), *where
        )
    ).all()
    sizes: dict[int, int] = {}
    for provider_id, data in rows:
        groups = ((data or {}).get("identifiers") or {}).get("groups") or []
        members = [g.get("members") for g in groups if isinstance(g, dict)]
        known = [int(m) for m in members if isinstance(m, (int, float)) and m > 0]
        if known:
            sizes[provider_id] = max(sizes.get(provider_id, 0), *known)
    return pd.Series(sizes, dtype=float)


def practice_sizes(
    session: Session, provider_ids: pd.Series, co_located: pd.Series, *where: ColumnElement[bool]
) -> np.ndarray:
    """Practice size: the CMS group size where CMS lists one, else the co-located NPPES
    records (``co_located``, the organisation's member count; at least 1)."""
    cms = provider_ids.map(cms_group_sizes(session, *where)).to_numpy(float)
    fallback = pd.to_numeric(co_located).fillna(1).clip(lower=1).to_numpy(float)
    return np.where(np.isnan(cms), fallback, cms)


def _with_fit(frame: pd.DataFrame, profile: ScoringProfile) -> pd.DataFrame:
    from prospects.specialties import resolve_specialties

    index, matches = resolve_specialties(frame["taxonomy_code"], frame["classification"], profile)
    frame["specialty_fit"] = np.array([m.fit for m in matches], dtype=float)[index]
    return frame


def of_line(service_line: str, site_codes: list[str]) -> ColumnElement[bool]:
    """SQL condition: a referral event belongs to the line (see the module docstring)."""
    ev = ReferralEvent
    no_line = or_(ev.service_line.is_(None), ev.service_line == "")
    return or_(
        func.lower(ev.service_line) == service_line.strip().lower(),
        and_(no_line, or_(ev.site_code.is_(None), ev.site_code.in_(site_codes))),
    )


def _line_referrals(session: Session, *, service_line: str, site_codes: list[str]) -> pd.DataFrame:
    """Every linked referral of the line (the span of the data is checked on all of them)."""
    ev = ReferralEvent
    stmt = select(ev.provider_id, ev.referral_date).where(
        ev.provider_id.is_not(None), of_line(service_line, site_codes)
    )
    return pd.DataFrame(session.execute(stmt).all(), columns=["provider_id", "referral_date"])


def _contact_log(session: Session) -> pd.DataFrame:
    stmt = select(Interaction.provider_id, Interaction.occurred_at, Interaction.kind)
    return pd.DataFrame(session.execute(stmt).all(), columns=["provider_id", "occurred_at", "kind"])


def line_history(
    ctx: AppContext, *, service_line: str, as_of: date, months_back: int | None = None
) -> History:
    """The line's labelled provider-months, monthly from its first referral to ``as_of``.

    Raises
    ------
    InputError
        ``as_of`` is before the first referral of the line or after the last
        day of data (the latest referral or contact), or there is no referral.
    NotFoundError
        No site offers the line.
    """
    s = ctx.settings
    with ctx.sessions() as session:
        sites = line_sites(session, service_line)
        profile = line_profile(ctx, session, service_line)
        codes = [site.site_code for site in sites]
        referrals = _line_referrals(session, service_line=service_line, site_codes=codes)
        contacts = _contact_log(session)
        providers = _with_fit(line_universe(ctx, session, sites), profile)
    first, _ = _data_span(referrals, contacts, service_line=service_line, as_of=as_of)
    cutoffs = monthly_cutoffs(first=first, last=as_of)
    if months_back is not None:
        cutoffs = cutoffs[-months_back:]
    frame = provider_months(
        providers=providers,
        referrals=referrals[pd.to_datetime(referrals["referral_date"]) <= pd.Timestamp(as_of)],
        interactions=contacts[_on_or_before(contacts["occurred_at"], as_of)],
        cutoffs=cutoffs,
        window_days=s.referring_window_days,
        lapsed_days=s.lapsed_days,
        horizon_months=s.scoring_horizon_months,
        history_end=as_of,
    )
    return History(service_line, as_of, first, cutoffs, frame, profile, codes)


def _on_or_before(values: pd.Series, day: date) -> np.ndarray:
    when = pd.to_datetime(values, utc=True).dt.tz_localize(None).dt.normalize()
    return (when <= pd.Timestamp(day)).to_numpy()


def _data_span(
    referrals: pd.DataFrame, contacts: pd.DataFrame, *, service_line: str, as_of: date
) -> tuple[date, date]:
    if referrals.empty:
        raise InputError(
            f"no linked referral of {service_line!r} to learn from",
            problems=[
                Problem("no referral of this line is linked to a provider", field="referrals")
            ],
        )
    when = pd.to_datetime(referrals["referral_date"])
    first = when.min().date()
    days = [when.max().date()]
    if len(contacts):
        days.append(pd.to_datetime(contacts["occurred_at"], utc=True).max().date())
    last = max(days)
    if not first <= as_of <= last:
        raise InputError(
            f"--as-of {as_of} is outside the data ({first} to {last})",
            problems=[Problem(f"must lie between {first} and {last}", field="as_of",
                              value=as_of.isoformat())],
        )  # fmt: skip
    return first, last


def fit_on(
    ctx: AppContext, history: History, rows: pd.DataFrame, as_of: date, version: int
) -> FittedModel:
    """Fit the line's model on ``rows`` (labelled provider-months) with the settings."""
    s = ctx.settings
    return fit_model(
        rows,
        service_line=history.service_line,
        version=version,
        as_of=as_of,
        horizon_months=s.scoring_horizon_months,
        fitted_at=datetime.now(UTC),
        C=s.scoring_penalty_c,
        min_starts=s.scoring_min_starts,
    )


def check_history(history: History) -> None:
    """Refuse a history with no labelled provider-month (it cannot be fitted or judged)."""
    if history.frame.empty or history.frame["started"].notna().sum() == 0:
        raise ScoringError(
            "the history is too short to learn from",
            problems=[
                Problem(
                    f"no cut-off between {history.first_day} and {history.as_of} has a known"
                    " horizon",
                    field="as_of",
                )
            ],
        )
