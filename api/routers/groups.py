"""Clinic specialty groups (viewer): what ``group=`` accepts in prospect filters."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.deps import ContextDep, SessionDep, require_role
from api.problems import problem_responses
from service.ingest.groups import resolved_groups
from service.ingest.taxonomy import current_version

__all__ = ["SpecialtyGroupPublic", "group_list", "router"]

router = APIRouter(
    prefix="/specialty-groups",
    tags=["specialty groups"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403),
)


class SpecialtyGroupPublic(BaseModel):
    name: str
    classifications: list[str]
    code_prefixes: list[str]
    codes: list[str]
    nucc_version: str | None


@router.get("", response_model=list[SpecialtyGroupPublic], summary="Clinic specialty groups")
def group_list(ctx: ContextDep, session: SessionDep) -> list[SpecialtyGroupPublic]:
    """Each group of the groups file in force with the NUCC codes it covers today."""
    resolved = resolved_groups(ctx, session)
    version = current_version(session)
    return [
        SpecialtyGroupPublic(
            name=name,
            classifications=list(group.classifications),
            code_prefixes=list(group.codes),
            codes=sorted(resolved.get(name, ())),
            nucc_version=version,
        )
        for name, group in ctx.specialty_groups.groups.items()
    ]
