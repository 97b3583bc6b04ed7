"""Clinic sites: create, update and bulk-load (each call one transaction; a file load is a batch)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.columns import ignored_columns, locate_header, match_headers, spelled_or_mapped
from core.csvio import iter_csv_rows
from core.errors import ConflictError, InputError, NotFoundError, Problem, SchemaError
from core.safetext import shown
from data.models import ClinicSite
from service.context import AppContext
from service.ingest.batches import BatchRun, run_batch
from service.placement.locate import geocode_address, place_point
from service.schemas import BatchReport, SiteCreate, SitePublic, SiteUpdate


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
        Columns site_code, name, service_line, and address_1 (or address),
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
        payloads = _read_sites(path, mapping, encoding, batch)
        with ctx.sessions.begin() as session:
            for data in payloads:
                batch.add(_store_site(ctx, session, data))
            return batch.finish(session, reject_dir)


def _read_sites(
    path: Path, mapping: Mapping[str, str] | None, encoding: str | None, batch: BatchRun
) -> list[SiteCreate]:
    """The file's sites (its rows read and warnings kept on ``batch``).

    A bad row is a reject of ``batch`` and refuses the file: InputError naming every bad row.
    """
    rows = iter_csv_rows(path, encoding=encoding, warnings=batch.warnings)  # an empty file raises
    known = spelled_or_mapped(SITE_SYNONYMS, mapping)
    line, header, rows, warnings = locate_header(rows, known=known, file=path.name)
    batch.warn(warnings)
    found, problems = match_headers(
        header, synonyms=SITE_SYNONYMS, mapping=mapping, file=path.name, line=line
    )
    problems += [
        Problem("missing column", file=path.name, line=line, field=c)
        for c in SITE_COLUMNS
        if c not in found and not problems
    ]
    if problems:
        raise SchemaError(f"{path.name}: missing or unusable columns", problems=problems)
    payloads: list[SiteCreate] = []
    for line, cells in rows:
        batch.rows_read += 1
        if len(cells) != len(header):
            batch.rejects.append(
                Problem(
                    f"expected {len(header)} fields, found {len(cells)}", file=path.name, line=line
                )
            )
            continue
        fields = {name: cells[index].strip() or None for name, index in found.items()}
        try:
            payloads.append(SiteCreate.model_validate(fields, strict=False))  # CSV: all text
        except ValidationError as exc:
            batch.rejects.extend(
                _row_problems(exc, file=path.name, line=line, found=found, header=header)
            )
    if batch.rejects:
        raise InputError(f"{path.name}: invalid site rows", problems=batch.rejects)
    batch.warn(ignored_columns(header, set(found.values()), file=path.name))
    return payloads


def _row_problems(
    exc: ValidationError, *, file: str, line: int, found: Mapping[str, int], header: list[str]
) -> list[Problem]:
    """A refused row's problems, each naming the file's column (values escaped: reports are stored)."""
    problems = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else ""
        column = header[found[name]] if name in found else ".".join(map(str, err["loc"]))
        problems.append(
            Problem(
                err["msg"], file=file, line=line, field=column, value=shown(str(err.get("input")))
            )
        )
    return problems


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
    _locate(ctx, site)
    session.flush()
    return {outcome: 1}
