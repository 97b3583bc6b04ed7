"""Prospect workflow (assignment to a liaison, statuses with who/when) and exclusion lists.

Changes are attributed to the caller (the named person of their key or
session, :attr:`service.security.keys.Caller.who`), never to a name the request
body gives. Who may work a prospect is decided once, in :func:`may_work`: from
role ``integration`` up, any prospect (CRM sync, operators); below (``liaison``,
``marketing``), a prospect assigned to them or to no one, and setting the
status of an unassigned one assigns it to them. Every change names the
version it changes (``If-Match`` with the status's ETag, :func:`status_etag`):
of two liaisons claiming the same prospect, the second gets
:class:`~core.errors.PreconditionFailedError` (412), whether the first change
committed before it read (the tags differ) or while it was writing
(SQLAlchemy's version counter finds the row changed; the primary key refuses a
second first row).

Status and assignment are stored per provider, apart from the scored prospect
rows, so re-scoring (which rewrites prospects) and registry refreshes (which
update golden records in place) leave them alone. Exclusions (do-not-contact,
the clinic's own physicians) are matched by golden id or NPI and applied by
every prospect list and export (:func:`service.prospecting.prospect_sql.not_excluded`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from core.errors import (
    AuthorizationError,
    ConflictError,
    InputError,
    NotFoundError,
    PreconditionFailedError,
    PreconditionRequiredError,
    Problem,
)
from data.models import Provider
from data.models.prospecting import ProspectExclusion, ProspectStatus, ProspectStatusHistory
from service.context import AppContext
from service.prospecting.chunks import IdRange
from service.prospecting.schemas import (
    ExclusionCreate,
    ExclusionPublic,
    StatusPublic,
    StatusUpdate,
)
from service.security.keys import Caller, role_at_least

__all__ = [
    "WORKS_ANY_PROSPECT",
    "add_exclusion",
    "apply_status",
    "check_may_work",
    "get_status",
    "list_exclusions",
    "mark_referring",
    "may_work",
    "remove_exclusion",
    "set_status",
    "status_etag",
]

#: From this role up a caller works any prospect; below it, their own or unassigned ones.
WORKS_ANY_PROSPECT = "integration"


def _same_person(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.strip().casefold() == b.strip().casefold()


def may_work(caller: Caller, assigned_to: str | None) -> bool:
    """Whether ``caller`` may change the status of, or log interactions with, a prospect
    assigned to ``assigned_to`` (None: unassigned)."""
    if role_at_least(caller.role, WORKS_ANY_PROSPECT):
        return True
    return assigned_to is None or _same_person(assigned_to, caller.person)


def check_may_work(caller: Caller, assigned_to: str | None, provider_id: int) -> None:
    """:func:`may_work`, or :class:`~core.errors.AuthorizationError` naming the liaison."""
    if not may_work(caller, assigned_to):
        raise AuthorizationError(
            f"prospect {provider_id} is assigned to {assigned_to}: only they (or role "
            f"{WORKS_ANY_PROSPECT} and up) may work it"
        )


def status_etag(st: ProspectStatus | None) -> str:
    """The status resource's (strong) entity tag: its version and last change time."""
    if st is None:
        return '"0"'
    when = st.updated_at  # stored times read back aware (UTC) on both backends
    stamp = int(when.timestamp() * 1_000_000) if when is not None else 0
    return f'"{st.version}.{stamp}"'


def _check_if_match(if_match: str | None, current: str) -> None:
    if if_match is None or not if_match.strip():
        raise PreconditionRequiredError(
            "send If-Match with the status's ETag (GET .../status): changes name the "
            "version they change"
        )
    tags = [t.strip() for t in if_match.split(",")]
    # strong comparison (RFC 9110 13.1.1): a weak tag never matches; '*' means "as it stands"
    if "*" not in tags and current not in tags:
        raise PreconditionFailedError(
            f"the status changed since it was read (now {current}): read it again",
            problems=[Problem("not the current ETag", field="If-Match", value=if_match[:100])],
        )


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
    """Current status, liaison, ETag and the full history of one prospect ('new' when never set)."""
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
            etag=status_etag(st),
            history=_history(session, provider_id),
        )


