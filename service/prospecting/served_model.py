"""The promoted model in the scoring stage: features as of today, blended with the profile.

When a service line has a promoted model (:mod:`service.prospecting.model_store`),
the scoring stage replaces a chunk's profile scores by the model's: the
probability (in per cent) of starting to refer within the horizon, blended
with the profile as prior (:func:`prospects.model.learned_scores`), explained
per feature family. Features are built exactly as for the fit
(:func:`prospects.features.provider_months` at one cut-off, ``as_of``), from
the chunk's candidates, their referrals of the line, their contacts, and the
referring members of their organisations (wherever they are). Without a
promoted model, or when its file cannot be read (a warning in the stage
report), the profile's score stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models import ClinicSite, Competitor, ReferralEvent, SourceRecord
from data.models.prospecting import Interaction
from prospects.features import provider_months
from prospects.model import FittedModel, learned_scores
from service.context import AppContext
from service.prospecting import model_store
from service.prospecting.chunks import IdRange
from service.prospecting.learning import (
    competitor_minutes,
    nearest_place,
    of_line,
    prior_of,
    provider_attributes,
    served_weight,
)

__all__ = ["ServedModel", "apply_model", "served_model"]

#: Contacts older than this do not change any feature (the longest contact window is 90 days).
_CONTACT_DAYS = 90


@dataclass
class ServedModel:
    """A line's promoted model with what scoring a chunk needs, searches cached per run."""

    model: FittedModel
    weight: float
    sites: list[ClinicSite]
    #: The line's competitors (:func:`service.prospecting.learning.line_competitors`).
    competitors: list[Competitor]
    reaches: dict

    @property
    def key(self) -> str:
        return f"model:{model_store.folder_name(self.model.service_line)}#{self.model.version}"


def served_model(
    ctx: AppContext, session: Session, service_line: str
) -> tuple[ServedModel | None, str | None]:
    """The line's promoted model (None: score by the profile) and a warning if one is unusable."""
    from service.prospecting.learning import line_competitors, line_sites

    active = model_store.active_model(Path(ctx.settings.scoring_model_dir), service_line)
    if active.model is None:
        return None, active.warning
    sites = line_sites(session, service_line)
    competitors = line_competitors(session, service_line)
    weight = served_weight(ctx, active.model)
    return ServedModel(active.model, weight, sites, competitors, {}), None


def _events(
    session: Session, served: ServedModel, *, as_of: date, rows: IdRange
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chunk's referrals of the line and its contacts of the last 90 days."""
    line = of_line(served.model.service_line, [s.site_code for s in served.sites])
    referrals = pd.DataFrame(
        session.execute(
            select(ReferralEvent.provider_id, ReferralEvent.referral_date).where(
                rows.where(ReferralEvent.provider_id), ReferralEvent.referral_date <= as_of, line
            )
        ).all(),
        columns=["provider_id", "referral_date"],
    )
    start = datetime.combine(as_of - timedelta(days=_CONTACT_DAYS), datetime.min.time(), UTC)
    end = datetime.combine(as_of, datetime.max.time(), UTC)
    contacts = pd.DataFrame(
        session.execute(
            select(Interaction.provider_id, Interaction.occurred_at, Interaction.kind).where(
                rows.where(Interaction.provider_id), Interaction.occurred_at.between(start, end)
            )
        ).all(),
        columns=["provider_id", "occurred_at", "kind"],
    )
    return referrals, contacts


def apply_model(
    ctx: AppContext,
    session: Session,
    served: ServedModel,
    scored: pd.DataFrame,
    *,
    as_of: date,
    rows: IdRange,
    window_days: int,
) -> pd.DataFrame:
    """``scored`` (the profile's scores of a chunk) with the served model's score and reasons."""
    from service.prospecting.universe import referring_colleagues

    if scored.empty:
        return scored
    referrals, contacts = _events(session, served, as_of=as_of, rows=rows)
    colleagues = referring_colleagues(
        session, scored["organization_id"], as_of=as_of, window_days=window_days
    )
    minutes, estimated, _ = nearest_place(
        ctx, served.sites, scored["lat"], scored["lon"], reaches=served.reaches
    )
    rival, rival_estimated = competitor_minutes(
        ctx, served.competitors, scored["lat"], scored["lon"], reaches=served.reaches
    )
    providers = pd.DataFrame(
        {
            "provider_id": scored["provider_id"].to_numpy(),
            "classification": scored["classification"].astype(object).to_numpy(),
            "specialty_fit": scored["specialty_fit"].to_numpy(float),
            "organization_id": scored["organization_id"].to_numpy(),
            "drive_minutes": minutes,
            "drive_estimated": estimated,
            "competitor_minutes": rival,
            "competitor_estimated": rival_estimated,
        }
    ).join(
        provider_attributes(session, scored, rows.where(SourceRecord.provider_id)).reset_index(
            drop=True
        )
    )
    # colleagues outside the chunk are only there to be counted: their last referral suffices
    others = colleagues[~colleagues["provider_id"].isin(providers["provider_id"])]
    everyone = pd.concat(
        [providers, others[["provider_id", "organization_id"]].drop_duplicates("provider_id")],
        ignore_index=True,
    )
    events = pd.concat(
        [referrals, others.rename(columns={"last_referral": "referral_date"})[
            ["provider_id", "referral_date"]]],
        ignore_index=True,
    )  # fmt: skip
    features = provider_months(
        providers=everyone,
        referrals=events,
        interactions=contacts,
        cutoffs=[as_of],
        window_days=window_days,
        lapsed_days=ctx.settings.lapsed_days,
        horizon_months=served.model.horizon_months,
    )
    # a candidate with no row is an active referrer by the line's own referrals (the stored
    # stats lag them, or count another line's): not a prospect of this line
    scored = scored[scored["provider_id"].isin(features["provider_id"])].reset_index(drop=True)
    features = features.set_index("provider_id").reindex(scored["provider_id"]).reset_index()
    prior = prior_of(ctx, scored["score"].to_numpy(float))
    learned = learned_scores(served.model, features, prior=prior, weight=served.weight)
    out = scored.copy()
    out["score"] = np.round(learned["probability"].to_numpy() * 100.0, 2)
    out["components"] = learned["components"].to_numpy()
    return out
