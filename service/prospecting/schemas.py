"""Pydantic models for referral activity, the CRM log, the prospect workflow, segments
and the pre-visit brief (issue 6). Same families as :mod:`service.schemas`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.identifiers import luhn_npi_valid
from prospects.interactions import InteractionKind
from service.schemas import ProspectFilter
from service.wire import IsoDate, IsoInstant, JsonId, TrimmedBody, trimmed_at_least

__all__ = [
    "PROSPECT_STATUSES",
    "AlertPublic",
    "BriefPublic",
    "ExclusionCreate",
    "ExclusionPublic",
    "InteractionCreate",
    "InteractionPublic",
    "PreferencePublic",
    "PreferenceUpdate",
    "ReferralReceipt",
    "ReferralWebhook",
    "ReferrerActivity",
    "ReviewPublic",
    "ReviewResolve",
    "SegmentCreate",
    "SegmentPublic",
    "SiteScore",
    "StatusPublic",
    "StatusUpdate",
    "VisitOutcomeCreate",
    "VisitOutcomePublic",
]

PROSPECT_STATUSES = ("new", "contacted", "meeting held", "referring", "not a fit")
ProspectStatusName = Literal["new", "contacted", "meeting held", "referring", "not a fit"]


def _one_of_given(*names: str) -> list[dict[str, Any]]:
    """JSON Schema for "at least one of ``names``, not null" (a model validator's rule)."""
    return [{"required": [n], "properties": {n: {"not": {"type": "null"}}}} for n in names]


class _Strict(TrimmedBody):
    free_text_fields: ClassVar[frozenset[str]] = frozenset({"summary", "note", "message", "text"})


class ReferralWebhook(_Strict):
    """One booking with a referrer, posted by the scheduling system. No patient identity:
    unknown fields (e.g. a patient name) are refused."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": _one_of_given("referrer_npi", "referrer_name"),
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
            ],
        },
    )

    external_id: str = Field(min_length=1, max_length=100, pattern=trimmed_at_least(1))
    referral_date: IsoDate
    referrer_npi: str | None = Field(None, pattern=r"^\d{10}$")
    referrer_name: str | None = Field(
        None, min_length=2, max_length=300, pattern=trimmed_at_least(2)
    )
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
    provider_id: JsonId | None = Field(
        None, description="The golden record; null = no match (dismiss)."
    )
    resolved_by: str = Field(min_length=1, max_length=100, pattern=trimmed_at_least(1))


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
        json_schema_extra={
            "examples": [
                {
                    "provider_id": 1201,
                    "kind": "visit",
                    "occurred_at": "2024-06-03T10:30:00Z",
                    "summary": "Met the office manager",
                    "external_id": "crm-881",
                }
            ]
        },
    )

    provider_id: JsonId
    kind: InteractionKind
    occurred_at: IsoInstant
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
    liaison: str | None = Field(
        description="Who logged it: the named person of the caller's key (never sent)."
    )
    summary: str | None
    outcome: str | None = Field(None, description="A visit's outcome: held, not_met, declined.")
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
    """A change of status and/or liaison; who made it comes from the caller's key or session."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": _one_of_given("status", "assigned_to"),
            "examples": [{"status": "contacted", "note": "left a card"}],
        }
    )

    status: ProspectStatusName | None = Field(None, description="Unchanged when omitted.")
    assigned_to: str | None = Field(
        None,
        max_length=100,
        description="Liaison; '' unassigns. Below role integration: only yourself or ''.",
    )
    note: str | None = Field(None, max_length=500)


class StatusPublic(BaseModel):
    provider_id: int
    status: str
    assigned_to: str | None
    updated_by: str | None = Field(description="The named person who made the last change.")
    updated_at: datetime | None
    etag: str = Field(description="The status's entity tag: send it in If-Match to change it.")
    history: list[dict[str, Any]] = []


VisitOutcomeName = Literal["held", "not_met", "declined"]


