"""FHIR R4B in Da Vinci PDex Plan-Net shapes: reads (viewer) and NDJSON bulk export (marketing).

Resources are validated with ``fhir.resources`` (R4B) and our Plan-Net
checks before they are served (:mod:`service.integration.fhir`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.audit import ExportDep
from api.deps import ContextDep, SessionDep, require_role
from api.problems import problem_responses
from api.routers.prospects import FilterDep
from service.integration.fhir_read import (
    EXPORT_TYPES,
    FhirType,
    count_export,
    export_ndjson,
    read_resource,
)
from service.prospecting.listing import count_prospects
from service.queries import site_by_code

__all__ = ["fhir_export", "fhir_read", "router"]

FHIR_JSON = "application/fhir+json"
FHIR_NDJSON = "application/fhir+ndjson"

router = APIRouter(
    prefix="/fhir",
    tags=["fhir"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403, 404, 422, 429),
)


class FhirJSONResponse(JSONResponse):
    """A FHIR resource (``application/fhir+json``)."""

    media_type = FHIR_JSON


class FhirMeta(BaseModel):
    model_config = ConfigDict(extra="allow")

    lastUpdated: datetime  # noqa: N815 - FHIR's name
    profile: list[str] = Field(description="The Plan-Net profile the resource conforms to.")


class FhirResource(BaseModel):
    """A Da Vinci PDex Plan-Net resource, R4B: the elements every one has; the rest are FHIR's
    (validated with ``fhir.resources`` before they are served)."""

    model_config = ConfigDict(extra="allow")

    resourceType: FhirType  # noqa: N815 - FHIR's name
    id: str
    meta: FhirMeta


_PRACTITIONER = {
    "resourceType": "Practitioner",
    "id": "1201",
    "meta": {
        "lastUpdated": "2026-11-01T08:00:00Z",
        "profile": [
            "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/plannet-Practitioner"
        ],
    },
    "identifier": [
        {"use": "official", "system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}
    ],
    "active": True,
    "name": [{"use": "official", "text": "JANE Q DOE MD", "family": "DOE", "given": ["JANE", "Q"]}],
}


@router.get(
    "/export.ndjson",
    response_class=StreamingResponse,
    summary="Bulk export of a prospect query as FHIR NDJSON (marketing)",
    dependencies=[Depends(require_role("marketing"))],
    responses={
        200: {
            "description": "One Plan-Net resource per line.",
            "content": {FHIR_NDJSON: {"schema": {"type": "string"}}},
        }
    },
)
def fhir_export(
    ctx: ContextDep,
    session: SessionDep,
    export: ExportDep,
    filters: FilterDep,
    types: Annotated[
        list[FhirType] | None,
        Query(
            max_length=4, alias="_type", description="Resource types (repeat); all when omitted."
        ),
    ] = None,
) -> StreamingResponse:
    """The providers behind the prospects matching the filters (same filters as
    ``/v1/prospects``, e.g. ``segment``), as Practitioner, PractitionerRole,
    Organization and Location resources, one per line, each validated.
    Written to the audit log before it is sent; people who objected never appear."""
    if filters.site:
        site_by_code(session, filters.site)
    wanted = set(types or EXPORT_TYPES)
    export.record(
        rows=count_export(session, filters, types=wanted),
        format="fhir-ndjson",
        types=sorted(wanted),
        prospects=count_prospects(session, filters),
        filters=filters.model_dump(mode="json", exclude_none=True),
    )
    name = f"prm-fhir-{filters.site or 'all'}-{date.today().isoformat()}.ndjson"
    return StreamingResponse(
        export_ndjson(ctx, filters, types=wanted),
        media_type=FHIR_NDJSON,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/{resource_type}/{resource_id}",
    summary="Read one FHIR resource (viewer)",
    response_class=FhirJSONResponse,
    response_model=FhirResource,
    responses={200: {"content": {FHIR_JSON: {"example": _PRACTITIONER}}}},
)
def fhir_read(
    session: SessionDep,
    resource_type: Annotated[
        FhirType, Path(description="Practitioner, PractitionerRole, Organization, Location.")
    ],
    resource_id: Annotated[
        str,
        Path(
            pattern=r"^[A-Za-z0-9\-.]{1,64}$",
            description="e.g. 1201, practice-77, site-COL-NE, provider-1201.",
        ),
    ],
) -> FhirJSONResponse:
    """A Plan-Net shaped resource, validated against the R4B model and our Plan-Net checks."""
    resource: dict[str, Any] = read_resource(session, resource_type, resource_id)
    return FhirJSONResponse(resource)  # validated by the service: sent as it is
