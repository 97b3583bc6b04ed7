"""HTTP routers, one module per resource; :data:`V1_ROUTERS` are mounted under ``/v1``."""

from __future__ import annotations

from api.routers import (
    audit_log,
    catchments,
    crm,
    drivetime,
    expansion,
    fhir,
    groups,
    health,
    jobs,
    keys,
    map_page,
    matching,
    privacy,
    prospects,
    providers,
    referrals,
    segments,
    session,
    signin,
    sites,
    territories,
    uploads,
    webhooks,
    workflow,
)

V1_ROUTERS = (
    health.router,
    session.router,
    providers.router,
    sites.router,
    catchments.router,
    prospects.router,
    jobs.router,
    groups.router,
    uploads.router,
    drivetime.router,
    territories.router,
    expansion.router,
    matching.router,
    referrals.router,
    crm.router,
    workflow.router,
    segments.router,
    keys.router,
    audit_log.router,
    privacy.router,
    fhir.router,
    webhooks.router,
)
"""Routers served under ``/v1``; :mod:`api.routers.map_page`, :mod:`api.routers.signin` and
the root health check are served at the top level."""

__all__ = [
    "V1_ROUTERS", "audit_log", "catchments", "crm", "drivetime", "expansion", "fhir", "groups", "health",
    "jobs", "keys", "map_page", "matching", "privacy", "prospects", "providers", "referrals", "segments",
    "session", "signin", "sites", "territories", "uploads", "webhooks", "workflow",
]
