"""GDPR duties towards practitioners: objection (art. 21) and erasure (art. 17), both audited.

*Objection*: a person who objects is excluded from prospecting (never scored,
never listed, never exported; their existing prospect rows are removed at
once). Their public registry record stays, as it is in the public registry.

*Erasure* removes what the service holds about the person beyond the public
registry record. :data:`ERASURE_PLAN` names every table that refers to a
person and what an erasure does to it, with the reason: its rows are deleted,
kept with what identifies or describes the person stripped ("scrub"), or kept
as they are. ``tests/service/test_privacy.py`` walks the storage metadata and
fails on a table that refers to a person and is missing from the plan, so a
table added later cannot be forgotten; ``docs/security.md`` lists the same
decisions.

An erasure implies an objection (so the next pipeline run does not bring the
person back). Both are written to the audit log in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, delete, or_, select, update
from sqlalchemy.orm import Session

from core.errors import InputError, NotFoundError, Problem
from data.db import truncate_wal
from data.models import (
    Prospect,
    Provider,
    ProviderOverride,
    ReferralEvent,
    ReferrerStat,
    SourceRecord,
    SourceRecordHistory,
)
from data.models.matching import MatchDecision, ReviewPair
from data.models.prospecting import (
    ContactPreference,
    Interaction,
    ProspectExclusion,
    ProspectStatus,
    ProspectStatusHistory,
    ReferralAlert,
    ReferralReview,
)
from data.models.security import DataObjection, WebhookDelivery
from data.models.visits import VisitStop
from service.context import AppContext
from service.linkage.resolve import rebuild_provider
from service.security import audit
from service.security.schemas import ErasureReport, ObjectionPublic

__all__ = [
    "ERASURE_PLAN",
    "PUBLIC_REGISTRY_SOURCES",
    "Treatment",
    "erase",
    "list_objections",
    "object_to_processing",
    "objected",
]

logger = logging.getLogger("prm.privacy")

#: Sources that are public registries: their rows are kept on erasure.
PUBLIC_REGISTRY_SOURCES = ("nppes", "cms_dac", "rpps", "finess")


def objected() -> Select:
    """``SELECT provider_id`` of every person who objected (for ``NOT IN`` filters)."""
    return select(DataObjection.provider_id)


def _check_id(provider_id: int) -> None:
    if not isinstance(provider_id, int) or isinstance(provider_id, bool) or provider_id < 1:
        raise InputError(
            "invalid provider id",
            problems=[
                Problem("must be a positive integer", field="provider_id", value=str(provider_id))
            ],
        )


def object_to_processing(
    ctx: AppContext,
    provider_id: int,
    *,
    actor: str,
    reason: str | None = None,
    client_ip: str | None = None,
) -> ObjectionPublic:
    """Record a person's objection and drop their prospect rows (idempotent).

    Raises
    ------
    core.errors.NotFoundError
        When no provider has that id.
    """
    _check_id(provider_id)
    if reason is not None and len(reason) > 500:
        raise InputError(
            "invalid objection", problems=[Problem("at most 500 characters", field="reason")]
        )
    with ctx.sessions.begin() as session:
        if session.get(Provider, provider_id) is None:
            raise NotFoundError(f"no provider with id {provider_id}")
        row = session.get(DataObjection, provider_id)
        if row is None:
            row = DataObjection(
                provider_id=provider_id,
                reason=reason,
                recorded_by=actor[:100],
                objected_at=datetime.now(UTC),
            )
            session.add(row)
        dropped = session.execute(
            delete(Prospect).where(Prospect.provider_id == provider_id)
        ).rowcount
        audit.append_in(
            session,
            actor=actor,
            action="objection",
            client_ip=client_ip,
            records={"provider_id": provider_id, "prospects_removed": dropped},
        )
        session.flush()
        return ObjectionPublic.model_validate(row)


def list_objections(ctx: AppContext) -> list[ObjectionPublic]:
    """Every recorded objection, by provider id."""
    with ctx.sessions() as session:
        rows = session.scalars(select(DataObjection).order_by(DataObjection.provider_id))
        return [ObjectionPublic.model_validate(r) for r in rows]


# ----------------------------------------------------------------------------- the erasure plan


@dataclass
class _Subject:
    """The person being erased, inside the erasure's transaction."""

    ctx: AppContext
    session: Session
    provider: Provider
    #: Whether the golden record holds anything beyond the public registry rows (checked first).
    enriched: bool

    @property
    def id(self) -> int:
        return self.provider.id

    def rows(self, *, public: bool) -> Select:
        """``SELECT id`` of the person's source records of public registries (or of the clinic)."""
        source = SourceRecord.source.in_(PUBLIC_REGISTRY_SOURCES)
        return select(SourceRecord.id).where(
            SourceRecord.provider_id == self.id, source if public else ~source
        )


