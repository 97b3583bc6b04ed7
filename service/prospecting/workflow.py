"""Prospect workflow (assignment to a liaison, statuses with who/when) and exclusion lists.

Status and assignment are stored per provider, apart from the scored prospect
rows, so re-scoring (which rewrites prospects) and registry refreshes (which
update golden records in place) leave them alone. Exclusions (do-not-contact,
the clinic's own physicians) are matched by golden id or NPI and applied by
every prospect list and export (:func:`service.prospecting.prospect_sql.not_excluded`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, or_, select

from core.errors import ConflictError, InputError, NotFoundError, Problem
from data.models import Provider
from data.models.prospecting import ProspectExclusion, ProspectStatus, ProspectStatusHistory
from service.context import AppContext
from service.prospecting.schemas import (
    ExclusionCreate,
    ExclusionPublic,
    StatusPublic,
    StatusUpdate,
)

__all__ = [
    "add_exclusion",
    "get_status",
    "list_exclusions",
    "mark_referring",
    "remove_exclusion",
    "set_status",
]


def _history(session, provider_id: int) -> list[dict]:  # noqa: ANN001
    rows = session.scalars(
        select(ProspectStatusHistory)
        .where(ProspectStatusHistory.provider_id == provider_id)
        .order_by(ProspectStatusHistory.id)
    ).all()
    return [
        {
            "status": h.status,
            "previous_status": h.previous_status,
            "assigned_to": h.assigned_to,
            "changed_by": h.changed_by,
            "changed_at": h.changed_at.isoformat(),
            "note": h.note,
        }
        for h in rows
    ]


def get_status(ctx: AppContext, provider_id: int) -> StatusPublic:
    """Current status, liaison and the full history of one prospect ('new' when never set)."""
    with ctx.sessions() as session:
        if session.get(Provider, provider_id) is None:
            raise NotFoundError(f"no provider with id {provider_id}")
        st = session.get(ProspectStatus, provider_id)
        return StatusPublic(
            provider_id=provider_id,
            status=st.status if st else "new",
            assigned_to=st.assigned_to if st else None,
            updated_by=st.updated_by if st else None,
            updated_at=st.updated_at if st else None,
            history=_history(session, provider_id),
        )


def set_status(ctx: AppContext, provider_id: int, change: StatusUpdate) -> StatusPublic:
    """Move a prospect to a status and/or assign it to a liaison; the change is recorded."""
    if change.status is None and change.assigned_to is None:
        raise InputError(
            "nothing to change", problems=[Problem("give status or assigned_to", field="status")]
        )
    now = datetime.now(UTC)
    with ctx.sessions.begin() as session:
        if session.get(Provider, provider_id) is None:
            raise NotFoundError(f"no provider with id {provider_id}")
        st = session.get(ProspectStatus, provider_id)
        previous = st.status if st else None
        if st is None:
            st = ProspectStatus(provider_id=provider_id, status="new")
            session.add(st)
        if change.status is not None:
            st.status = change.status
        if change.assigned_to is not None:
            st.assigned_to = change.assigned_to or None
        st.updated_by, st.updated_at, st.note = change.changed_by, now, change.note
        session.add(
            ProspectStatusHistory(
                provider_id=provider_id,
                status=st.status,
                previous_status=previous,
                assigned_to=st.assigned_to,
                changed_by=change.changed_by,
                changed_at=now,
                note=change.note,
            )
        )
    return get_status(ctx, provider_id)


#: Who a status change made by the referrals stage is recorded as.
SYSTEM_ACTOR = "system: referral activity"


def mark_referring(session, referring: set[int], first_referral: dict[int, object]) -> int:  # noqa: ANN001
    """Move worked prospects who now refer to status ``referring`` (recorded as :data:`SYSTEM_ACTOR`).

    Only providers a liaison has a status for are touched; the liaison stays
    assigned. Returns how many moved.
    """
    if not referring:
        return 0
    now = datetime.now(UTC)
    moved = 0
    rows = session.scalars(select(ProspectStatus).where(ProspectStatus.status != "referring")).all()
    for st in rows:
        if st.provider_id not in referring:
            continue
        first = first_referral.get(st.provider_id)
        note = f"referring since {first}" if first else "referring"
        session.add(
            ProspectStatusHistory(
                provider_id=st.provider_id,
                status="referring",
                previous_status=st.status,
                assigned_to=st.assigned_to,
                changed_by=SYSTEM_ACTOR,
                changed_at=now,
                note=note,
            )
        )
        st.status, st.updated_by, st.updated_at, st.note = "referring", SYSTEM_ACTOR, now, note
        moved += 1
    return moved


def add_exclusion(ctx: AppContext, item: ExclusionCreate) -> ExclusionPublic:
    """Put a provider on the do-not-contact or own-physician list (by NPI and/or id)."""
    with ctx.sessions.begin() as session:
        npi, pid = item.npi, item.provider_id
        if pid is not None:
            prov = session.get(Provider, pid)
            if prov is None:
                raise NotFoundError(f"no provider with id {pid}")
            npi = npi or prov.npi
        conds = [ProspectExclusion.npi == npi] if npi else []
        if pid is not None:
            conds.append(ProspectExclusion.provider_id == pid)
        if session.scalars(select(ProspectExclusion).where(or_(*conds))).first() is not None:
            raise ConflictError(
                "already excluded", problems=[Problem("on a list already", field="npi", value=npi)]
            )
        row = ProspectExclusion(
            npi=npi, provider_id=pid, reason=item.reason, note=item.note, added_by=item.added_by
        )
        session.add(row)
        session.flush()
        return ExclusionPublic.model_validate(row)


def list_exclusions(ctx: AppContext) -> list[ExclusionPublic]:
    with ctx.sessions() as session:
        rows = session.scalars(select(ProspectExclusion).order_by(ProspectExclusion.id)).all()
        return [ExclusionPublic.model_validate(r) for r in rows]


def remove_exclusion(ctx: AppContext, exclusion_id: int) -> None:
    with ctx.sessions.begin() as session:
        if (
            session.execute(
                delete(ProspectExclusion).where(ProspectExclusion.id == exclusion_id)
            ).rowcount
            == 0
        ):
            raise NotFoundError(f"no exclusion {exclusion_id}")
