"""GDPR duties towards practitioners: objection (art. 21) and erasure (art. 17), both audited.

*Objection*: a person who objects is excluded from prospecting (never scored,
never listed, never exported; their existing prospect rows are removed at
once). Their public registry record stays, as it is in the public registry.

*Erasure* removes what the service holds about the person beyond the public
registry record (NPPES, CMS, RPPS, FINESS rows and the golden record built
from them stay):

* prospect rows and the referrer statistics (tier, volumes);
* manual corrections of the golden record (``provider_overrides``);
* rows of the clinic's own referrer list (``source="referrer_list"``) with
  their history, and the review / match decisions on them (cascade);
* on the clinic's referral events: the link to the person and the referrer
  name and NPI as typed in the scheduling system (the events stay, anonymous,
  for site volumes).

An erasure implies an objection (so the next pipeline run does not bring the
person back). Both are written to the audit log in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Select, delete, select, update

from core.errors import InputError, NotFoundError, Problem
from data.models import Prospect, Provider, ProviderOverride, ReferralEvent, ReferrerStat, SourceRecord
from data.security import DataObjection
from service import audit
from service.context import AppContext
from service.security_schemas import ErasureReport, ObjectionPublic

__all__ = ["PUBLIC_REGISTRY_SOURCES", "erase", "list_objections", "object_to_processing", "objected"]

#: Sources that are public registries: their rows are kept on erasure.
PUBLIC_REGISTRY_SOURCES = ("nppes", "cms_dac", "rpps", "finess")


def objected() -> Select:
    """``SELECT provider_id`` of every person who objected (for ``NOT IN`` filters)."""
    return select(DataObjection.provider_id)


def _check_id(provider_id: int) -> None:
    if not isinstance(provider_id, int) or isinstance(provider_id, bool) or provider_id < 1:
        raise InputError("invalid provider id",
                         problems=[Problem("must be a positive integer", field="provider_id",
                                           value=str(provider_id))])  # fmt: skip


def object_to_processing(
    ctx: AppContext, provider_id: int, *, actor: str, reason: str | None = None,
    client_ip: str | None = None,
) -> ObjectionPublic:  # fmt: skip
    """Record a person's objection and drop their prospect rows (idempotent).

    Raises
    ------
    core.errors.NotFoundError
        When no provider has that id.
    """
    _check_id(provider_id)
    if reason is not None and len(reason) > 500:
        raise InputError("invalid objection", problems=[Problem("at most 500 characters", field="reason")])
    with ctx.sessions.begin() as session:
        if session.get(Provider, provider_id) is None:
            raise NotFoundError(f"no provider with id {provider_id}")
        row = session.get(DataObjection, provider_id)
        if row is None:
            row = DataObjection(provider_id=provider_id, reason=reason, recorded_by=actor[:100],
                                objected_at=datetime.now(UTC))  # fmt: skip
            session.add(row)
        dropped = session.execute(delete(Prospect).where(Prospect.provider_id == provider_id)).rowcount
        audit.append_in(session, actor=actor, action="objection", client_ip=client_ip,
                        records={"provider_id": provider_id, "prospects_removed": dropped})  # fmt: skip
        session.flush()
        return ObjectionPublic.model_validate(row)


def list_objections(ctx: AppContext) -> list[ObjectionPublic]:
    """Every recorded objection, by provider id."""
    with ctx.sessions() as session:
        rows = session.scalars(select(DataObjection).order_by(DataObjection.provider_id))
        return [ObjectionPublic.model_validate(r) for r in rows]


def erase(ctx: AppContext, provider_id: int, *, actor: str, client_ip: str | None = None) -> ErasureReport:
    """Erase what the service holds about a person beyond the public registry record.

    Raises
    ------
    core.errors.NotFoundError
        When no provider has that id.
    """
    _check_id(provider_id)
    now = datetime.now(UTC)
    with ctx.sessions.begin() as session:
        if session.get(Provider, provider_id) is None:
            raise NotFoundError(f"no provider with id {provider_id}")
        removed = {
            "prospects": session.execute(
                delete(Prospect).where(Prospect.provider_id == provider_id)).rowcount,
            "referrer_stats": session.execute(
                delete(ReferrerStat).where(ReferrerStat.provider_id == provider_id)).rowcount,
            "overrides": session.execute(
                delete(ProviderOverride).where(ProviderOverride.provider_id == provider_id)).rowcount,
            "clinic_source_records": session.execute(
                delete(SourceRecord).where(SourceRecord.provider_id == provider_id,
                                           SourceRecord.source.not_in(PUBLIC_REGISTRY_SOURCES))).rowcount,
            "referral_events_anonymised": session.execute(
                update(ReferralEvent).where(ReferralEvent.provider_id == provider_id)
                .values(provider_id=None, referrer_name=None, referrer_npi=None)).rowcount,
        }  # fmt: skip
        row = session.get(DataObjection, provider_id)
        if row is None:
            row = DataObjection(provider_id=provider_id, recorded_by=actor[:100], objected_at=now,
                                reason="erasure request")  # fmt: skip
            session.add(row)
        row.erased_at = now
        audit.append_in(session, actor=actor, action="erasure", client_ip=client_ip,
                        records={"provider_id": provider_id, "removed": removed})  # fmt: skip
    return ErasureReport(provider_id=provider_id, erased_at=now, removed=removed)
