"""The registry, placement, prospect, job and planning tables.

Spatial selection runs through H3 cell ids stored as indexed BIGINT columns
(``h3_r7``, ``h3_r8``, ``h3_r9`` on every located row; catchments are sets of
cells in :class:`CatchmentCell`), so one query path serves both backends.
Exact distances are computed on ``lat``/``lon``. ``geom`` columns are kept in
step with ``lat``/``lon`` for GIS tools: PostGIS geometries on PostgreSQL (GiST
indexed), WKB on SQLite (see :mod:`data.types`).

The schema is created by the Alembic migrations in ``data/migrations``; the
models here are the single definition both the migrations and the code use.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base, Located, gist_index
from data.types import GeometryColumn, UtcDateTime


class LoadBatch(Base):
    """One load of one file: provenance and the load report."""

    __tablename__ = "load_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40), index=True)
    file_name: Mapped[str] = mapped_column(String(500))
    file_hash: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), default="running")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: what the load accepted but reports (core.notices.LoadWarning dicts), e.g. columns ignored
    warnings: Mapped[list[Any] | None] = mapped_column(JSON)
    # the lease of a running load (service.leases): who runs it, and until when without a heartbeat
    owner_host: Mapped[str | None] = mapped_column(String(255))
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Taxonomy(Base):
    """NUCC Health Care Provider Taxonomy codes, one row per code and code-set version.

    Several versions of the code set live side by side (codes are added and
    retired twice a year); lookups use the newest loaded version
    (:mod:`service.ingest.taxonomy`).
    """

    __tablename__ = "taxonomy"

    code: Mapped[str] = mapped_column(String(10), primary_key=True, index=True)
    grouping: Mapped[str | None] = mapped_column(String(200))
    classification: Mapped[str | None] = mapped_column(String(200), index=True)
    specialization: Mapped[str | None] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(300))
    section: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(10), primary_key=True)


class Organization(Located, Base):
    """A practice, group or facility: an NPI-2 record or a shared practice address."""

    __tablename__ = "organizations"
    __table_args__ = (gist_index("organizations"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_key: Mapped[str] = mapped_column(String(200), unique=True)
    npi: Mapped[str | None] = mapped_column(String(10), index=True)
    name: Mapped[str | None] = mapped_column(String(300))
    address_1: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(5), index=True)
    phone: Mapped[str | None] = mapped_column(String(16))  # E.164: "+" and up to 15 digits
    member_count: Mapped[int] = mapped_column(Integer, default=0)


class Provider(Located, Base):
    """The golden record of one provider (individual or organisation)."""

    __tablename__ = "providers"
    __table_args__ = (gist_index("providers"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_key: Mapped[str] = mapped_column(String(64), unique=True)
    npi: Mapped[str | None] = mapped_column(String(10), index=True)
    entity_type: Mapped[str] = mapped_column(String(12))
    first_name: Mapped[str | None] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100), index=True)
    credential: Mapped[str | None] = mapped_column(String(50))
    organization_name: Mapped[str | None] = mapped_column(String(300))
    display_name: Mapped[str] = mapped_column(String(300))
    taxonomy_code: Mapped[str | None] = mapped_column(String(10), index=True)
    taxonomy_codes: Mapped[str | None] = mapped_column(String(200))
    classification: Mapped[str | None] = mapped_column(String(200))
    specialty_text: Mapped[str | None] = mapped_column(String(200))
    address_1: Mapped[str | None] = mapped_column(String(300))
    address_2: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(5), index=True)
    country: Mapped[str | None] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(16))  # E.164: "+" and up to 15 digits
    gender: Mapped[str | None] = mapped_column(String(1))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivation_date: Mapped[date | None] = mapped_column(Date)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    geocode_precision: Mapped[str] = mapped_column(String(10), default="none")
    lineage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=func.now(), onupdate=func.now()
    )


class SourceRecord(Base):
    """One row of one source file, with provenance and its link to a golden record."""

    __tablename__ = "source_records"
    __table_args__ = (UniqueConstraint("source", "source_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(String(80))
    batch_id: Mapped[int] = mapped_column(ForeignKey("load_batches.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(500))
    line: Mapped[int] = mapped_column(Integer)
    record_hash: Mapped[str] = mapped_column(String(64))
    npi: Mapped[str | None] = mapped_column(String(10), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    match_probability: Mapped[float | None] = mapped_column(Float)
    match_explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: ``record_hash`` when the record was last linked (incremental runs relink changed ones).
    linked_hash: Mapped[str | None] = mapped_column(String(64))


class SourceRecordHistory(Base):
    """Values a source record held before a newer file replaced them."""

    __tablename__ = "source_record_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_record_id: Mapped[int] = mapped_column(
        ForeignKey("source_records.id", ondelete="CASCADE"), index=True
    )
    batch_id: Mapped[int] = mapped_column(ForeignKey("load_batches.id"))
    replaced_by_batch_id: Mapped[int] = mapped_column(ForeignKey("load_batches.id"))
    file_name: Mapped[str] = mapped_column(String(500))
    line: Mapped[int] = mapped_column(Integer)
    record_hash: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    replaced_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class ProviderOverride(Base):
    """A manual edit of one golden field; registry refreshes never overwrite it."""

    __tablename__ = "provider_overrides"
    __table_args__ = (UniqueConstraint("provider_id", "field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(40))
    value: Mapped[Any] = mapped_column(JSON)
    edited_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))
    edited_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class ClinicSite(Located, Base):
    """A clinic site (the service's own locations)."""

    __tablename__ = "clinic_sites"
    __table_args__ = (gist_index("clinic_sites"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    service_line: Mapped[str] = mapped_column(String(60))
    address_1: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=func.now(), onupdate=func.now()
    )


class Competitor(Located, Base):
    """Another provider of a service line near the clinic (the clinic's competitor list).

    ``service_line`` NULL: it competes on every line. ``code`` is the list's
    own id when it has one (a reload matches on it); a reload replaces the
    list (:func:`service.ingest.competitors.load_competitors`).
    """

    __tablename__ = "competitors"
    __table_args__ = (gist_index("competitors"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    service_line: Mapped[str | None] = mapped_column(String(60))
    address_1: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=func.now(), onupdate=func.now()
    )


class Catchment(Base):
    """A catchment of one site: a set of H3 cells plus its outline."""

    __tablename__ = "catchments"
    __table_args__ = (
        UniqueConstraint("site_id", "method", "parameter", "resolution"),
        gist_index("catchments"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("clinic_sites.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(20))
    parameter: Mapped[float] = mapped_column(Float)
    resolution: Mapped[int] = mapped_column(Integer)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    snap_m: Mapped[float | None] = mapped_column(Float)
    cell_count: Mapped[int] = mapped_column(Integer, default=0)
    geom: Mapped[Any | None] = mapped_column(GeometryColumn("GEOMETRY"))
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class CatchmentCell(Base):
    """One H3 cell of a catchment, with its travel cost from the site."""

    __tablename__ = "catchment_cells"

    catchment_id: Mapped[int] = mapped_column(
        ForeignKey("catchments.id", ondelete="CASCADE"), primary_key=True
    )
    h3: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    drive_minutes: Mapped[float | None] = mapped_column(Float)
    distance_km: Mapped[float | None] = mapped_column(Float)


class ReferralEvent(Base):
    """A patient booked with a referrer (no patient identity: an opaque ref at most)."""

    __tablename__ = "referral_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    referral_date: Mapped[date] = mapped_column(Date, index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    referrer_npi: Mapped[str | None] = mapped_column(String(10))
    referrer_name: Mapped[str | None] = mapped_column(String(300))
    link_confidence: Mapped[float | None] = mapped_column(Float)
    service_line: Mapped[str | None] = mapped_column(String(60))
    site_code: Mapped[str | None] = mapped_column(String(40))
    patient_ref: Mapped[str | None] = mapped_column(String(100))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("load_batches.id"))
    line: Mapped[int | None] = mapped_column(Integer)


class ReferrerStat(Base):
    """Referral volume and tier of one referrer, as of a date."""

    __tablename__ = "referrer_stats"

    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)  # max() for the data stamp
    referrals_window: Mapped[int] = mapped_column(Integer)
    referrals_total: Mapped[int] = mapped_column(Integer)
    first_referral: Mapped[date | None] = mapped_column(Date)
    last_referral: Mapped[date | None] = mapped_column(Date)
    trend: Mapped[str | None] = mapped_column(String(10))
    referring: Mapped[bool] = mapped_column(Boolean)
    tier: Mapped[str | None] = mapped_column(String(1), index=True)


#: Sort keys of the prospect list by drive time, prospects without one last either way
#: (literal SQL so the expression indexes below match the ORDER BY exactly).
DRIVE_SORT_ASC = "coalesce(drive_minutes, 1000000.0)"
DRIVE_SORT_DESC = "coalesce(drive_minutes, -1.0)"
_LIST_FILTERS = ("segment", "classification", "taxonomy_code", "in_catchment")


class Prospect(Base):
    """A scored white-space prospect of one site, with its explanation."""

    __tablename__ = "prospects"
    __table_args__ = (
        UniqueConstraint("site_id", "provider_id"),
        # one index per sort of the prospect list (keyset pages: sort value, then id), carrying
        # the filtered columns so a filter rejects an entry without a table lookup (migrations
        # 0011, 0018)
        Index(
            "ix_prospects_list_score",
            "site_id",
            text("score DESC"),
            "id",
            *_LIST_FILTERS,
            "drive_minutes",
            "distance_km",
        ),
        Index(
            "ix_prospects_list_drive",
            "site_id",
            text(DRIVE_SORT_ASC),
            "id",
            *_LIST_FILTERS,
            "score",
            "drive_minutes",
            "distance_km",
        ),
        Index(
            "ix_prospects_list_drive_desc",
            "site_id",
            text(DRIVE_SORT_DESC),
            "id",
            *_LIST_FILTERS,
            "score",
            "drive_minutes",
            "distance_km",
        ),
        Index(
            "ix_prospects_list_distance",
            "site_id",
            "distance_km",
            "id",
            *_LIST_FILTERS,
            "score",
            "drive_minutes",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("clinic_sites.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    profile: Mapped[str] = mapped_column(String(80))
    score: Mapped[float] = mapped_column(Float, index=True)
    segment: Mapped[str] = mapped_column(String(80), index=True)
    taxonomy_code: Mapped[str | None] = mapped_column(String(10), index=True)
    classification: Mapped[str | None] = mapped_column(String(200))
    drive_minutes: Mapped[float | None] = mapped_column(Float)
    distance_km: Mapped[float] = mapped_column(Float)
    proximity_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the provider lies in one of the site's catchments (a list filter; who is scored is
    #: everyone within ``prospect_reach_minutes``); rows stored before migration 0018 did
    in_catchment: Mapped[bool] = mapped_column(Boolean, server_default=true())
    components: Mapped[list[Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=func.now(), index=True
    )  # max() for the data stamp


class Job(Base):
    """A long-running job started through the API, with its progress."""

    __tablename__ = "jobs"
    __table_args__ = (
        # at most one running job of a kind, enforced by the database (no check-then-insert race)
        Index(
            "ix_jobs_one_running",
            "kind",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="running")
    stage: Mapped[str | None] = mapped_column(String(80))
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    # seconds left in the stage at its rate so far (core.progress.Rate); None when unknown
    eta_seconds: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # the lease of a running job (service.leases), as on load_batches
    owner_host: Mapped[str | None] = mapped_column(String(255))
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class TerritoryPlan(Base):
    """One version of a named liaison territory plan (a partition of a region's cells)."""

    __tablename__ = "territory_plans"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    measure: Mapped[str] = mapped_column(String(20))
    k: Mapped[int] = mapped_column(Integer)
    resolution: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(20))
    balance: Mapped[float | None] = mapped_column(Float)
    compactness: Mapped[float] = mapped_column(Float)
    moves: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class Territory(Base):
    """One territory of a plan, assigned to a named liaison."""

    __tablename__ = "territories"
    __table_args__ = (UniqueConstraint("plan_id", "number"), gist_index("territories"))

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("territory_plans.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    liaison: Mapped[str] = mapped_column(String(100))
    load: Mapped[float] = mapped_column(Float)
    share: Mapped[float] = mapped_column(Float)
    cell_count: Mapped[int] = mapped_column(Integer)
    compactness: Mapped[float] = mapped_column(Float)
    contiguous: Mapped[bool] = mapped_column(Boolean)
    geom: Mapped[Any | None] = mapped_column(GeometryColumn("GEOMETRY"))


class TerritoryCell(Base):
    """One H3 cell of a territory plan (spatial selection joins on ``h3``)."""

    __tablename__ = "territory_cells"

    plan_id: Mapped[int] = mapped_column(
        ForeignKey("territory_plans.id", ondelete="CASCADE"), primary_key=True
    )
    h3: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    territory_id: Mapped[int] = mapped_column(
        ForeignKey("territories.id", ondelete="CASCADE"), index=True
    )
    weight: Mapped[float] = mapped_column(Float)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)


class ExpansionScenario(Base):
    """A set of candidate sites evaluated together, with the best N of them."""

    __tablename__ = "expansion_scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    minutes: Mapped[float] = mapped_column(Float)
    measure: Mapped[str] = mapped_column(String(20))
    pick: Mapped[int] = mapped_column(Integer)
    resolution: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(20))
    optimal: Mapped[bool] = mapped_column(Boolean)
    guarantee: Mapped[str] = mapped_column(String(200))
    added: Mapped[float] = mapped_column(Float)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class ExpansionCandidate(Located, Base):
    """A candidate site of a scenario: what it would add and take from existing sites."""

    __tablename__ = "expansion_candidates"
    __table_args__ = (UniqueConstraint("scenario_id", "label"), gist_index("expansion_candidates"))

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("expansion_scenarios.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    pick_order: Mapped[int | None] = mapped_column(Integer)
    cells: Mapped[int] = mapped_column(Integer)
    new_cells: Mapped[int] = mapped_column(Integer)
    overlap_cells: Mapped[int] = mapped_column(Integer)
    white_space_providers: Mapped[float] = mapped_column(Float)
    white_space_potential: Mapped[float] = mapped_column(Float)
    cannibalised_providers: Mapped[float] = mapped_column(Float)
    cannibalised_potential: Mapped[float] = mapped_column(Float)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    snap_m: Mapped[float | None] = mapped_column(Float)
    overlap: Mapped[list[Any] | None] = mapped_column(JSON)
    coverage: Mapped[Any | None] = mapped_column(GeometryColumn("GEOMETRY"))
