"""API keys (role admin): issue (the key is shown once), list, revoke.

The CLI (``prm keys create|list|revoke``) does the same without a running server.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from api.deps import CallerDep, ContextDep, require_role
from api.problems import problem_responses
from service.security.keys import create_key, list_keys, revoke_key
from service.security.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from service.wire import UrlId

__all__ = ["key_create", "key_list", "key_revoke", "router"]

router = APIRouter(
    prefix="/keys",
    tags=["keys"],
    dependencies=[Depends(require_role("admin"))],
    responses=problem_responses(401, 403, 422, 429),
)

_KEY = {
    "id": 3,
    "name": "hubspot sync",
    "person": "Ben Okafor",
    "prefix": "prm_Zk3u9QeX",
    "role": "integration",
    "created_at": "2026-11-25T09:00:00Z",
    "expires_at": "2027-02-23T09:00:00Z",
    "revoked_at": None,
    "created_by": "key:1",
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    summary="Issue an API key (admin); the key is in this answer only",
    responses={
        201: {
            "content": {
                "application/json": {
                    "example": _KEY | {"key": "prm_Zk3u9QeXv0c4m0bV8W3nq1yq9kqkz7mTtq3eM2rS0dA"}
                }
            }
        }
    },
)
def key_create(ctx: ContextDep, body: ApiKeyCreate, caller: CallerDep) -> ApiKeyCreated:
    """Store the key's SHA-256 and return the key once; it cannot be shown again."""
    return create_key(
        ctx,
        name=body.name,
        person=body.person,
        role=body.role,
        days=body.days,
        created_by=caller.actor,
    )


@router.get(
    "",
    response_model=list[ApiKeyPublic],
    summary="List API keys (admin)",
    responses={200: {"content": {"application/json": {"example": [_KEY]}}}},
)
def key_list(
    ctx: ContextDep,
    revoked: Annotated[bool, Query(description="Include revoked keys.")] = True,
) -> list[ApiKeyPublic]:
    """Every stored key, newest first, without the keys themselves."""
    return list_keys(ctx, include_revoked=revoked)


@router.delete(
    "/{key_id}",
    response_model=ApiKeyPublic,
    summary="Revoke an API key (admin)",
    responses=problem_responses(404),
)
def key_revoke(ctx: ContextDep, key_id: Annotated[UrlId, Path()]) -> ApiKeyPublic:
    """Revoke now: the next request with the key is refused (401)."""
    return revoke_key(ctx, key_id)
