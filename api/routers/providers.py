"""Provider search and detail (role viewer)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from api.deps import ContextDep, CursorQuery, SessionDep, require_role
from api.problems import problem_responses
from service.linkage.providers import edit_provider
from service.queries import MAX_PAGE, get_provider, search_providers
from service.schemas import Page, ProviderDetail, ProviderEdit, ProviderPublic
from service.wire import UrlId, url_int

__all__ = ["provider_detail", "provider_edit", "provider_list", "router"]

router = APIRouter(
    prefix="/providers",
    tags=["providers"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403, 422),
)

_PROVIDER_EXAMPLE = {
    "id": 1201,
    "npi": "1234567893",
    "entity_type": "individual",
    "display_name": "JANE Q DOE MD",
    "first_name": "JANE",
    "last_name": "DOE",
    "credential": "MD",
    "organization_name": None,
    "taxonomy_code": "207X00000X",
    "classification": "Orthopaedic Surgery",
    "address_1": "500 S HIGH ST",
    "address_2": None,
    "city": "COLUMBUS",
    "state": "OH",
    "postal_code": "43215",
    "phone": "+16145550100",
    "is_active": True,
    "lat": 39.9551,
    "lon": -82.9988,
    "geocode_precision": "street",
    "organization_id": 77,
    "tier": "B",
    "referrals_window": 9,
}


@router.get(
    "",
    response_model=Page[ProviderPublic],
    summary="Search providers",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "items": [_PROVIDER_EXAMPLE],
                        "next_cursor": "WyJKQU5FIiwxMjAxXQ",
                        "total": 1,
                    }
                }
            }
        }
    },
)
def provider_list(
    session: SessionDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Name fragment, or a 10-digit NPI.")
    ] = None,
    specialty: Annotated[
        str | None, Query(max_length=200, description="NUCC taxonomy code or classification.")
    ] = None,
    postal_code: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    entity_type: Annotated[Literal["individual", "organization"] | None, Query()] = None,
    active: Annotated[bool | None, Query(description="Active providers only (default).")] = True,
    limit: Annotated[url_int(ge=1, le=MAX_PAGE), Query()] = 50,
    cursor: CursorQuery = None,
) -> Page[ProviderPublic]:
    """Providers matching a name or NPI query and filters, ordered by name then id.

    Pass ``next_cursor`` back as ``cursor`` to walk every match exactly once.
    """
    return search_providers(
        session,
        q=q,
        specialty=specialty,
        postal_code=postal_code,
        entity_type=entity_type,
        active=active,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/{provider_id}",
    response_model=ProviderDetail,
    summary="One provider with its source records",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": _PROVIDER_EXAMPLE
                    | {
                        "lineage": {"address_1": "nppes"},
                        "source_records": [
                            {
                                "source": "nppes",
                                "source_key": "1234567893",
                                "file_name": "npidata_pfile.csv",
                                "line": 42,
                                "match_probability": None,
                                "match_explanation": None,
                            }
                        ],
                    }
                }
            }
        },
        **problem_responses(404),
    },
)
def provider_detail(session: SessionDep, provider_id: Annotated[UrlId, Path()]) -> ProviderDetail:
    """The golden record of one provider, its referral tier and the rows it was built from."""
    return get_provider(session, provider_id)


@router.patch(
    "/{provider_id}",
    response_model=ProviderDetail,
    summary="Correct a provider's golden record (admin)",
    responses=problem_responses(404, 422),
)
def provider_edit(
    ctx: ContextDep,
    provider_id: Annotated[UrlId, Path()],
    edit: ProviderEdit,
    role: Annotated[str, Depends(require_role("admin"))],
) -> ProviderDetail:
    """Store a manual correction; later registry refreshes never overwrite it.

    Each changed field is kept as an override (listed in ``overrides``; its
    lineage reads ``manual:<id>``); a changed address is geocoded again.
    """
    return edit_provider(ctx, provider_id, edit, edited_by=f"{role} API key")
