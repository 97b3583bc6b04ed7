"""Read paths used by the API, the CLI and the map: searches, lists, GeoJSON.

Spatial selection goes through H3 cell ids (the same SQL on SQLite and
PostgreSQL); nothing here writes.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.errors import InputError, NotFoundError, Problem
from core.sequences import chunked
from data.models import (
    Catchment,
    CatchmentCell,
    ClinicSite,
    Prospect,
    Provider,
    ProviderOverride,
    ReferrerStat,
    SourceRecord,
    h3_column,
)
from service.pagination import encode_cursor, keyset
from service.schemas import (
    OverridePublic,
    Page,
    ProviderDetail,
    ProviderPublic,
    SitePublic,
    SourceRecordPublic,
)

MAX_PAGE = 500


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(
            "page size out of range",
            problems=[
                Problem(f"must be between 1 and {MAX_PAGE}", field="limit", value=str(limit))
            ],
        )


def site_by_code(session: Session, site_code: str) -> ClinicSite:
    site = session.scalars(select(ClinicSite).where(ClinicSite.site_code == site_code)).first()
    if site is None:
        raise NotFoundError(f"no site with code {site_code!r}")
    return site


def list_sites(session: Session) -> list[SitePublic]:
    rows = session.scalars(select(ClinicSite).order_by(ClinicSite.site_code)).all()
    return [SitePublic.model_validate(r) for r in rows]


# --------------------------------------------------------------------------- providers

#: The golden record an NPI names when several carry it: an active one first, then the oldest.
NPI_PROVIDER_ORDER = (Provider.is_active.desc(), Provider.id)


def providers_by_npi(session: Session, npis: Collection[str]) -> dict[str, int]:
    """``npi -> provider id`` of the NPIs some golden record carries (:data:`NPI_PROVIDER_ORDER`).

    Parameters
    ----------
    session
        Any session.
    npis
        The NPIs to look up, read a part of at most 900 at a time.
    """
    found: dict[str, int] = {}
    for part in chunked(sorted(set(npis)), 900):
        rows = session.execute(
            select(Provider.npi, Provider.id)
            .where(Provider.npi.in_(part))
            .order_by(Provider.npi, *NPI_PROVIDER_ORDER)
        )
        for npi, provider_id in rows:
            found.setdefault(npi, provider_id)
    return found


def search_providers(
    session: Session,
    *,
    q: str | None = None,
    specialty: str | None = None,
    postal_code: str | None = None,
    entity_type: str | None = None,
    active: bool | None = True,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[ProviderPublic]:
    """Providers matching a name/NPI query and filters, ordered by name then id."""
    _check_limit(limit)
    stmt = select(Provider, ReferrerStat.tier, ReferrerStat.referrals_window).outerjoin(
        ReferrerStat, ReferrerStat.provider_id == Provider.id
    )
    if q:
        term = q.strip()
        if term.isdigit() and len(term) == 10:
            stmt = stmt.where(Provider.npi == term)
        else:
            # a literal substring: % and _ typed by a user match themselves
            stmt = stmt.where(
                func.upper(Provider.display_name).contains(term.upper(), autoescape=True)
            )
    if specialty:
        stmt = stmt.where(
            or_(Provider.taxonomy_code == specialty, Provider.classification == specialty)
        )
    if postal_code:
        stmt = stmt.where(Provider.postal_code == postal_code)
    if entity_type:
        stmt = stmt.where(Provider.entity_type == entity_type)
    if active is not None:
        stmt = stmt.where(Provider.is_active.is_(active))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    stmt = keyset(
        stmt, sort_col=Provider.display_name, id_col=Provider.id, descending=False, cursor=cursor
    ).limit(limit + 1)
    rows = session.execute(stmt).all()
    items = [
        ProviderPublic.model_validate(p).model_copy(update={"tier": tier, "referrals_window": n})
        for p, tier, n in rows[:limit]
    ]
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        nxt = encode_cursor(last.display_name, last.id)
    return Page[ProviderPublic](items=items, next_cursor=nxt, total=total)


def get_provider(session: Session, provider_id: int) -> ProviderDetail:
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFoundError(f"no provider with id {provider_id}")
    stat = session.get(ReferrerStat, provider_id)
    records = session.scalars(
        select(SourceRecord)
        .where(SourceRecord.provider_id == provider_id)
        .order_by(SourceRecord.id)
    ).all()
    overrides = session.scalars(
        select(ProviderOverride)
        .where(ProviderOverride.provider_id == provider_id)
        .order_by(ProviderOverride.field)
    ).all()
    detail = ProviderDetail.model_validate(provider)
    return detail.model_copy(
        update={
            "tier": stat.tier if stat else None,
            "referrals_window": stat.referrals_window if stat else None,
            "source_records": [SourceRecordPublic.model_validate(r) for r in records],
            "overrides": [OverridePublic.model_validate(o) for o in overrides],
        }
    )


# --------------------------------------------------------------------------- prospects


# --------------------------------------------------------------------------- geometry


def catchment_frame(
    session: Session,
    *,
    site_code: str | None = None,
    method: str | None = None,
    parameter: float | None = None,
) -> gpd.GeoDataFrame:
    """Catchment cells as hexagons with their white-space counts (EPSG:4326)."""
    from geo.h3grid import cells_to_geodataframe

    stmt = (
        select(
            ClinicSite.site_code,
            Catchment.id.label("catchment_id"),
            Catchment.method,
            Catchment.parameter,
            Catchment.truncated,
            Catchment.estimated,
            CatchmentCell.h3,
            CatchmentCell.drive_minutes,
            CatchmentCell.distance_km,
        )
        .join(Catchment, Catchment.site_id == ClinicSite.id)
        .join(CatchmentCell, CatchmentCell.catchment_id == Catchment.id)
    )
    if site_code:
        site_by_code(session, site_code)
        stmt = stmt.where(ClinicSite.site_code == site_code)
    if method:
        stmt = stmt.where(Catchment.method == method)
    if parameter is not None:
        stmt = stmt.where(Catchment.parameter == parameter)
    cells = pd.DataFrame(session.execute(stmt).mappings().all())
    if cells.empty:
        return gpd.GeoDataFrame(
            columns=[
                "site_code",
                "method",
                "parameter",
                "h3",
                "white_space",
                "truncated",
                "geometry",
            ],
            geometry="geometry",
            crs="EPSG:4326",
        )
    ws = white_space_by_cell(session, [int(c) for c in cells["catchment_id"].unique()])
    cells = cells.merge(ws, on=["catchment_id", "h3"], how="left")
    cells["white_space"] = cells["white_space"].fillna(0).astype(int)
    return cells_to_geodataframe(
        cells["h3"].to_numpy(), **{c: cells[c].to_numpy() for c in cells.columns if c != "h3"}
    )


def white_space_by_cell(session: Session, catchment_ids: list[int]) -> pd.DataFrame:
    """Prospects per catchment cell: providers in the cell that are prospects of its site."""
    frames = []
    resolutions = session.execute(
        select(Catchment.resolution).where(Catchment.id.in_(catchment_ids)).distinct()
    ).scalars()
    for res in resolutions:  # a provider is matched at the catchment's own resolution
        stmt = (
            select(
                CatchmentCell.catchment_id,
                CatchmentCell.h3,
                func.count(Prospect.id).label("white_space"),
            )
            .join(Catchment, Catchment.id == CatchmentCell.catchment_id)
            .join(Provider, h3_column(Provider, res) == CatchmentCell.h3)
            .join(
                Prospect,
                (Prospect.provider_id == Provider.id) & (Prospect.site_id == Catchment.site_id),
            )
            .where(CatchmentCell.catchment_id.in_(catchment_ids), Catchment.resolution == res)
            .group_by(CatchmentCell.catchment_id, CatchmentCell.h3)
        )
        frames.append(
            pd.DataFrame(session.execute(stmt).all(), columns=["catchment_id", "h3", "white_space"])
        )
    if not frames:
        return pd.DataFrame(columns=["catchment_id", "h3", "white_space"])
    return pd.concat(frames, ignore_index=True)


def catchments_geojson(session: Session, **filters: Any) -> dict:
    """A GeoJSON FeatureCollection (RFC 7946) of catchment hexagons, JSON-safe
    (plain Python numbers, missing values as null)."""
    frame = catchment_frame(session, **filters)
    frame = frame.assign(h3=frame["h3"].map(lambda c: format(int(c), "x")))
    frame = frame.drop(columns=["catchment_id"], errors="ignore")
    return frame.to_geo_dict(na="null", drop_id=False)


def sites_frame(session: Session) -> gpd.GeoDataFrame:
    rows = session.scalars(select(ClinicSite).order_by(ClinicSite.site_code)).all()
    return gpd.GeoDataFrame(
        {
            "site_id": [r.id for r in rows],
            "site_code": [r.site_code for r in rows],
            "name": [r.name for r in rows],
            "service_line": [r.service_line for r in rows],
        },
        geometry=[shapely.Point(r.lon, r.lat) for r in rows],
        crs="EPSG:4326",
    )