def _assignee(
    caller: Caller, st: ProspectStatus | None, wanted: str | None, provider_id: int
) -> str | None:
    """Who the prospect is assigned to after the change (``wanted``: the body's, '' unassigns)."""
    current = st.assigned_to if st is not None else None
    if wanted is not None:
        if not (
            role_at_least(caller.role, WORKS_ANY_PROSPECT)
            or wanted == ""
            or _same_person(wanted, caller.person)
        ):
            raise AuthorizationError(
                f"only role {WORKS_ANY_PROSPECT} and up may assign a prospect to someone else",
                problems=[Problem("yourself or '' only", field="assigned_to", value=wanted)],
            )
        return wanted or None
    if current is None and not role_at_least(caller.role, WORKS_ANY_PROSPECT):
        return caller.who  # setting a status on an unassigned prospect claims it
    return current


def apply_status(
    session: Session,
    provider_id: int,
    *,
    caller: Caller,
    if_match: str | None,
    status: str | None,
    assigned_to: str | None = None,
    note: str | None = None,
) -> None:
    """Change a prospect's status and/or liaison inside the caller's transaction, attributed
    to ``caller``, after the ``If-Match`` and :func:`may_work` checks.

    Raises
    ------
    core.errors.NotFoundError
        No such provider.
    core.errors.PreconditionRequiredError
        ``if_match`` missing (428).
    core.errors.PreconditionFailedError
        ``if_match`` is not the current ETag, or the row changed while this ran (412).
    core.errors.AuthorizationError
        The prospect is someone else's, or an assignment the caller may not make (403).
    """
    if session.get(Provider, provider_id) is None:
        raise NotFoundError(f"no provider with id {provider_id}")
    # PostgreSQL: a concurrent change waits here and then reads the new version (SQLite
    # writes one at a time; the version counter catches what changed since the read)
    st = session.get(ProspectStatus, provider_id, with_for_update=True)
    _check_if_match(if_match, status_etag(st))
    check_may_work(caller, st.assigned_to if st is not None else None, provider_id)
    assignee = _assignee(caller, st, assigned_to, provider_id)
    previous = st.status if st is not None else None
    if st is None:
        st = ProspectStatus(provider_id=provider_id, status="new")
        session.add(st)
    now = datetime.now(UTC)
    if status is not None:
        st.status = status
    st.assigned_to = assignee
    st.updated_by, st.updated_at, st.note = caller.who, now, note
    session.add(
        ProspectStatusHistory(
            provider_id=provider_id,
            status=st.status,
            previous_status=previous,
            assigned_to=st.assigned_to,
            changed_by=caller.who,
            changed_at=now,
            note=note,
        )
    )
    try:
        session.flush()
    except (StaleDataError, IntegrityError) as exc:
        # another change committed between the read and this write: the loser of the race
        raise PreconditionFailedError(
            "the status changed while this change was written: read it again"
        ) from exc


def set_status(
    ctx: AppContext,
    provider_id: int,
    change: StatusUpdate,
    *,
    caller: Caller,
    if_match: str | None,
) -> StatusPublic:
    """Move a prospect to a status and/or assign it to a liaison, as :func:`apply_status`."""
    if change.status is None and change.assigned_to is None:
        raise InputError(
            "nothing to change", problems=[Problem("give status or assigned_to", field="status")]
        )
    with ctx.sessions.begin() as session:
        apply_status(
            session,
            provider_id,
            caller=caller,
            if_match=if_match,
            status=change.status,
            assigned_to=change.assigned_to,
            note=change.note,
        )
    return get_status(ctx, provider_id)


#: Who a status change made by the referrals stage is recorded as.
SYSTEM_ACTOR = "system: referral activity"


def mark_referring(
    session,  # noqa: ANN001
    referring: set[int],
    first_referral: dict[int, object],
    *,
    rows: IdRange | None = None,
) -> int:
    """Move worked prospects who now refer to status ``referring`` (recorded as :data:`SYSTEM_ACTOR`).

    Only providers a liaison has a status for are touched (``rows``: only those with an
    id in that range, the chunk ``referring`` comes from); the liaison stays assigned.
    Returns how many moved.
    """
    if not referring:
        return 0
    now = datetime.now(UTC)
    moved = 0
    stmt = select(ProspectStatus).where(ProspectStatus.status != "referring")
    if rows is not None:
        stmt = stmt.where(rows.where(ProspectStatus.provider_id))
    for st in session.scalars(stmt).all():
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
