"""FHIR reads by id and the bulk NDJSON export of a prospect query (see :mod:`service.integration.fhir`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import NotFoundError
from data.models import ClinicSite, LoadBatch, Organization, Prospect, Provider
from service.context import AppContext
from service.integration import fhir
from service.prospecting.prospect_sql import prospect_statement
from service.schemas import ProspectFilter

__all__ = ["EXPORT_TYPES", "FhirType", "count_export", "export_ndjson", "read_resource"]

FhirType = Literal["Practitioner", "PractitionerRole", "Organization", "Location"]
EXPORT_TYPES: tuple[FhirType, ...] = (
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
)


def _provider(session: Session, raw: str, *, entity_type: str) -> Provider:
    prov = session.get(Provider, int(raw)) if raw.isdigit() and len(raw) < 10 else None
    if prov is None or prov.entity_type != entity_type:
        raise NotFoundError(f"no {entity_type} provider with id {raw!r}")
    return prov


def _registry_as_of(session: Session):  # noqa: ANN202
    return session.scalar(select(func.max(LoadBatch.finished_at)))


def read_resource(session: Session, kind: FhirType, fhir_id: str) -> dict[str, Any]:
    """One validated resource by type and id.

    Raises
    ------
    core.errors.NotFoundError
        When nothing has that id (or it is of another kind, e.g. an
        organisation asked for as a Practitioner).
    """
    if kind == "Practitioner":
        resource = fhir.practitioner(_provider(session, fhir_id, entity_type="individual"))
    elif kind == "PractitionerRole":
        resource = fhir.practitioner_role(_provider(session, fhir_id, entity_type="individual"))
    elif kind == "Organization":
        if fhir_id.startswith("practice-"):
            raw = fhir_id.removeprefix("practice-")
            org = session.get(Organization, int(raw)) if raw.isdigit() and len(raw) < 10 else None
            if org is None:
                raise NotFoundError(f"no Organization {fhir_id!r}")
            resource = fhir.organization_from_practice(org, as_of=_registry_as_of(session))
        else:
            resource = fhir.organization_from_provider(
                _provider(session, fhir_id, entity_type="organization")
            )
    elif kind == "Location":
        if fhir_id.startswith("provider-"):
            raw = fhir_id.removeprefix("provider-")
            prov = session.get(Provider, int(raw)) if raw.isdigit() and len(raw) < 10 else None
            if prov is None:
                raise NotFoundError(f"no Location {fhir_id!r}")
            resource = fhir.location_from_provider(prov)
        else:
            code = fhir_id.removeprefix("site-")
            site = session.scalars(select(ClinicSite).where(ClinicSite.site_code == code)).first()
            if site is None or not fhir_id.startswith("site-"):
                raise NotFoundError(f"no Location {fhir_id!r}")
            resource = fhir.location_from_site(site)
    else:  # pragma: no cover - the API's enum refuses it first
        raise NotFoundError(f"unsupported resource type {kind!r}")
    return fhir.validated(resource)


def _export_plan(
    session: Session, filters: ProspectFilter, types: set[str]
) -> Iterator[tuple[str, Provider]]:
    """The export's lines in order, each as (what it is, the provider it is made from).

    ``practice`` stands for the Organization of the provider's practice (each
    practice once). One plan, so the count written to the audit log is the
    number of lines the export then writes.
    """
    stmt = prospect_statement(filters).order_by(Prospect.provider_id, Prospect.id)
    seen_prov: set[int] = set()
    seen_org: set[int] = set()
    for _, prov, _code in session.execute(stmt.execution_options(yield_per=500)):
        if prov.id in seen_prov:  # a prospect of several sites
            continue
        seen_prov.add(prov.id)
        if prov.entity_type == "organization":
            if "Organization" in types:
                yield "Organization", prov
        else:
            if "Practitioner" in types:
                yield "Practitioner", prov
            if "PractitionerRole" in types:
                yield "PractitionerRole", prov
            # organization_id is a foreign key: the practice exists
            if (
                "Organization" in types
                and prov.organization_id
                and prov.organization_id not in seen_org
            ):
                seen_org.add(prov.organization_id)
                yield "practice", prov
        if "Location" in types and fhir._address(prov):
            yield "Location", prov


def count_export(session: Session, filters: ProspectFilter, *, types: set[str]) -> int:
    """How many NDJSON lines :func:`export_ndjson` writes for these filters and types."""
    return sum(1 for _ in _export_plan(session, filters, types))


def _export_resources(
    session: Session, filters: ProspectFilter, types: set[str]
) -> Iterator[dict[str, Any]]:
    as_of = _registry_as_of(session)
    build = {
        "Organization": fhir.organization_from_provider,
        "Practitioner": fhir.practitioner,
        "PractitionerRole": fhir.practitioner_role,
        "Location": fhir.location_from_provider,
    }
    for kind, prov in _export_plan(session, filters, types):
        if kind == "practice":
            yield fhir.organization_from_practice(
                session.get(Organization, prov.organization_id), as_of=as_of
            )
        else:
            yield build[kind](prov)


def export_ndjson(ctx: AppContext, filters: ProspectFilter, *, types: set[str]) -> Iterator[bytes]:
    """NDJSON of the providers behind the prospects matching ``filters`` (own session; streams).

    People who objected to processing never appear (the prospect query excludes them).
    """
    with ctx.sessions() as session:
        yield from fhir.ndjson_lines(_export_resources(session, filters, types))
