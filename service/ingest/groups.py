"""Clinic specialty groups resolved against the NUCC version in force."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.errors import InputError, Problem
from service.context import AppContext
from service.ingest.taxonomy import classification_map
from service.schemas import ProspectFilter


def resolved_groups(ctx: AppContext, session: Session) -> dict[str, frozenset[str]]:
    """Group name -> NUCC codes, for the groups file and NUCC version in force."""
    from prospects.groups import resolve_groups

    taxonomy = classification_map(session)
    if not taxonomy:  # nothing to resolve against until the NUCC code set is loaded
        return {}
    return resolve_groups(ctx.specialty_groups, taxonomy)


def with_group_codes(ctx: AppContext, session: Session, filters: ProspectFilter) -> ProspectFilter:
    """``filters`` with its ``group`` resolved to codes (InputError for an unknown group)."""
    if filters.group is None:
        return filters
    groups = resolved_groups(ctx, session)
    if filters.group not in groups:
        known = ", ".join(sorted(groups)) or "none (load the NUCC code set first)"
        raise InputError(
            "unknown specialty group",
            problems=[Problem(f"known groups: {known}", field="group", value=filters.group)],
        )
    return filters.model_copy(update={"group_codes": groups[filters.group]})