Action = Literal["delete", "scrub", "keep"]


@dataclass(frozen=True)
class Treatment:
    """What an erasure does to one table that refers to a person, and why.

    ``delete``: the person's rows go. ``scrub``: rows stay with what
    identifies or describes the person removed. ``keep``: rows stay as they
    are. ``apply`` does it inside the erasure's transaction and returns the
    number of rows touched; a kept table has none.
    """

    action: Action
    reason: str
    apply: Callable[[_Subject], int] | None = None

    def __post_init__(self) -> None:
        if (self.action == "keep") != (self.apply is None):
            raise ValueError("a kept table has no apply step; a deleted or scrubbed one needs one")


def _rows_of(model: Any) -> Callable[[_Subject], int]:
    """Delete the rows of ``model`` whose ``provider_id`` is the person."""
    return lambda s: s.session.execute(delete(model).where(model.provider_id == s.id)).rowcount


def _names_person(s: _Subject) -> ColumnElement[bool]:
    """Events that are the person's: linked to them, or unlinked but giving their NPI as typed."""
    mine = ReferralEvent.provider_id == s.id
    return or_(mine, ReferralEvent.referrer_npi == s.provider.npi) if s.provider.npi else mine


def _delete_reviews(s: _Subject) -> int:
    """Review items of the person's events, and of unlinked events whose best candidate is the
    person (the text as typed most likely names them); elsewhere the person leaves the candidates.

    Candidates are JSON, searched differently by each backend: the open queue is read.
    """
    events = select(ReferralEvent.id).where(_names_person(s))
    deleted = s.session.execute(
        delete(ReferralReview).where(ReferralReview.event_id.in_(events))
    ).rowcount
    rows = s.session.execute(
        select(ReferralReview.id, ReferralReview.event_id, ReferralReview.candidates).where(
            ReferralReview.candidates.is_not(None)
        )
    ).all()
    named = [
        (rid, event)
        for rid, event, cands in rows
        if cands and isinstance(cands[0], dict) and cands[0].get("provider_id") == s.id
    ]
    if named:
        s.session.execute(
            delete(ReferralReview).where(ReferralReview.id.in_([r for r, _ in named]))
        )
        s.session.execute(
            update(ReferralEvent)
            .where(ReferralEvent.id.in_([e for _, e in named]))
            .values(referrer_name=None, referrer_npi=None)
        )
    others = [
        {"id": rid, "candidates": kept}
        for rid, _, cands in rows
        if (rid, _) not in named and (kept := _without(cands, s.id)) != cands
    ]
    if others:
        s.session.execute(update(ReferralReview), others)
    return deleted + len(named) + len(others)


def _delete_pairs(model: Any) -> Callable[[_Subject], int]:
    """Delete pairs of ``model`` that involve one of the person's clinic rows."""

    def apply(s: _Subject) -> int:
        clinic = s.rows(public=False)
        return s.session.execute(
            delete(model).where(
                or_(model.left_record_id.in_(clinic), model.right_record_id.in_(clinic))
            )
        ).rowcount

    return apply


def _scrub_decisions(s: _Subject) -> int:
    deleted = _delete_pairs(MatchDecision)(s)
    public = s.rows(public=True)
    involved = or_(
        MatchDecision.left_record_id.in_(public), MatchDecision.right_record_id.in_(public)
    )
    return (
        deleted
        + s.session.execute(
            update(MatchDecision).where(involved, MatchDecision.note.is_not(None)).values(note=None)
        ).rowcount
    )


def _delete_history(s: _Subject) -> int:
    return s.session.execute(
        delete(SourceRecordHistory).where(
            SourceRecordHistory.source_record_id.in_(s.rows(public=False))
        )
    ).rowcount


def _delete_clinic_rows(s: _Subject) -> int:
    return s.session.execute(
        delete(SourceRecord).where(SourceRecord.id.in_(s.rows(public=False)))
    ).rowcount


