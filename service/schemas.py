"""Pydantic models exchanged by the service layer, the API and the CLI.

Families follow the FastAPI full-stack template: ``*Create`` (input for
creation), ``*Update`` (partial input), ``*Public`` (what callers see).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from core.country import normalize_phone
from core.notices import LoadWarning
from data.lengths import string_lengths
from data.models import ClinicSite
from prospects.scoring import SEGMENTS
from service.wire import JsonId, StorableText

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a cursor-paginated list; pass ``next_cursor`` back to continue."""

    items: list[T]
    next_cursor: str | None = None
    total: int | None = Field(None, description="Rows matching the filters (all pages).")


class ScoreComponent(BaseModel):
    name: str = Field(description="specialty, proximity, potential or recency.")
    value: float = Field(description="Component value in [0, 1].")
    weight: float = Field(description="Weight of the component in the profile.")
    points: float = Field(description="value x weight x 100; the points add up to the score.")
    reason: str


class ProviderPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    npi: str | None
    entity_type: str
    display_name: str
    first_name: str | None = None
    last_name: str | None = None
    credential: str | None = None
    organization_name: str | None = None
    taxonomy_code: str | None = None
    classification: str | None = None
    address_1: str | None = None
    address_2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    phone: str | None = None
    is_active: bool
    lat: float | None = None
    lon: float | None = None
    geocode_precision: str
    organization_id: int | None = None
    tier: str | None = None
    referrals_window: int | None = None


class SourceRecordPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    source: str
    source_key: str
    file_name: str
    line: int
    match_probability: float | None = None
    match_explanation: dict | None = None


class OverridePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    field: str
    value: Any
    edited_by: str
    note: str | None
    edited_at: datetime


class ProviderDetail(ProviderPublic):
    lineage: dict | None = None
    source_records: list[SourceRecordPublic] = []
    overrides: list[OverridePublic] = []


#: Lengths of the ``clinic_sites`` columns, the limits of the site fields.
_SITE = string_lengths(ClinicSite)


class _SiteFields(StorableText):
    name: str = Field(min_length=1, max_length=_SITE["name"])
    service_line: str = Field(min_length=1, max_length=_SITE["service_line"])
    address_1: str | None = Field(None, max_length=_SITE["address_1"])
    city: str | None = Field(None, max_length=_SITE["city"])
    state: str | None = Field(None, min_length=2, max_length=2)
    postal_code: str | None = Field(None, pattern=r"^\d{5}$")
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


class SiteCreate(_SiteFields):
    site_code: str = Field(
        min_length=1, max_length=_SITE["site_code"], pattern=r"^[A-Za-z0-9_.-]+$"
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "site_code": "COL-NE",
                    "name": "Northeast Imaging",
                    "service_line": "MRI",
                    "address_1": "1800 E Dublin Granville Rd",
                    "city": "Columbus",
                    "state": "OH",
                    "postal_code": "43229",
                }
            ]
        }
    )


class SiteUpdate(StorableText):
    # not null: left out, the stored value stays (the schema says string; null is refused below)
    name: Annotated[str, Field(min_length=1, max_length=_SITE["name"])] | SkipJsonSchema[None] = (
        None
    )
    service_line: (
        Annotated[str, Field(min_length=1, max_length=_SITE["service_line"])] | SkipJsonSchema[None]
    ) = None
    address_1: str | None = Field(None, max_length=_SITE["address_1"])
    city: str | None = Field(None, max_length=_SITE["city"])
    state: str | None = Field(None, min_length=2, max_length=2)
    postal_code: str | None = Field(None, pattern=r"^\d{5}$")
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)

    @field_validator("name", "service_line")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        # only runs for fields present in the body: omitting keeps the stored value
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value


class SitePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    site_code: str
    name: str
    service_line: str
    address_1: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    lat: float | None
    lon: float | None


class ProspectPublic(BaseModel):
    provider_id: int
    site_code: str
    npi: str | None
    display_name: str
    taxonomy_code: str | None
    classification: str | None
    address_1: str | None
    city: str | None
    postal_code: str | None
    phone: str | None
    score: float
    segment: Literal[SEGMENTS] = Field(description="Expected potential (not a referral tier).")  # type: ignore[valid-type]
    drive_minutes: float | None
    distance_km: float
    proximity_estimated: bool
    in_catchment: bool = Field(description="The provider lies in one of the site's catchments.")
    profile: str
    components: list[ScoreComponent]
    status: str = "new"
    assigned_to: str | None = None


ProspectSort = Literal["-score", "score", "drive_minutes", "-drive_minutes", "distance_km", "name"]


