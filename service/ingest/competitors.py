"""The clinic's competitor list: loaded from a file, read by the learned score.

A competitor is another provider of a service line (an imaging centre down
the road); the learned score reads the drive minutes from each prospect to the
nearest competitor of the line (:func:`service.prospecting.learning.competitor_minutes`).

A load replaces the list: the file is the list as the clinic knows it today,
so a competitor missing from it is removed (a warning counts them). Rows
match the stored ones by their ``code`` when the file has one, else by name,
line and place, so a reload of the same file leaves every row unchanged. A
file with no data row changes nothing. The file is read as the sites file is
(:func:`service.ingest.clinic_table.read_table`: headers by their spellings
or a mapping, CSV or ``.xlsx``, one bad row refuses the file) and a row
without coordinates is geocoded offline as a site is; one that cannot be
located is a bad row naming its line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.errors import GeoError, InputError, Problem
from core.notices import ROWS_REMOVED, LoadWarning
from core.safetext import shown
from data.lengths import string_lengths
from data.models import Competitor
from service.context import AppContext
from service.ingest.batches import BatchRun, run_batch
from service.ingest.clinic_table import read_table
from service.ingest.sites import SITE_SYNONYMS
from service.placement.locate import geocode_address, place_point
from service.schemas import BatchReport
from service.wire import StorableText

__all__ = ["COMPETITOR_SYNONYMS", "CompetitorRow", "load_competitors"]

_LENGTHS = string_lengths(Competitor)

#: Field -> accepted header spellings (after :func:`core.columns.header_key`).
COMPETITOR_SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": ("code", "competitor_code", "competitor_id", "id", "external_id"),
    "name": ("name", "competitor", "competitor_name", "facility", "facility_name"),
    "service_line": SITE_SYNONYMS["service_line"],
    **{
        field: SITE_SYNONYMS[field]
        for field in ("address_1", "city", "state", "postal_code", "lat", "lon")
    },
}


class CompetitorRow(StorableText):
    """One row of a competitor file: a name, and coordinates or an address to geocode."""

    code: str | None = Field(None, max_length=_LENGTHS["code"], pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=_LENGTHS["name"])
    service_line: str | None = Field(None, max_length=_LENGTHS["service_line"])
    address_1: str | None = Field(None, max_length=_LENGTHS["address_1"])
    city: str | None = Field(None, max_length=_LENGTHS["city"])
    state: str | None = Field(None, min_length=2, max_length=2)
    postal_code: str | None = Field(None, pattern=r"^\d{5}$")
    lat: float | None = Field(None, ge=-90, le=90)
    # checked when absent too: a row must say where the competitor is
    lon: float | None = Field(None, ge=-180, le=180, validate_default=True)

    @field_validator("lon")
    @classmethod
    def _placed(cls, lon: float | None, info: ValidationInfo) -> float | None:
        data = info.data
        if "lat" not in data:  # lat itself was refused: that is its problem
            return lon
        if (data["lat"] is None) != (lon is None):
            raise ValueError("lat and lon go together: give both or neither")
        address = data.get("address_1") or data.get("postal_code")
        if lon is None and not address and {"address_1", "postal_code"} <= data.keys():
            raise ValueError("no lat/lon and no address (address_1 or postal_code) to locate")
        return lon

    def key(self) -> tuple:
        """What a stored competitor is matched on: its code, else its name, line and place."""
        return competitor_key(self)


def competitor_key(row: CompetitorRow | Competitor) -> tuple:
    """What a competitor is matched on across loads: its code, else its name, line and place
    (the address when it has one, else the coordinates: a geocoded point may move when the
    street index does, the address it came from does not)."""
    if row.code is not None:
        return ("code", row.code)
    by_address = row.address_1 is not None or row.postal_code is not None
    return (
        "place",
        row.name.casefold(),
        (row.service_line or "").casefold(),
        (row.address_1 or "").casefold(),
        row.postal_code or "",
        None if by_address or row.lat is None else (round(row.lat, 6), round(row.lon, 6)),
    )


def load_competitors(
    ctx: AppContext,
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    reject_dir: Path | None = None,
    encoding: str | None = None,
) -> BatchReport:
    """Replace the clinic's competitor list by a file's, as one batch (one transaction).

    Parameters
    ----------
    ctx
        The application context.
    path
        CSV or ``.xlsx``: columns name (required), service_line (blank: it
        competes on every line), code (the list's own id), and lat/lon or an
        address (address_1, city, state, postal_code) geocoded offline;
        :data:`COMPETITOR_SYNONYMS` lists the spellings accepted.
    mapping
        Field -> the file's header, winning over the spellings.
    reject_dir
        Where the reject file goes (a bad row refuses the file).
    encoding
        A CSV's text encoding; ``None`` detects it (:mod:`core.encodings`).

    Returns
    -------
    BatchReport
        Competitors inserted, updated and unchanged; warnings: those removed
        (absent from the file), columns no field takes, a header below line 1,
        an encoding detected.

    Raises
    ------
    SchemaError, EncodingError, InputError
        No name column, a mapping that does not fit, undecodable bytes, or any
        invalid row (a repeated code, an address that cannot be located; all
        listed); nothing is changed then.
    """
    path = Path(path)
    with run_batch(ctx, source="competitors", path=path, reject_dir=reject_dir) as batch:
        rows = read_table(
            path,
            schema=CompetitorRow,
            synonyms=COMPETITOR_SYNONYMS,
            required=("name",),
            what="competitor",
            mapping=mapping,
            encoding=encoding,
            batch=batch,
        )
        placed = _placed_rows(ctx, rows, batch)
        with ctx.sessions.begin() as session:
            if placed:  # a file without a row changes nothing (the report warns of it)
                _replace(session, placed, batch)
            return batch.finish(session, reject_dir)


def _placed_rows(
    ctx: AppContext, rows: list[tuple[int, CompetitorRow]], batch: BatchRun
) -> dict[tuple, tuple[CompetitorRow, float, float]]:
    """The file's competitors by key with their point (an address geocoded offline).

    A repeated code, or an address that cannot be located, is a bad row: the
    file is refused naming every one (InputError).
    """
    file = batch.path.name
    out: dict[tuple, tuple[CompetitorRow, float, float]] = {}
    first_line: dict[tuple, int] = {}
    for line, row in rows:
        key = row.key()
        if key in first_line:
            if row.code is not None:
                batch.rejects.append(
                    Problem(
                        f"code repeated (first on line {first_line[key]})",
                        file=file,
                        line=line,
                        field="code",
                        value=shown(row.code),
                    )
                )
            continue  # the same competitor twice (no code): kept once
        first_line[key] = line
        lat, lon = row.lat, row.lon
        if lat is None or lon is None:
            try:
                lat, lon, _ = geocode_address(
                    ctx, address_1=row.address_1, postal_code=row.postal_code, city=row.city
                )
            except GeoError as exc:
                batch.rejects.extend(
                    Problem(p.message, file=file, line=line, field=p.field, value=p.value)
                    for p in exc.problems
                )
                continue
        out[key] = (row, lat, lon)
    if batch.rejects:
        raise InputError(f"{file}: invalid competitor rows", problems=batch.rejects)
    return out


def _changed(current: Competitor, values: dict, lat: float, lon: float) -> bool:
    fields = any(getattr(current, k) != v for k, v in values.items() if k not in ("lat", "lon"))
    return fields or (current.lat, current.lon) != (lat, lon)


def _replace(
    session: Session, placed: dict[tuple, tuple[CompetitorRow, float, float]], batch: BatchRun
) -> None:
    """Insert, update or keep each competitor of the file; remove those it no longer lists."""
    stored = {competitor_key(c): c for c in session.scalars(select(Competitor))}
    for key, (row, lat, lon) in placed.items():
        values = row.model_dump()
        current = stored.pop(key, None)
        if current is None:
            current = Competitor(**values)
            session.add(current)
            batch.add({"inserted": 1})
        elif _changed(current, values, lat, lon):
            for k, v in values.items():
                setattr(current, k, v)
            batch.add({"updated": 1})
        else:
            batch.add({"unchanged": 1})
            continue
        place_point(current, lat, lon)
    if stored:
        gone = list(stored.values())
        session.execute(delete(Competitor).where(Competitor.id.in_([c.id for c in gone])))
        batch.warn(
            [
                LoadWarning(
                    code=ROWS_REMOVED,
                    message="competitors not in this file were removed (a load replaces the list)",
                    file=batch.path.name,
                    count=len(gone),
                    examples=tuple(c.name for c in gone[:5]),
                )
            ]
        )
    session.flush()