class VisitOutcomeCreate(_Strict):
    """What came of a visit; logged as an interaction of the caller, and the status moves."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"outcome": "held", "note": "Met Dr. Ruiz; wants the MRI slots list"},
                {"outcome": "not_met", "occurred_at": "2026-12-08T15:10:00Z"},
            ]
        },
    )

    outcome: VisitOutcomeName
    note: str | None = Field(None, max_length=2000)
    occurred_at: IsoInstant | None = Field(None, description="When the visit was; default now.")


class SiteScore(BaseModel):
    """A provider's score at one site, as the scoring stage stores it."""

    site_code: str
    profile: str
    score: float
    segment: str
    drive_minutes: float | None


class VisitOutcomePublic(BaseModel):
    """The visit logged, the prospect's new status and its recomputed scores."""

    interaction: InteractionPublic
    status: StatusPublic
    scores: list[SiteScore] = Field(
        description="Per site where the provider is a prospect after re-scoring (empty: none)."
    )


class ExclusionCreate(_Strict):
    model_config = ConfigDict(json_schema_extra={"anyOf": _one_of_given("npi", "provider_id")})

    npi: str | None = Field(None, pattern=r"^\d{10}$")
    provider_id: JsonId | None = None
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
    # letters and some punctuation, not only spaces
    name: str = Field(
        min_length=1, max_length=100, pattern=r"^[\w .,'()&+-]*[\w.,'()&+-][\w .,'()&+-]*$"
    )
    description: str | None = Field(None, max_length=500)
    filters: ProspectFilter
    created_by: str | None = Field(None, max_length=100)


class SegmentPublic(BaseModel):
    id: int
    name: str
    description: str | None
    filters: dict[str, Any]
    created_by: str | None
    count: int | None = Field(
        None, description="Prospects matching now (one per provider and site: export rows)."
    )
    providers: int | None = Field(
        None,
        description="Distinct providers matching now: what the app's map and list show "
        "for the same filters (one per provider).",
    )


class PeriodCount(BaseModel):
    period_start: date = Field(description="First day of the week (Monday) or month.")
    referrals: int


class ReferrerActivity(BaseModel):
    """One referrer's referral analytics as of ``as_of``."""

    provider_id: int
    as_of: date
    referrals_total: int
    referrals_window: int = Field(description="Referrals within PRM_REFERRING_WINDOW_DAYS.")
    tier: str | None
    trend: str | None = Field(description="Last month against the 3-month average: up, down, flat.")
    last_month: int
    prev_3_month_avg: float
    first_referral: date | None
    last_referral: date | None
    lapsed: bool
    weekly: list[PeriodCount]
    monthly: list[PeriodCount]


class BriefProfile(BaseModel):
    id: int
    npi: str | None
    display_name: str
    entity_type: str
    credential: str | None
    taxonomy_code: str | None
    classification: str | None
    organization_name: str | None
    address_1: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    phone: str | None
    is_active: bool


class ColleagueReferring(BaseModel):
    """A referring colleague of the same practice."""

    provider_id: int
    display_name: str
    classification: str | None
    tier: str | None
    referrals_window: int | None
    last_referral: date | None


class BriefProspect(BaseModel):
    """The provider's score at one site."""

    site_code: str
    score: float
    segment: str
    profile: str
    drive_minutes: float | None
    distance_km: float | None
    components: list[dict[str, Any]] | None = Field(
        description="Score breakdown: name, value, weight, points, reason."
    )


class BriefPublic(BaseModel):
    """Everything a liaison reads before a visit."""

    provider: BriefProfile
    referrals: ReferrerActivity
    colleagues_referring: list[ColleagueReferring]
    interactions: list[InteractionPublic] = Field(description="The last five, latest first.")
    preferences: PreferencePublic | None
    workflow: StatusPublic
    prospects: list[BriefProspect] = Field(description="Best score first.")


class ProspectMapView(BaseModel):
    """The prospects of one map view, column-wise: one row per provider, best score first."""

    fields: list[str] = Field(description="Names of the row columns, in order.")
    rows: list[list[int | float | str | None]] = Field(
        description="One row per provider (lat, lon in degrees; status 'new' when never set)."
    )
    truncated: bool = Field(description="More providers matched in the view than `cap`.")
    cap: int = Field(description="Most rows one answer holds (fixed by the server).")