def _scrub_events(s: _Subject) -> int:
    return s.session.execute(
        update(ReferralEvent)
        .where(_names_person(s))
        .values(provider_id=None, referrer_name=None, referrer_npi=None, link_confidence=None)
    ).rowcount


def _scrub_exclusions(s: _Subject) -> int:
    mine = ProspectExclusion.provider_id == s.id
    if s.provider.npi:
        mine = or_(mine, ProspectExclusion.npi == s.provider.npi)
    return s.session.execute(
        update(ProspectExclusion).where(mine, ProspectExclusion.note.is_not(None)).values(note=None)
    ).rowcount


def _without(value: Any, provider_id: int) -> Any:
    """``value`` with every object naming ``provider_id`` dropped from the lists inside it."""
    if isinstance(value, dict):
        return {k: _without(v, provider_id) for k, v in value.items()}
    if isinstance(value, list):
        return [
            _without(v, provider_id)
            for v in value
            if not (isinstance(v, dict) and v.get("provider_id") == provider_id)
        ]
    return value


def _scrub_deliveries(s: _Subject) -> int:
    # JSON is searched differently by each backend: read the payloads (the delivery log is modest)
    rows = s.session.execute(select(WebhookDelivery.id, WebhookDelivery.payload)).all()
    changed = [
        {"id": i, "payload": scrubbed}
        for i, payload in rows
        if (scrubbed := _without(payload, s.id)) != payload
    ]
    if changed:
        s.session.execute(update(WebhookDelivery), changed)
    return len(changed)


def _rebuild(s: _Subject) -> int:
    return int(s.enriched and rebuild_provider(s.ctx, s.session, s.provider))


#: Every table that refers to a person, in the order an erasure treats them. Listed once;
#: docs/security.md gives the same decisions.
ERASURE_PLAN: dict[str, Treatment] = {
    "prospects": Treatment(
        "delete", "scores, segments and explanations derived about the person", _rows_of(Prospect)
    ),
    "referrer_stats": Treatment(
        "delete",
        "referral volumes, trend and tier computed about the person",
        _rows_of(ReferrerStat),
    ),
    "referral_alerts": Treatment(
        "delete",
        "at-risk alerts about the person, with the referral history behind them",
        _rows_of(ReferralAlert),
    ),
    "interactions": Treatment(
        "delete", "the liaisons' notes of visits, calls and emails", _rows_of(Interaction)
    ),
    "contact_preferences": Treatment(
        "delete", "how the person wants to be contacted, with notes", _rows_of(ContactPreference)
    ),
    "visit_stops": Treatment(
        "delete", "the person's place on liaisons' planned visit days", _rows_of(VisitStop)
    ),
    "prospect_status": Treatment(
        "delete",
        "where the person stands in the hunters' workflow, with a note",
        _rows_of(ProspectStatus),
    ),
    "prospect_status_history": Treatment(
        "delete", "every earlier status, liaison and note", _rows_of(ProspectStatusHistory)
    ),
    "provider_overrides": Treatment(
        "delete",
        "manual corrections of the golden record (a private phone number, a home address)",
        _rows_of(ProviderOverride),
    ),
    "referral_review": Treatment(
        "delete",
        "review items of the person's referral events, and of "
        "unlinked events whose best candidate is the person: the referrer text "
        "as typed and the candidates proposed (elsewhere the person leaves the "
        "candidates)",
        _delete_reviews,
    ),
    "review_pairs": Treatment(
        "delete",
        "borderline link pairs involving one of the person's rows of the "
        "clinic's referrer list (pairs between public registry rows stay: they "
        "compare public values)",
        _delete_pairs(ReviewPair),
    ),
    "match_decisions": Treatment(
        "scrub",
        "reviewer decisions on the person's clinic rows go with the rows; "
        "decisions between public registry rows stay, because they keep the public "
        "records linked as reviewed, without the reviewer's note",
        _scrub_decisions,
    ),
    "source_record_history": Treatment(
        "delete",
        "earlier values of the person's clinic rows (the public "
        "registries' history stays: it is what they published)",
        _delete_history,
    ),
    "source_records": Treatment(
        "delete",
        "the person's rows of the clinic's own referrer list; rows of the "
        "public registries (NPPES, CMS, RPPS, FINESS) stay",
        _delete_clinic_rows,
    ),
    "referral_events": Treatment(
        "scrub",
        "the clinic's own record of referrals received (date, site, "
        "service line, opaque patient reference), which it must retain for its "
        "clinical and operational records and which gives site volumes: events "
        "stay; the link to the person, the referrer name and NPI as typed and the "
        "link confidence are removed, so no event says who referred",
        _scrub_events,
    ),
    "prospect_exclusions": Treatment(
        "scrub",
        "a do-not-contact or own-physician entry protects the person "
        "(its NPI also catches a re-created record): it stays, without its "
        "free-text note",
        _scrub_exclusions,
    ),
    "webhook_deliveries": Treatment(
        "scrub",
        "events queued for or sent to the CRM: the person's entries "
        "are removed from their payloads, so a pending delivery no longer "
        "carries them",
        _scrub_deliveries,
    ),
    "providers": Treatment(
        "scrub",
        "the public registry record stays; the golden record is rebuilt from "
        "the public registry rows alone, so no value from a manual correction or the "
        "clinic's list remains (a person known only from the clinic's list keeps an "
        "id and nothing else)",
        _rebuild,
    ),
    "organizations": Treatment(
        "keep",
        "practices and facilities built from the public registries "
        "(NPI-2 records, shared practice addresses)",
    ),
    "data_objections": Treatment(
        "keep",
        "the record of the request itself: when the person objected and "
        "when the erasure was done; it keeps the person out of every later run "
        "(accountability, GDPR art. 5(2))",
    ),
    "audit_log": Treatment(
        "keep",
        "who did what and when: ids, counts and query parameters, never a request "
        "body, so no note or phone number typed about the person is in it (a "
        "search's query parameters, e.g. a name, are); append-only, kept for "
        "accountability",
    ),
}