class ProspectFilter(StorableText):
    """Filters shared by the prospect list, its exports and the map."""

    site: str | None = Field(None, description="Site code.")
    specialty: str | None = Field(
        None, description="NUCC taxonomy code (e.g. 207X00000X) or classification name."
    )
    min_score: float | None = Field(None, ge=0, le=100)
    segment: str | None = None
    max_drive_minutes: float | None = Field(None, gt=0, le=240)
    group: str | None = Field(None, description="Clinic specialty group, e.g. 'orthopaedics'.")
    min_drive_minutes: float | None = Field(
        None, ge=0, le=240, description="e.g. distant specialists."
    )
    in_catchment: bool | None = Field(
        None,
        description="Only prospects in one of their site's catchments (true) or outside them all "
        "(false); every prospect within the scoring reach is listed otherwise.",
    )
    tier: Literal["A", "B", "C", "lapsed"] | None = Field(
        None, description="Past referral tier of a lapsed referrer ('lapsed' = any)."
    )
    postal_codes: list[str] | None = Field(
        None, max_length=500, description="Geography: ZIP codes."
    )
    city: str | None = Field(None, max_length=100)
    organization_id: JsonId | None = Field(None, description="Organisation (practice) id.")
    status: Literal["new", "contacted", "meeting held", "referring", "not a fit"] | None = Field(
        None, description="Workflow status ('new' = never set); 'not a fit' is hidden otherwise."
    )
    assigned_to: str | None = Field(
        None, max_length=100, description="Liaison the prospect is assigned to."
    )
    service_line: str | None = Field(
        None, max_length=60, description="Service line of the prospect's site (e.g. 'MRI')."
    )
    history: Literal["never referred", "lapsed"] | None = Field(
        None, description="Referral history: never referred, or referred before and lapsed."
    )
    territory_id: JsonId | None = Field(
        None, description="Liaison territory (id) the provider lies in."
    )
    q: str | None = Field(
        None, max_length=100, description="Text in the provider's name or practice name."
    )
    #: The group's NUCC codes, resolved by the service: not an input (not in the schema; a body's
    #: JSON list is not the frozenset a strict model takes).
    group_codes: SkipJsonSchema[frozenset[str] | None] = Field(None, exclude=True)

    model_config = ConfigDict(extra="forbid")

    @field_validator(
        "specialty", "segment", "site", "group", "city", "assigned_to", "service_line", "q"
    )
    @classmethod
    def _strip(cls, v: str | None) -> str | None:
        return v.strip() or None if v is not None else None


class BatchWarning(BaseModel):
    """What a load accepted but reports (:class:`core.notices.LoadWarning`); refuses nothing."""

    code: str = Field(description="The warning's class, e.g. columns_ignored.")
    message: str
    file: str | None = None
    columns: list[str] = Field(
        default_factory=list, description="The file's columns it concerns, as headed in the file."
    )
    count: int | None = Field(
        None, description="How many rows it concerns, when it concerns values (not columns)."
    )
    examples: list[str] = Field(
        default_factory=list, description="A few of the values it concerns, as read."
    )

    def __str__(self) -> str:
        return str(
            LoadWarning(
                code=self.code,
                message=self.message,
                file=self.file,
                columns=tuple(self.columns),
                count=self.count,
                examples=tuple(self.examples),
            )
        )


class BatchReport(BaseModel):
    batch_id: int
    source: str
    file_name: str
    file_hash: str
    status: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    duration_s: float
    rejects: list[dict] = []
    reject_file: str | None = None
    warnings: list[BatchWarning] = Field(
        default_factory=list,
        description="What was loaded but should be seen, e.g. columns no field takes.",
    )


BatchStatus = Literal["running", "committed", "failed", "interrupted"]


class BatchPublic(BaseModel):
    """A load batch as listed (``prm batches list``): outcome, counts, owner and times.

    ``interrupted``: its process stopped (killed, or Ctrl-C) before the load
    ended; its data transaction rolled back. ``owner_host``/``owner_pid`` ran
    it; a running batch is theirs until ``lease_expires_at`` (renewed while
    they live, see :mod:`service.leases`).
    """

    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    file_name: str
    file_hash: str
    status: BatchStatus
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    warnings: list[BatchWarning] = Field(default_factory=list)
    owner_host: str | None = None
    owner_pid: int | None = None
    started_at: datetime
    finished_at: datetime | None = None
    lease_expires_at: datetime | None = None

    @field_validator("warnings", mode="before")
    @classmethod
    def _none_stored(cls, value: Any) -> Any:
        return [] if value is None else value  # batches stored before warnings were


class StageReport(BaseModel):
    stage: str
    detail: dict
    duration_s: float


class HealthPublic(BaseModel):
    status: Literal["ok"]
    database: str
    schema_revision: str | None
    providers: int
    sites: int
    as_of: date | None = None


def _edit_schema(schema: dict[str, Any]) -> None:
    # at least one field besides the note (service.providers.edit_provider refuses an empty edit)
    schema["anyOf"] = [{"required": [name]} for name in schema["properties"] if name != "note"]
    schema["examples"] = [{"phone": "+16145550100", "note": "confirmed by phone"}]


