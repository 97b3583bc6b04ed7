"""CRM side of prospecting: the interaction log (visits, calls, emails) and contact preferences.

CRM tools and liaisons post interactions (idempotent on their ``external_id``),
attributed to the caller's named person (never to a name in the body), and
preferences; both are shown with the provider and the pre-visit brief, and
the days since the last interaction feed the recency component of the score
at the next scoring run (:mod:`service.prospecting.scoring`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ConflictError, NotFoundError, Problem
from data.models import Provider
from data.models.prospecting import ContactPreference, Interaction, ProspectStatus
from service.context import AppContext
from service.prospecting.schemas import (
    InteractionCreate,
    InteractionPublic,
    PreferencePublic,
    PreferenceUpdate,
)
from service.prospecting.workflow import check_may_work
from service.security.keys import Caller

__all__ = ["add_interaction", "get_preferences", "list_interactions", "set_preferences"]


def _provider(session: Session, provider_id: int) -> Provider:
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFoundError(f"no provider with id {provider_id}")
    return provider


def add_interaction(
    ctx: AppContext, item: InteractionCreate, *, caller: Caller
) -> tuple[InteractionPublic, bool]:
    """Log one interaction of ``caller`` (who may work the prospect,
    :func:`~service.prospecting.workflow.may_work`); returns it and whether it was new.

    A repeated ``external_id`` with the same content returns the stored row
    (``False``); with other content it is a :class:`~core.errors.ConflictError`.

    Raises
    ------
    core.errors.AuthorizationError
        The prospect is assigned to someone else and the caller's role is below integration.
    """
    with ctx.sessions.begin() as session:
        _provider(session, item.provider_id)
        st = session.get(ProspectStatus, item.provider_id)
        check_may_work(caller, st.assigned_to if st is not None else None, item.provider_id)
        values = {**item.model_dump(), "liaison": caller.who}
        if item.external_id:
            have = session.scalars(
                select(Interaction).where(Interaction.external_id == item.external_id)
            ).first()
            if have is not None:
                stored = InteractionPublic.model_validate(have)
                # both instants are aware (the body's has its offset, the stored one is UTC);
                # who logged it is the caller now, not part of what the CRM sent
                same = all(
                    getattr(stored, k) == v
                    for k, v in values.items()
                    if k not in ("source", "liaison")
                )
                if not same:
                    raise ConflictError(
                        f"external_id {item.external_id!r} was logged with other values",
                        problems=[
                            Problem(
                                "differs from the stored interaction",
                                field="external_id",
                                value=item.external_id,
                            )
                        ],
                    )
                return stored, False
        row = Interaction(**values)
        session.add(row)
        session.flush()
        return InteractionPublic.model_validate(row), True


def list_interactions(
    ctx: AppContext, provider_id: int, *, limit: int = 50
) -> list[InteractionPublic]:
    """A provider's interactions, latest first."""
    with ctx.sessions() as session:
        _provider(session, provider_id)
        rows = session.scalars(
            select(Interaction)
            .where(Interaction.provider_id == provider_id)
            .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
            .limit(limit)
        ).all()
        return [InteractionPublic.model_validate(r) for r in rows]


def set_preferences(
    ctx: AppContext, provider_id: int, update: PreferenceUpdate
) -> PreferencePublic:
    """Set a provider's contact channel and report format (fields left out stay as they were)."""
    with ctx.sessions.begin() as session:
        _provider(session, provider_id)
        pref = session.get(ContactPreference, provider_id)
        if pref is None:
            pref = ContactPreference(provider_id=provider_id)
            session.add(pref)
        for key, value in update.model_dump(exclude_unset=True).items():
            setattr(pref, key, value)
        session.flush()
        session.refresh(pref)
        return PreferencePublic.model_validate(pref)


def get_preferences(session: Session, provider_id: int) -> PreferencePublic | None:
    """The provider's contact preferences, or None when none were posted."""
    pref = session.get(ContactPreference, provider_id)
    return PreferencePublic.model_validate(pref) if pref is not None else None
