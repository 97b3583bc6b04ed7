"""Providers, practices and sites as FHIR R4B resources in Da Vinci PDex Plan-Net shapes.

Resources (ids are stable and derived from ours):

==================  ===========================================  =====================
FHIR resource       from                                         id
==================  ===========================================  =====================
Practitioner        an individual provider (golden record)       ``<provider id>``
PractitionerRole    the same provider: specialty, practice,      ``<provider id>``
                    practice location
Organization        an organisation provider (NPI type 2)        ``<provider id>``
Organization        a practice group (``organizations`` row)     ``practice-<id>``
Location            a clinic site                                ``site-<site code>``
Location            a provider's practice address                ``provider-<id>``
==================  ===========================================  =====================

Every resource is validated with the ``fhir.resources`` R4B models
(``fhir.resources`` 8.x ships R5, R4B and STU3, not R4; R4B is the closest
to Plan-Net's R4 base) and then checked against Plan-Net's required elements
by :func:`plannet_problems` — our own checks, listed in :data:`PLANNET_REQUIRED`
and docs/fhir.md; they are not the official Plan-Net validator.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from core.errors import InputError, Problem, ServiceError

__all__ = [
    "NPI_SYSTEM",
    "PLANNET",
    "PLANNET_REQUIRED",
    "FhirError",
    "location_from_provider",
    "location_from_site",
    "ndjson_lines",
    "organization_from_practice",
    "organization_from_provider",
    "plannet_problems",
    "practitioner",
    "practitioner_role",
    "validated",
]

PLANNET = "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/plannet-"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
NUCC_SYSTEM = "http://nucc.org/provider-taxonomy"

#: Plan-Net (STU 1.1) elements we check, per resource type: (path, what Plan-Net says).
PLANNET_REQUIRED: dict[str, list[tuple[str, str]]] = {
    "Practitioner": [
        ("meta.lastUpdated", "1..1 on every Plan-Net resource"),
        ("active", "1..1 (must support)"),
        ("name", "1..* with name.family 1..1"),
    ],
    "PractitionerRole": [
        ("meta.lastUpdated", "1..1 on every Plan-Net resource"),
        ("active", "1..1 (must support)"),
        ("practitioner|organization|location", "invariant pd-1: at least one of them"),
    ],
    "Organization": [
        ("meta.lastUpdated", "1..1 on every Plan-Net resource"),
        ("active", "1..1"),
        ("name", "1..1"),
    ],
    "Location": [
        ("meta.lastUpdated", "1..1 on every Plan-Net resource"),
        ("name", "1..1 (must support)"),
        ("status", "must support; we always state it"),
    ],
}


class FhirError(ServiceError):
    """A resource we built does not validate (a defect: reported as a server error)."""

    status = 500
    title = "FHIR resource invalid"


def _fhir_id(text: str) -> str:
    # FHIR ids: [A-Za-z0-9\-\.]{1,64}
    return re.sub(r"[^A-Za-z0-9\-.]", "-", text)[:64]


def _instant(value: datetime | None) -> str:
    value = (value or datetime.now(UTC)).astimezone(UTC)
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _meta(kind: str, updated: datetime | None) -> dict[str, Any]:
    return {"lastUpdated": _instant(updated), "profile": [PLANNET + kind]}


def _address(row: Any) -> dict[str, Any] | None:
    lines = [v for v in (getattr(row, "address_1", None), getattr(row, "address_2", None)) if v]
    out = {
        "line": lines or None,
        "city": row.city,
        "state": getattr(row, "state", None),
        "postalCode": row.postal_code,
        "country": getattr(row, "country", None),
    }
    out = {k: v for k, v in out.items() if v}
    return out or None


def _phone(phone: str | None) -> list[dict[str, Any]] | None:
    return [{"system": "phone", "value": phone, "use": "work"}] if phone else None


def _position(row: Any) -> dict[str, Any] | None:
    if row.lat is None or row.lon is None:
        return None
    return {"latitude": round(float(row.lat), 6), "longitude": round(float(row.lon), 6)}


def _npi(npi: str | None) -> list[dict[str, Any]] | None:
    return [{"use": "official", "system": NPI_SYSTEM, "value": npi}] if npi else None


def _specialty(prov: Any) -> list[dict[str, Any]] | None:
    if not prov.taxonomy_code:
        return None
    coding = {"system": NUCC_SYSTEM, "code": prov.taxonomy_code}
    if prov.classification:
        coding["display"] = prov.classification
    return [{"coding": [coding], "text": prov.classification or prov.taxonomy_code}]


def _clean(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if v is not None}


def practitioner(prov: Any) -> dict[str, Any]:
    """A Plan-Net Practitioner from an individual provider's golden record."""
    given = [v for v in (prov.first_name, prov.middle_name) if v]
    name = _clean(
        {
            "use": "official",
            "text": prov.display_name,
            "family": prov.last_name or prov.display_name,
            "given": given or None,
            "suffix": [prov.credential] if prov.credential else None,
        }
    )
    gender = {"M": "male", "F": "female"}.get(prov.gender or "")
    return _clean(
        {
            "resourceType": "Practitioner",
            "id": str(prov.id),
            "meta": _meta("Practitioner", prov.updated_at),
            "identifier": _npi(prov.npi),
            "active": bool(prov.is_active),
            "name": [name],
            "telecom": _phone(prov.phone),
            "address": [a] if (a := _address(prov)) else None,
            "gender": gender,
            "qualification": [{"code": s} for s in (_specialty(prov) or [])] or None,
        }
    )


