"""Clinic sites: create, update and bulk-load (each call one transaction; a file load is a batch)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ConflictError, NotFoundError
from data.models import ClinicSite, Competitor
from service.context import AppContext
from service.ingest.batches import run_batch
from service.ingest.clinic_table import read_table
from service.placement.locate import geocode_address, place_point
from service.schemas import BatchReport, SiteCreate, SitePublic, SiteUpdate


def locate_place(ctx: AppContext, place: ClinicSite | Competitor) -> None:
    """Place a site or a competitor: its coordinates, else its address geocoded offline."""
    lat, lon = place.lat, place.lon
    if lat is None or lon is None:
        lat, lon, _ = geocode_address(ctx, address_1=place.address_1, postal_code=place.postal_code)
    place_point(place, lat, lon)


def create_site(ctx: AppContext, data: SiteCreate) -> SitePublic:
    """Create a clinic site, geocoding its address when no coordinates are given."""
    with ctx.sessions.begin() as session:
        exists = session.scalar(select(ClinicSite.id).where(ClinicSite.site_code == data.site_code))
        if exists is not None:
            raise ConflictError(f"a site with code {data.site_code!r} already exists")
        site = ClinicSite(**data.model_dump())
        locate_place(ctx, site)
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
        locate_place(ctx, site)
        session.flush()
        return SitePublic.model_validate(site)


#: Field -> accepted header spellings (after :func:`core.columns.header_key`).
SITE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "site_code": ("site_code", "code", "site_id"),
    "name": ("name", "site_name"),
    "service_line": ("service_line", "service", "modality"),
    "address_1": ("address_1", "address", "address1", "street", "street_address"),
    "city": ("city", "town"),
    "state": ("state",),
    "postal_code": ("postal_code", "zip", "zip_code", "zipcode", "postcode"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "lng", "long", "longitude"),
}
SITE_COLUMNS = ("site_code", "name", "service_line")


def load_sites(
    ctx: AppContext,
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    reject_dir: Path | None = None,
    encoding: str | None = None,
) -> BatchReport:
    """Create or update the sites listed in a CSV file, as one batch (one transaction).

    Parameters
    ----------
    ctx
        The application context.
    path
        CSV or ``.xlsx``: columns site_code, name, service_line, and address_1 (or address),
        city, state, postal_code, lat, lon (optional); :data:`SITE_SYNONYMS`
        lists the spellings accepted. A site without coordinates is geocoded.
    mapping
        Field -> the file's header, winning over the spellings.
    reject_dir
        Where the reject file goes (a site file with a bad row is refused whole;
        the file names its rows' problems).
    encoding
        The file's text encoding; ``None`` detects it (:mod:`core.encodings`).

    Returns
    -------
    BatchReport
        Sites inserted, updated and unchanged, and the warnings (columns no
        field takes, a header below line 1, an encoding detected).

    Raises
    ------
    SchemaError, EncodingError, InputError
        A missing column, a mapping that does not fit, undecodable bytes, or
        any invalid row (all listed); nothing is stored then.
    """
    path = Path(path)
    with run_batch(ctx, source="sites", path=path, reject_dir=reject_dir) as batch:
        payloads = read_table(
            path,
            schema=SiteCreate,
            synonyms=SITE_SYNONYMS,
            required=SITE_COLUMNS,
            what="site",
            mapping=mapping,
            encoding=encoding,
            batch=batch,
        )
        with ctx.sessions.begin() as session:
            for _, data in payloads:
                batch.add(_store_site(ctx, session, data))
            return batch.finish(session, reject_dir)


def _store_site(ctx: AppContext, session: Session, data: SiteCreate) -> dict[str, int]:
    """Insert or update one site (geocoded when it has no coordinates); which it was."""
    values = data.model_dump()
    site = session.scalars(select(ClinicSite).where(ClinicSite.site_code == data.site_code)).first()
    if site is None:
        site = ClinicSite(**values)
        session.add(site)
        outcome = "inserted"
    elif any(
        getattr(site, k) != v for k, v in values.items() if v is not None or k not in ("lat", "lon")
    ):
        for key, value in values.items():
            setattr(site, key, value)
        outcome = "updated"
    else:
        return {"unchanged": 1}
    locate_place(ctx, site)
    session.flush()
    return {outcome: 1}
