"""HTTP routers, one module per resource; :data:`V1_ROUTERS` are mounted under ``/v1``."""

from __future__ import annotations

from api.routers import (
    catchments,
    groups,
    health,
    jobs,
    map_page,
    matching,
    prospects,
    providers,
    sites,
    uploads,
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
    matching.router,
)
"""Routers served under ``/v1``; :mod:`api.routers.map_page` and the root health
check are served at the top level."""

__all__ = ["V1_ROUTERS", "catchments", "groups", "health", "jobs", "map_page", "matching", "prospects", "providers", "sites", "uploads"]