def practitioner_role(prov: Any) -> dict[str, Any]:
    """A Plan-Net PractitionerRole: the provider, their practice and practice location, specialty."""
    return _clean(
        {
            "resourceType": "PractitionerRole",
            "id": str(prov.id),
            "meta": _meta("PractitionerRole", prov.updated_at),
            "active": bool(prov.is_active),
            "practitioner": {"reference": f"Practitioner/{prov.id}", "display": prov.display_name},
            "organization": {"reference": f"Organization/practice-{prov.organization_id}"}
            if prov.organization_id
            else None,
            "location": [{"reference": f"Location/provider-{prov.id}"}] if _address(prov) else None,
            "specialty": _specialty(prov),
            "telecom": _phone(prov.phone),
        }
    )


def organization_from_provider(prov: Any) -> dict[str, Any]:
    """A Plan-Net Organization from an organisation provider (NPI type 2)."""
    return _clean(
        {
            "resourceType": "Organization",
            "id": str(prov.id),
            "meta": _meta("Organization", prov.updated_at),
            "identifier": _npi(prov.npi),
            "active": bool(prov.is_active),
            "type": [
                {
                    "coding": [
                        {
                            "system": "http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/OrgTypeCS",
                            "code": "prvgrp",
                            "display": "Provider Group",
                        }
                    ]
                }
            ],
            "name": prov.organization_name or prov.display_name,
            "telecom": _phone(prov.phone),
            "address": [a] if (a := _address(prov)) else None,
        }
    )


def organization_from_practice(org: Any, *, as_of: datetime | None) -> dict[str, Any]:
    """A Plan-Net Organization from a practice group (``organizations`` row)."""
    return _clean(
        {
            "resourceType": "Organization",
            "id": f"practice-{org.id}",
            "meta": _meta("Organization", as_of),
            "identifier": _npi(org.npi),
            "active": True,
            "type": [
                {
                    "coding": [
                        {
                            "system": "http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/OrgTypeCS",
                            "code": "prvgrp",
                            "display": "Provider Group",
                        }
                    ]
                }
            ],
            "name": org.name or f"practice {org.id}",
            "telecom": _phone(org.phone),
            "address": [a] if (a := _address(org)) else None,
        }
    )


def location_from_site(site: Any) -> dict[str, Any]:
    """A Plan-Net Location from a clinic site."""
    return _clean(
        {
            "resourceType": "Location",
            "id": _fhir_id(f"site-{site.site_code}"),
            "meta": _meta("Location", site.updated_at),
            "status": "active",
            "name": site.name,
            "identifier": [{"system": "urn:prm:site", "value": site.site_code}],
            "description": f"{site.service_line} site",
            "address": _address(site),
            "position": _position(site),
        }
    )


def location_from_provider(prov: Any) -> dict[str, Any]:
    """A Plan-Net Location for a provider's practice address."""
    return _clean(
        {
            "resourceType": "Location",
            "id": f"provider-{prov.id}",
            "meta": _meta("Location", prov.updated_at),
            "status": "active" if prov.is_active else "inactive",
            "name": f"Practice location of {prov.display_name}",
            "address": _address(prov),
            "position": _position(prov),
            "telecom": _phone(prov.phone),
        }
    )


def _present(resource: dict[str, Any], path: str) -> bool:
    value: Any = resource
    for part in path.split("."):
        if not isinstance(value, dict) or value.get(part) in (None, [], ""):
            return False
        value = value[part]
    return True


def plannet_problems(resource: dict[str, Any]) -> list[Problem]:
    """Plan-Net required elements missing from ``resource`` (our checks, :data:`PLANNET_REQUIRED`)."""
    kind = resource.get("resourceType", "")
    problems = []
    for path, rule in PLANNET_REQUIRED.get(kind, []):
        alternatives = path.split("|")
        if not any(_present(resource, p) for p in alternatives):
            problems.append(Problem(f"Plan-Net {kind}: {rule}", field=path))
    if kind == "Practitioner":
        for i, name in enumerate(resource.get("name") or []):
            if not name.get("family"):
                problems.append(
                    Problem("Plan-Net Practitioner: name.family 1..1", field=f"name[{i}].family")
                )
    if not any(p.startswith(PLANNET) for p in (resource.get("meta") or {}).get("profile", [])):
        problems.append(
            Problem("meta.profile should claim a Plan-Net profile", field="meta.profile")
        )
    return problems


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """Validate with the ``fhir.resources`` R4B model and the Plan-Net checks; return the JSON dict.

    Raises
    ------
    FhirError
        Listing every problem (a resource we built is invalid: a defect).
    """
    from fhir.resources.R4B import get_fhir_model_class

    kind = resource.get("resourceType")
    if kind not in PLANNET_REQUIRED:
        raise InputError(f"unsupported FHIR resource type {kind!r}")
    try:
        model = get_fhir_model_class(kind).model_validate(resource)
    except ValidationError as exc:
        raise FhirError(
            f"{kind}/{resource.get('id')} is not valid FHIR R4B",
            problems=[Problem(e["msg"], field=".".join(map(str, e["loc"]))) for e in exc.errors()],
        ) from None
    problems = plannet_problems(resource)
    if problems:
        raise FhirError(f"{kind}/{resource.get('id')} misses Plan-Net elements", problems=problems)
    return orjson.loads(model.model_dump_json(exclude_none=True))


def ndjson_lines(resources: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """Validated resources as NDJSON lines (one resource per line)."""
    for resource in resources:
        yield orjson.dumps(validated(resource)) + b"\n"
