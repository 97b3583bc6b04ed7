"""Pydantic models for referral activity, the CRM log, the prospect workflow, segments,
backtests and the pre-visit brief (issue 6). Same families as :mod:`service.schemas`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.identifiers import luhn_npi_valid
from service.schemas import ProspectFilter, StorableText

__all__ = [
    "PROSPECT_STATUSES",
    "AlertPublic",
    "BacktestRequest",
    "ExclusionCreate",
    "ExclusionPublic",
    "InteractionCreate",
    "InteractionPublic",
    "PreferencePublic",
    "PreferenceUpdate",
    "ReferralReceipt",
    "ReferralWebhook",
    "ReviewPublic",
    "ReviewResolve",
    "SegmentCreate",
    "SegmentPublic",
    "StatusPublic",
    "StatusUpdate",
]

PROSPECT_STATUSES = ("new", "contacted", "meeting held", "referring", "not a fit")
ProspectStatusName = Literal["new", "contacted", "meeting held", "referring", "not a fit"]


class _Strict(StorableText):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    free_text_fields: ClassVar[frozenset[str]] = frozenset({"summary", "note", "message", "text"})


class ReferralWebhook(_Strict):
    """One booking with a referrer, posted by the scheduling system. No patient identity:
    unknown fields (e.g. a patient name) are refused."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "external_id": "RIS-2024-000123",
                    "referral_date": "2024-06-03",
                    "referrer_npi": "1234567893",
                    "service_line": "MRI",
                    "site_code": "COL-NE",
                },
                {
                    "external_id": "RIS-2024-000124",
                    "referral_date": "2024-06-03",
                    "referrer_name": "Dr. R. Smith",
                    "patient_ref": "a81f0c",
                },
            ]
        },
    )

    external_id: str = Field(min_length=1, max_length=100)
    referral_date: date
    referrer_npi: str | None = Field(None, pattern=r"^\d{10}$")
    referrer_name: str | None = Field(None, min_length=2, max_length=300)
    service_line: str | None = Field(None, max_length=60)
    site_code: str | None = Field(None, max_length=40)
    patient_ref: str | None = Field(
        None, max_length=100, description="Opaque patient id, optional."
    )

    @field_validator("referrer_npi")
    @classmethod
    def _luhn(cls, v: str | None) -> str | None:
        if v is not None and not luhn_npi_valid(v):
            raise ValueError("NPI check digit is wrong")
        return v

    @model_validator(mode="after")
    def _one_referrer(self) -> ReferralWebhook:
        if not self.referrer_npi and not self.referrer_name:
            raise ValueError("give referrer_npi or referrer_name")
        return self


class ReferralReceipt(BaseModel):
    event_id: int
    external_id: str
    created: bool = Field(
        description="False when this external id was already stored (a redelivery)."
    )
    provider_id: int | None
    link: Literal["npi", "name", "review", "none"]
    link_confidence: float | None = None
    review_id: int | None = None


class ReviewPublic(BaseModel):
    id: int
    event_id: int
    external_id: str
    referral_date: date
    referrer_name: str
    confidence: float | None
    candidates: list[dict[str, Any]] | None
    status: str
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    same_name_linked: int = Field(
        0, description="Other queued events with the same referrer text linked by this decision."
    )


class ReviewResolve(_Strict):
    provider_id: int | None = Field(
        None, ge=1, le=2**31 - 1, description="The golden record; null = no match (dismiss)."
    )
    resolved_by: str = Field(min_length=1, max_length=100)


class AlertPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider_id: int
    display_name: str | None = None
    rule: str
    raised_on: date
    tier: str | None
    message: str
    history: dict[str, Any]


class InteractionCreate(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "provider_id": 1201,
                    "kind": "visit",
                    "occurred_at": "2024-06-03T10:30:00Z",
                    "liaison": "Ana",
                    "summary": "Met the office manager",
                    "external_id": "crm-881",
                }
            ]
        },
    )

    provider_id: int = Field(ge=1, le=2**31 - 1)
    kind: Literal["visit", "call", "email"]
    occurred_at: datetime
    liaison: str | None = Field(None, max_length=100)
    summary: str | None = Field(None, max_length=2000)
    source: str | None = Field(None, max_length=60, description="The CRM tool that posted it.")
    external_id: str | None = Field(
        None, max_length=100, description="Idempotency key from the CRM."
    )


class InteractionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider_id: int
    kind: str
    occurred_at: datetime
    liaison: str | None
    summary: str | None
    source: str | None
    external_id: str | None


class PreferenceUpdate(_Strict):
    channel: Literal["email", "secure messaging", "fax", "phone", "in person", "mail"] | None = None
    report_format: Literal["pdf", "portal", "hl7", "fax", "paper"] | None = None
    note: str | None = Field(None, max_length=500)
    updated_by: str | None = Field(None, max_length=100)


class PreferencePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    provider_id: int
    channel: str | None
    report_format: str | None
    note: str | None
    updated_by: str | None
    updated_at: datetime | None


class StatusUpdate(_Strict):
    status: ProspectStatusName | None = Field(None, description="Unchanged when omitted.")
    assigned_to: str | None = Field(None, max_length=100, description="Liaison; '' unassigns.")
    changed_by: str = Field(min_length=1, max_length=100)
    note: str | None = Field(None, max_length=500)


class StatusPublic(BaseModel):
    provider_id: int
    status: str
    assigned_to: str | None
    updated_by: str | None
    updated_at: datetime | None
    history: list[dict[str, Any]] = []


class ExclusionCreate(_Strict):
    npi: str | None = Field(None, pattern=r"^\d{10}$")
    provider_id: int | None = Field(None, ge=1, le=2**31 - 1)
    reason: Literal["do not contact", "own physician"]
    note: str | None = Field(None, max_length=500)
    added_by: str | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def _who(self) -> ExclusionCreate:
        if self.npi is None and self.provider_id is None:
            raise ValueError("give npi or provider_id")
        return self


class ExclusionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    npi: str | None
    provider_id: int | None
    reason: str
    note: str | None
    added_by: str | None


class SegmentCreate(_Strict):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w .,'()&+-]+$")
    description: str | None = Field(None, max_length=500)
    filters: ProspectFilter
    created_by: str | None = Field(None, max_length=100)


class SegmentPublic(BaseModel):
    id: int
    name: str
    description: str | None
    filters: dict[str, Any]
    created_by: str | None
    count: int | None = Field(None, description="Prospects matching now.")


class BacktestRequest(_Strict):
    site: str = Field(min_length=1, max_length=40)
    hide_months: int = Field(6, ge=1, le=60)
    k: int = Field(50, ge=1, le=10_000)
    profile: str | None = Field(
        None, max_length=80, description="Shipped profile name; default = the site's."
    )
    seed: int = 0


class ProspectMapView(BaseModel):
    """The prospects of one map view, column-wise: one row per provider, best score first."""

    fields: list[str] = Field(description="Names of the row columns, in order.")
    rows: list[list[int | float | str | None]] = Field(
        description="One row per provider (lat, lon in degrees; status 'new' when never set)."
    )
    truncated: bool = Field(description="More providers matched in the view than `cap`.")
    cap: int = Field(description="Most rows one answer holds (fixed by the server).")
