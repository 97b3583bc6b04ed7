"""Manual corrections of golden records (one transaction per edit).

An edit is stored as one :class:`~data.models.ProviderOverride` per field and
applied to the golden row at once; :mod:`service.linkage.resolve` re-applies every
override after each registry refresh, so a manual value always wins over
registry values (its lineage reads ``manual:<override id>``). A changed
address is geocoded again immediately.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InputError, NotFoundError, Problem
from data.models import Provider, ProviderOverride
from enrichment.golden import display_name
from service.context import AppContext
from service.ingest.taxonomy import taxonomy_code
from service.placement.locate import geocode_address, place_point
from service.queries import get_provider
from service.schemas import ProviderDetail, ProviderEdit

ADDRESS_FIELDS = frozenset({"address_1", "postal_code"})


def edit_provider(
    ctx: AppContext, provider_id: int, edit: ProviderEdit, *, edited_by: str
) -> ProviderDetail:
    """Apply a manual edit to a golden record and keep it across refreshes."""
    changes = edit.model_dump(exclude_unset=True, exclude={"note"})
    if not changes:
        raise InputError("nothing to change", problems=[Problem("give at least one field")])
    with ctx.sessions.begin() as session:
        provider = session.get(Provider, provider_id)
        if provider is None:
            raise NotFoundError(f"no provider with id {provider_id}")
        if "taxonomy_code" in changes and taxonomy_code(session, changes["taxonomy_code"]) is None:
            raise InputError(
                "unknown taxonomy code",
                problems=[
                    Problem(
                        "not a NUCC code", field="taxonomy_code", value=changes["taxonomy_code"]
                    )
                ],
            )
        have = {
            o.field: o
            for o in session.scalars(
                select(ProviderOverride).where(ProviderOverride.provider_id == provider_id)
            )
        }
        for field, value in changes.items():
            override = have.get(field)
            if override is None:
                override = ProviderOverride(provider_id=provider_id, field=field)
                session.add(override)
            override.value, override.edited_by, override.note = value, edited_by, edit.note
        session.flush()
        apply_overrides(session, provider)
        if changes.keys() & ADDRESS_FIELDS:
            lat, lon, precision = geocode_address(
                ctx,
                address_1=provider.address_1,
                postal_code=provider.postal_code,
                city=provider.city,
                country=provider.country,
            )
            place_point(provider, lat, lon)
            provider.geocode_precision = precision
    with ctx.sessions() as session:
        return get_provider(session, provider_id)


def apply_overrides(session: Session, provider: Provider) -> None:
    """Set a golden row's overridden fields, naming the override in the lineage."""
    overrides = session.scalars(
        select(ProviderOverride).where(ProviderOverride.provider_id == provider.id)
    ).all()
    lineage = dict(provider.lineage or {})
    for o in overrides:
        setattr(provider, o.field, o.value)
        lineage[o.field] = f"manual:{o.id}"
    if overrides:
        provider.lineage = lineage
        fields = (
            "entity_type",
            "first_name",
            "middle_name",
            "last_name",
            "credential",
            "organization_name",
        )
        provider.display_name = (
            display_name({f: getattr(provider, f) for f in fields}) or provider.display_name
        )
        classification = (
            taxonomy_code(session, provider.taxonomy_code) if provider.taxonomy_code else None
        )
        provider.classification = classification.classification if classification else None
