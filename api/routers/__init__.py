"""HTTP routers, one module per resource; :data:`V1_ROUTERS` are mounted under ``/v1``."""

from __future__ import annotations

from api.routers import (
    catchments,
    crm,
    drivetime,
    expansion,
    groups,
    health,
    jobs,
    map_page,
    matching,
    prospects,
    providers,
    referrals,
    segments,
    sites,
    territories,
    uploads,
    workflow,
)

V1_ROUTERS = (
    health.router,
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
)
"""Routers served under ``/v1``; :mod:`api.routers.map_page` and the root health
check are served at the top level."""

__all__ = [
    "V1_ROUTERS", "catchments", "crm", "drivetime", "expansion", "groups", "health", "jobs", "map_page",
    "matching", "prospects", "providers", "referrals", "segments", "sites", "territories", "uploads", "workflow",
]
