"""Clinic sites: create, update and bulk-load (each call one transaction)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import select

from core.errors import ConflictError, InputError, NotFoundError, Problem
from core.safetext import shown
from data.models import ClinicSite
from service.context import AppContext
from service.placement.locate import geocode_address, place_point
from service.schemas import SiteCreate, SitePublic, SiteUpdate


def _locate(ctx: AppContext, site: ClinicSite) -> None:
    lat, lon = site.lat, site.lon
    if lat is None or lon is None:
        lat, lon, _ = geocode_address(ctx, address_1=site.address_1, postal_code=site.postal_code)
    place_point(site, lat, lon)


def create_site(ctx: AppContext, data: SiteCreate) -> SitePublic:
    """Create a clinic site, geocoding its address when no coordinates are given."""
    with ctx.sessions.begin() as session:
        exists = session.scalar(select(ClinicSite.id).where(ClinicSite.site_code == data.site_code))
        if exists is not None:
            raise ConflictError(f"a site with code {data.site_code!r} already exists")
        site = ClinicSite(**data.model_dump())
        _locate(ctx, site)
        session.add(site)
        session.flush()
        return SitePublic.model_validate(site)


def update_site(ctx: AppContext, site_code: str, data: SiteUpdate) -> SitePublic:
    """Change a site; a changed address without coordinates is geocoded again.

    Catchments and prospects of a moved site are stale until ``prm catchments``
    and ``prm score`` run again.
    """
    changes = data.model_dump(exclude_unset=True)
    with ctx.sessions.begin() as session:
        site = session.scalars(select(ClinicSite).where(ClinicSite.site_code == site_code)).first()
        if site is None:
            raise NotFoundError(f"no site with code {site_code!r}")
        moved = {"address_1", "postal_code"} & changes.keys() and not {
            "lat",
            "lon",
        } & changes.keys()
        for key, value in changes.items():
            setattr(site, key, value)
        if moved:
            site.lat = site.lon = None
        _locate(ctx, site)
        session.flush()
        return SitePublic.model_validate(site)


SITE_COLUMNS = ("site_code", "name", "service_line")


def load_sites(ctx: AppContext, path: Path) -> list[SitePublic]:
    """Create or update the sites listed in a CSV file (one transaction for the file).

    Columns: site_code, name, service_line, and address_1/address, city, state,
    postal_code, lat, lon (optional).
    """
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as exc:
        from core.errors import EncodingError

        raise EncodingError(
            f"{path.name} is not UTF-8", problems=[Problem(str(exc), file=path.name)]
        ) from exc
    df = df.rename(columns={"address": "address_1"})
    missing = [c for c in SITE_COLUMNS if c not in df.columns]
    if missing:
        from core.errors import SchemaError

        raise SchemaError(
            f"{path.name}: missing columns",
            problems=[Problem("missing column", file=path.name, line=1, field=c) for c in missing],
        )
    problems: list[Problem] = []
    payloads: list[SiteCreate] = []
    for i, rec in enumerate(df.to_dict("records"), start=2):
        fields = {k: (v or None) for k, v in rec.items() if k in SiteCreate.model_fields}
        try:
            payloads.append(SiteCreate.model_validate(fields, strict=False))  # CSV: all text
        except ValueError as exc:
            for err in getattr(exc, "errors", lambda: [])():
                problems.append(
                    Problem(
                        err["msg"],
                        file=path.name,
                        line=i,
                        field=".".join(map(str, err["loc"])),
                        value=shown(str(err.get("input"))),
                    )  # escaped: the report is stored
                )
    if problems:
        raise InputError(f"{path.name}: invalid site rows", problems=problems)
    out = []
    with ctx.sessions.begin() as session:
        for data in payloads:
            site = session.scalars(
                select(ClinicSite).where(ClinicSite.site_code == data.site_code)
            ).first()
            if site is None:
                site = ClinicSite(**data.model_dump())
                session.add(site)
            else:
                for key, value in data.model_dump().items():
                    setattr(site, key, value)
            _locate(ctx, site)
            session.flush()
            out.append(SitePublic.model_validate(site))
    return out