class ProviderEdit(StorableText):
    """A manual correction of golden fields (admin). Registry refreshes never overwrite it."""

    free_text_fields: ClassVar[frozenset[str]] = frozenset({"note"})

    model_config = ConfigDict(extra="forbid", json_schema_extra=_edit_schema)

    first_name: str | None = Field(None, min_length=1, max_length=100)
    last_name: str | None = Field(None, min_length=1, max_length=100)
    credential: str | None = Field(None, max_length=50)
    organization_name: str | None = Field(None, max_length=300)
    taxonomy_code: str | None = Field(None, pattern=r"^[0-9A-Z]{9}X$")
    address_1: str | None = Field(None, min_length=1, max_length=300)
    address_2: str | None = Field(None, max_length=300)
    city: str | None = Field(None, max_length=100)
    state: str | None = Field(None, min_length=2, max_length=2)
    postal_code: str | None = Field(None, pattern=r"^\d{5}$")
    phone: str | None = Field(
        None,
        pattern=r"^(\d{10}|\+[1-9]\d{6,14})$",
        description="E.164 (+16145550100), or ten digits of a US number; stored as E.164.",
    )
    note: str | None = Field(None, max_length=500, description="Why the value was changed.")

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # ten digits: a US number; "+...": read in its own country's plan
        read = normalize_phone(value, country=None if value.startswith("+") else "US")
        if read is None:
            raise ValueError("not a valid phone number (E.164, or ten digits of a US number)")
        return read


class MatchReviewPublic(BaseModel):
    """A borderline record pair of the entity-resolution review queue."""

    id: int
    match_probability: float = Field(description="Fellegi-Sunter match probability in [0, 1].")
    match_weight: float
    left: dict[str, Any] = Field(description="The pair's lower-id source record (key fields).")
    right: dict[str, Any] = Field(description="The other source record.")
    explanation: dict[str, Any] = Field(description="Comparison levels, m, u and weights.")


class PairDecisionResult(BaseModel):
    """A stored reviewer decision on a record pair (lower id first)."""

    left_record_id: int
    right_record_id: int
    decision: Literal["accept", "reject"]
    link: dict[str, Any] | None = Field(
        None, description="The incremental link run's report, with apply=true."
    )


class UnmergeResult(BaseModel):
    record_id: int
    rejected_pairs: int = Field(description="Pairs with the other members now rejected.")
    link: dict[str, Any] | None = Field(
        None, description="The incremental link run's report, with apply=true."
    )


class ExplanationStep(BaseModel):
    """One comparison's contribution to a pair's match weight."""

    comparison: str = Field(description="prior, identifier, a field comparison, term_frequency.")
    level: str
    weight: float
    m: float | None
    u: float | None


class PairExplanation(BaseModel):
    """Why two source records score what they score (Fellegi-Sunter)."""

    left: int = Field(description="The first source record's id.")
    right: int = Field(description="The second source record's id.")
    entity_type: str
    blocking_rule: str | None
    match_weight: float
    match_probability: float
    decision: str | None
    steps: list[ExplanationStep] = Field(
        description="From the prior; the weights sum to match_weight."
    )
    reviewer_decision: Literal["accept", "reject"] | None
    same_cluster: bool = Field(description="Both records are in the same golden record.")


class MergeMember(BaseModel):
    """A source record of a golden record, with its best merge explanation."""

    id: int
    source: str
    source_key: str
    provider_id: int | None
    npi: str | None
    first_name: str | None
    last_name: str | None
    organization_name: str | None
    address_1: str | None
    city: str | None
    postal_code: str | None
    phone: str | None
    taxonomy_code: str | None
    match_probability: float | None
    explanation: dict[str, Any] | None


class MergeDecision(BaseModel):
    left_record_id: int
    right_record_id: int
    decision: Literal["accept", "reject"]
    decided_by: str | None
    note: str | None


class ProviderMerge(BaseModel):
    """How a golden record was assembled."""

    provider_id: int
    display_name: str
    lineage: dict[str, Any] | None = Field(description="Field -> the source it was taken from.")
    members: list[MergeMember]
    decisions: list[MergeDecision]


class FreeTextAlternative(BaseModel):
    provider_id: int
    confidence: float


class FreeTextMatch(BaseModel):
    """A free-text referrer name and the golden record it links to, if any."""

    text: str
    provider_id: int | None = Field(description="Null when no candidate is confident enough.")
    confidence: float
    alternatives: list[FreeTextAlternative]
    hints: dict[str, Any] = Field(
        description="What the text told apart from the name (specialty, city)."
    )


class ProviderAssignment(BaseModel):
    """The site a located active provider reaches fastest by road."""

    provider_id: int
    npi: str | None = None
    site_code: str
    drive_minutes: float
    estimated: bool = Field(description="Straight-line estimate (off the network, or no network).")
    snap_m: float | None = Field(None, description="Metres to the nearest road node.")
    off_network: bool = Field(description="Farther than max_snap_m from a road.")
