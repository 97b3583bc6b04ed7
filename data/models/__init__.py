"""Storage models (SQLAlchemy 2 declarative), shared by SQLite and PostgreSQL + PostGIS.

One ``Base.metadata`` holds every table; importing this package registers
them all, in this order: the base (:mod:`data.models.base`), the registry,
placement, prospect, job and planning tables (:mod:`data.models.tables`), then
the prospecting workflow (:mod:`data.models.prospecting`), security
(:mod:`data.models.security`), matching (:mod:`data.models.matching`), visits (:mod:`data.models.visits`)
and pipeline-run (:mod:`data.models.runs`) tables. The schema itself is created by the Alembic migrations in
``data/migrations``; these models are the one definition both use.
"""

from data.models import matching, prospecting, runs, security, visits
from data.models.base import H3_RESOLUTIONS, NAMING, Base, Located, gist_index, h3_column
from data.models.tables import (
    DRIVE_SORT_ASC,
    DRIVE_SORT_DESC,
    Catchment,
    CatchmentCell,
    ClinicSite,
    Competitor,
    ExpansionCandidate,
    ExpansionScenario,
    Job,
    LoadBatch,
    Organization,
    Prospect,
    Provider,
    ProviderOverride,
    ReferralEvent,
    ReferrerStat,
    SourceRecord,
    SourceRecordHistory,
    Taxonomy,
    Territory,
    TerritoryCell,
    TerritoryPlan,
)

__all__ = [
    "DRIVE_SORT_ASC",
    "DRIVE_SORT_DESC",
    "H3_RESOLUTIONS",
    "NAMING",
    "Base",
    "Catchment",
    "CatchmentCell",
    "ClinicSite",
    "Competitor",
    "ExpansionCandidate",
    "ExpansionScenario",
    "Job",
    "LoadBatch",
    "Located",
    "Organization",
    "Prospect",
    "Provider",
    "ProviderOverride",
    "ReferralEvent",
    "ReferrerStat",
    "SourceRecord",
    "SourceRecordHistory",
    "Taxonomy",
    "Territory",
    "TerritoryCell",
    "TerritoryPlan",
    "gist_index",
    "h3_column",
    "matching",
    "prospecting",
    "runs",
    "security",
    "visits",
]
