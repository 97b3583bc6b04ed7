"""Clinic sites: list (viewer), create and change (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, status

from api.deps import ContextDep, SessionDep, require_role
from api.problems import problem_responses
from service.ingest.sites import create_site, update_site
from service.queries import list_sites
from service.schemas import SiteCreate, SitePublic, SiteUpdate

__all__ = ["router", "site_create", "site_list", "site_update"]

SITE_CODE = Path(
    min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$", description="Site code, e.g. COL-NE."
)

router = APIRouter(
    prefix="/sites",
    tags=["sites"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403),
)

_SITE_EXAMPLE = {
    "id": 1,
    "site_code": "COL-NE",
    "name": "Northeast Imaging",
    "service_line": "MRI",
    "address_1": "1800 E Dublin Granville Rd",
    "city": "Columbus",
    "state": "OH",
    "postal_code": "43229",
    "lat": 40.0846,
    "lon": -82.9768,
}


@router.get(
    "",
    response_model=list[SitePublic],
    summary="List clinic sites",
    responses={200: {"content": {"application/json": {"example": [_SITE_EXAMPLE]}}}},
)
def site_list(session: SessionDep) -> list[SitePublic]:
    """Every clinic site, ordered by site code."""
    return list_sites(session)


@router.post(
    "",
    response_model=SitePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a clinic site (admin)",
    dependencies=[Depends(require_role("admin"))],
    responses={
        201: {"content": {"application/json": {"example": _SITE_EXAMPLE}}},
        **problem_responses(409, 422),
    },
)
def site_create(
    ctx: ContextDep,
    data: Annotated[
        SiteCreate,
        Body(
            openapi_examples={
                "address": {
                    "summary": "Geocoded from its address",
                    "value": {
                        k: v for k, v in _SITE_EXAMPLE.items() if k not in ("id", "lat", "lon")
                    },
                },
                "coordinates": {
                    "summary": "With coordinates",
                    "value": {
                        "site_code": "COL-W",
                        "name": "West Imaging",
                        "service_line": "MRI",
                        "lat": 39.9576,
                        "lon": -83.1260,
                    },
                },
            }
        ),
    ],
) -> SitePublic:
    """Create a site; without ``lat``/``lon`` its address is geocoded on the road network.

    Catchments and prospects of the new site appear after the catchment and
    scoring jobs run. Answers 409 when the code is taken.
    """
    return create_site(ctx, data)


@router.patch(
    "/{site_code}",
    response_model=SitePublic,
    summary="Change a clinic site (admin)",
    dependencies=[Depends(require_role("admin"))],
    responses={
        200: {"content": {"application/json": {"example": _SITE_EXAMPLE}}},
        **problem_responses(404, 422),
    },
)
def site_update(
    ctx: ContextDep,
    site_code: Annotated[str, SITE_CODE],
    data: Annotated[
        SiteUpdate,
        Body(openapi_examples={"rename": {"summary": "Rename", "value": {"name": "NE Imaging"}}}),
    ],
) -> SitePublic:
    """Change the given fields of a site; a new address without coordinates is geocoded.

    Catchments and prospects of a moved site stay stale until recomputed.
    """
    return update_site(ctx, site_code, data)