def _enriched(session: Session, provider: Provider) -> bool:
    """Whether the golden record may hold values from beyond the public registry rows."""
    sources = {str(v).split(":", 1)[0] for v in (provider.lineage or {}).values() if v}
    if sources - set(PUBLIC_REGISTRY_SOURCES):
        return True
    pid = provider.id
    return bool(
        session.scalar(
            select(
                or_(
                    select(ProviderOverride.id).where(ProviderOverride.provider_id == pid).exists(),
                    select(SourceRecord.id)
                    .where(
                        SourceRecord.provider_id == pid,
                        SourceRecord.source.not_in(PUBLIC_REGISTRY_SOURCES),
                    )
                    .exists(),
                )
            )
        )
    )


def erase(
    ctx: AppContext, provider_id: int, *, actor: str, client_ip: str | None = None
) -> ErasureReport:
    """Erase what the service holds about a person beyond the public registry record.

    Every table of :data:`ERASURE_PLAN` is treated in one transaction, with
    the objection and the audit entry. On SQLite the write-ahead log is then
    checkpointed and truncated, so the deleted text (zeroed in the database
    file by ``secure_delete``) is not left in it either.

    Raises
    ------
    core.errors.NotFoundError
        When no provider has that id.
    """
    _check_id(provider_id)
    now = datetime.now(UTC)
    with ctx.sessions.begin() as session:
        provider = session.get(Provider, provider_id)
        if provider is None:
            raise NotFoundError(f"no provider with id {provider_id}")
        subject = _Subject(
            ctx=ctx, session=session, provider=provider, enriched=_enriched(session, provider)
        )
        touched = {
            table: t.apply(subject) for table, t in ERASURE_PLAN.items() if t.apply is not None
        }
        removed = {k: n for k, n in touched.items() if ERASURE_PLAN[k].action == "delete"}
        scrubbed = {k: n for k, n in touched.items() if ERASURE_PLAN[k].action == "scrub"}
        row = session.get(DataObjection, provider_id)
        if row is None:
            row = DataObjection(
                provider_id=provider_id,
                recorded_by=actor[:100],
                objected_at=now,
                reason="erasure request",
            )
            session.add(row)
        row.erased_at = now
        audit.append_in(
            session,
            actor=actor,
            action="erasure",
            client_ip=client_ip,
            records={"provider_id": provider_id, "removed": removed, "scrubbed": scrubbed},
        )
    if not truncate_wal(ctx.engine):
        logger.warning(
            "erasure of %s: the SQLite WAL is busy; it keeps the old pages until the next "
            "checkpoint",
            provider_id,
        )
    return ErasureReport(provider_id=provider_id, erased_at=now, removed=removed, scrubbed=scrubbed)
