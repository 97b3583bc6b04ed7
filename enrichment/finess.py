"""Reader for the FINESS establishment extraction published on data.gouv.fr (etalab).

The file (``etalab-cs1100507-stock-*.csv``) is ``;``-separated without a header
row. Its first line is ``finess;etalab;<n>;YYYY-MM-DD`` (``<n>`` the extract
number, then the extract date); then come ``structureet`` lines (32 fields,
:data:`STRUCTURE_FIELDS`) and ``geolocalisation`` lines
(:data:`GEO_FIELDS`), joined here on ``nofinesset``.

Encoding: current files are UTF-8, older ones Windows-1252. Without
``encoding=`` the whole file is first read by the rule of
:mod:`core.encodings` (a byte-order mark, UTF-16, else UTF-8 or, from its
first non-UTF-8 byte, Windows-1252, which the first result's warning names);
when it decodes in none, :class:`EncodingError` names the encodings tried.

Coordinates: ``sourcecoordet`` names the projected CRS
(``"1,ATLASANTE,96,BAN,EPSG:2154 RGF93 / Lambert-93 (Métropole)"``). Only the
CRSs FINESS uses (:data:`FINESS_CRS`) are accepted; the point is transformed to
WGS84 with pyproj (one cached ``Transformer`` per EPSG code, ``always_xy``) and
must land inside the CRS's area of use. A faulty ``geolocalisation`` line is
rejected (file, line, field); its establishment is still read, without
coordinates.

Commune: ``commune`` is the 3-digit code inside ``departement``; see
:func:`insee_commune_code`. Address: ``numvoie compvoie typvoie voie`` (the
repetition index ``compvoie`` -- ``B``, ``T`` -- follows the number, as written
in French addresses); ``typvoie`` stays the FINESS abbreviation (``R``, ``AV``,
``BD``). Phones are kept in the 10-digit national form
(:func:`enrichment.rpps.normalize_fr_phone`).

Not handled yet: the ``structureej`` (legal entity) extraction and the
equipment/activity files; the file is read three times (encoding check, the
``geolocalisation`` lines, then the establishments), so it must be a file, not a
stream.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pyproj import CRS, Transformer

from core.checks import whole_number
from core.csvio import delimiter_problem, iter_csv_rows
from core.encodings import detect_encoding
from core.errors import InputError, Problem, SchemaError
from core.notices import LoadWarning
from core.progress import ProgressSink, null_progress
from enrichment.records import (
    ReadResult,
    clean_text,
    record_hash,
    record_problems,
    records_frame,
)
from enrichment.rpps import normalize_fr_phone

__all__ = [
    "FINESS_CRS",
    "GEO_FIELDS",
    "OVERSEAS_DEPARTEMENTS",
    "STRUCTURE_FIELDS",
    "FinessHeader",
    "detect_finess_encoding",
    "finess_crs",
    "insee_commune_code",
    "insee_departement",
    "iter_finess",
    "read_finess_header",
    "to_wgs84",
]

#: Fields of a ``structureet`` line, in order.
STRUCTURE_FIELDS: tuple[str, ...] = (
    "section",
    "nofinesset",
    "nofinessej",
    "rs",
    "rslongue",
    "complrs",
    "compldistrib",
    "numvoie",
    "typvoie",
    "voie",
    "compvoie",
    "lieuditbp",
    "commune",
    "departement",
    "libdepartement",
    "ligneacheminement",
    "telephone",
    "telecopie",
    "categetab",
    "libcategetab",
    "categagretab",
    "libcategagretab",
    "siret",
    "codeape",
    "codemft",
    "libmft",
    "codesph",
    "libsph",
    "dateouv",
    "dateautor",
    "datemaj",
    "numuai",
)

#: Record field -> the structureet field it is read from, named in the problems of values that
#: may not be stored.
_READ_FROM = {
    "organization_name": "rslongue",
    "specialty_text": "libcategetab",
    "address_2": "lieuditbp",
    "city": "ligneacheminement",
    "postal_code": "ligneacheminement",
    "source_key": "nofinesset",
    **{f"identifiers.{key}": key for key in ("siret", "categagretab", "mft", "sph")},
    "identifiers.finess_ej": "nofinessej",
    "identifiers.categetab": "categetab",
    "identifiers.ape": "codeape",
    "identifiers.uai": "numuai",
}

#: Fields of a ``geolocalisation`` line, in order.
GEO_FIELDS: tuple[str, ...] = (
    "section",
    "nofinesset",
    "coordxet",
    "coordyet",
    "sourcecoordet",
    "datemaj",
)

#: EPSG codes FINESS coordinates come in -> territory.
FINESS_CRS: dict[int, str] = {
    2154: "Métropole (RGF93 / Lambert-93)",
    5490: "Antilles (RGAF09 / UTM 20N)",
    2972: "Guyane (RGFG95 / UTM 22N)",
    2975: "Réunion (RGR92 / UTM 40S)",
    4471: "Mayotte (RGM04 / UTM 38S)",
    32621: "Saint-Pierre-et-Miquelon (WGS 84 / UTM 21N)",
}

#: FINESS overseas department codes -> INSEE department codes.
OVERSEAS_DEPARTEMENTS: dict[str, str] = {
    "9A": "971",  # Guadeloupe (with Saint-Barthélemy and Saint-Martin)
    "9B": "972",  # Martinique
    "9C": "973",  # Guyane
    "9D": "974",  # La Réunion
    "9E": "975",  # Saint-Pierre-et-Miquelon
    "9F": "976",  # Mayotte
}

_EPSG = re.compile(r"EPSG\s*:\s*(\d+)", re.IGNORECASE)
_NOFINESS = re.compile(r"[0-9][0-9AB][0-9]{7}")
_MAINLAND_DEPT = re.compile(r"0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_AREA_MARGIN_DEG = 1.0


@dataclass(frozen=True)
class FinessHeader:
    """The first line of a FINESS extraction, and the encoding the file is in."""

    number: int
    extract_date: date
    encoding: str


def insee_departement(departement: str) -> str:
    """INSEE department code of a FINESS ``departement`` (``"9A"`` -> ``"971"``).

    Raises
    ------
    ValueError
        When ``departement`` is no FINESS department code.
    """
    code = departement.strip().upper()
    if code in OVERSEAS_DEPARTEMENTS:
        return OVERSEAS_DEPARTEMENTS[code]
    if _MAINLAND_DEPT.fullmatch(code):
        return code
    raise ValueError(f"not a FINESS department code: {departement!r}")


def insee_commune_code(departement: str, commune: str) -> str:
    """Five-character INSEE commune code from FINESS ``departement`` and ``commune``.

    Mainland and Corsica: department + the 3-digit commune (``01`` + ``451`` ->
    ``01451``, ``2A`` + ``004`` -> ``2A004``). Overseas (``9A``..``9F``): the
    commune field already starts with the department's third digit, so the
    code is ``97`` + commune (``9A`` + ``101`` -> ``97101``; Saint-Martin,
    filed under ``9A``, gives ``97801``).

    Raises
    ------
    ValueError
        For an unknown department or a commune that is not 3 digits.
    """
    dept = insee_departement(departement)
    code = commune.strip()
    if not re.fullmatch(r"[0-9]{3}", code):
        raise ValueError(f"commune must be 3 digits, not {commune!r}")
    return "97" + code if len(dept) == 3 else dept + code


def finess_crs(sourcecoordet: str) -> int:
    """EPSG code named in a ``sourcecoordet`` field.

    Raises
    ------
    ValueError
        When no ``EPSG:<code>`` is named, or the code is not one of :data:`FINESS_CRS`.
    """
    m = _EPSG.search(sourcecoordet)
    if m is None:
        raise ValueError("no EPSG code named in sourcecoordet")
    epsg = int(m.group(1))
    if epsg not in FINESS_CRS:
        known = ", ".join(f"EPSG:{c}" for c in FINESS_CRS)
        raise ValueError(f"unknown CRS EPSG:{epsg} (expected one of {known})")
    return epsg


@functools.lru_cache(maxsize=len(FINESS_CRS))
def _transformer(epsg: int) -> tuple[Transformer, tuple[float, float, float, float]]:
    crs = CRS.from_epsg(epsg)
    area = crs.area_of_use
    bounds = (area.west, area.south, area.east, area.north) if area else (-180, -90, 180, 90)
    return Transformer.from_crs(crs, CRS.from_epsg(4326), always_xy=True), bounds


def to_wgs84(x: float, y: float, *, epsg: int) -> tuple[float, float]:
    """Transform projected FINESS coordinates to WGS84 ``(lat, lon)``.

    Parameters
    ----------
    x, y
        Easting and northing in metres.
    epsg
        One of :data:`FINESS_CRS`.

    Raises
    ------
    ValueError
        For an unknown CRS, or a point outside the CRS's area of use (1° margin).
    """
    if epsg not in FINESS_CRS:
        raise ValueError(f"unknown CRS EPSG:{epsg}")
    transformer, (west, south, east, north) = _transformer(epsg)
    lon, lat = transformer.transform(float(x), float(y))
    m = _AREA_MARGIN_DEG
    if not (math.isfinite(lat) and math.isfinite(lon)) or not (
        south - m <= lat <= north + m and west - m <= lon <= east + m
    ):
        raise ValueError(f"point ({x}, {y}) falls outside the area of EPSG:{epsg}")
    return lat, lon


def detect_finess_encoding(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    warnings: list[LoadWarning] | None = None,
) -> str:
    """The encoding a FINESS file decodes in: ``encoding`` if given, else by the rule.

    ``warnings`` receives the warning of an encoding detected (not UTF-8).

    Raises
    ------
    EncodingError
        When the file decodes in none of the encodings tried (all named).
    """
    return detect_encoding(path, encoding=encoding, warnings=warnings)


def read_finess_header(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    warnings: list[LoadWarning] | None = None,
) -> FinessHeader:
    """Check and read the ``finess;etalab;<n>;YYYY-MM-DD`` first line.

    ``warnings`` receives the warning of an encoding detected (not UTF-8).

    Raises
    ------
    SchemaError
        When the first line is not of that form (every fault listed; a first
        line split by another delimiter than ``;`` is one problem naming it).
    EncodingError, InputError
        Undecodable or empty file.
    """
    enc = detect_finess_encoding(path, encoding=encoding, warnings=warnings)
    name = Path(path).name
    line, cells = next(iter_csv_rows(path, encoding=enc, delimiter=";"))
    wrong = delimiter_problem(
        cells, delimiter=";", file=name, line=line, layout="a FINESS extraction"
    )
    if wrong is not None:
        raise SchemaError(f"{name}: {wrong.message}", problems=[wrong])
    problems: list[Problem] = []

    def bad(message: str, fld: str, value: str | None) -> None:
        problems.append(Problem(message, file=name, line=line, field=fld, value=value))

    cells = [c.strip() for c in cells]
    if len(cells) != 4:
        bad(f"first line has {len(cells)} fields, expected 4", "header", ";".join(cells))
        cells = ([*cells, "", "", "", ""])[:4]
    if cells[0].lower() != "finess":
        bad("first field must be 'finess'", "header", cells[0])
    if cells[1].lower() != "etalab":
        bad("second field must be 'etalab'", "header", cells[1])
    if not cells[2].isdigit():
        bad("extract number must be digits", "number", cells[2])
    extract = _parse_date(cells[3])
    if extract is None:
        bad("extract date must be YYYY-MM-DD", "date", cells[3])
    if problems:
        raise SchemaError(
            f"{name} is not a FINESS etalab extraction (first line "
            "'finess;etalab;<n>;YYYY-MM-DD' expected)",
            problems=problems,
        )
    return FinessHeader(number=int(cells[2]), extract_date=extract, encoding=enc)


def _parse_date(text: str | None) -> date | None:
    """ISO date; ``None`` when blank or malformed."""
    if not text or not _ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _read_geolocations(
    path: str | os.PathLike[str], encoding: str, name: str
) -> tuple[dict[str, tuple[float, float]], dict[int, list[Problem]]]:
    """Pass over the file: coordinates by nofinesset, and problems by geolocalisation line."""
    structures: set[str] = set()
    points: dict[str, tuple[float, float]] = {}
    pending: list[tuple[int, str]] = []
    problems: dict[int, list[Problem]] = {}
    rows = iter_csv_rows(path, encoding=encoding, delimiter=";")
    next(rows)
    for line, cells in rows:
        section = cells[0].strip()
        if section == "structureet" and len(cells) > 1:
            structures.add(cells[1].strip())
            continue
        if section != "geolocalisation":
            continue
        found: list[Problem] = []

        def bad(
            message: str, fld: str, value: str | None, line: int = line, found: list = found
        ) -> None:
            found.append(Problem(message, file=name, line=line, field=fld, value=value))

        if len(cells) != len(GEO_FIELDS):
            bad(f"geolocalisation line has {len(cells)} fields, expected 6", "section", None)
        else:
            row = dict(zip(GEO_FIELDS, (c.strip() for c in cells)))
            key = row["nofinesset"]
            try:
                epsg = finess_crs(row["sourcecoordet"])
            except ValueError as exc:
                bad(str(exc), "sourcecoordet", row["sourcecoordet"])
                epsg = None
            try:
                x, y = float(row["coordxet"]), float(row["coordyet"])
            except ValueError:
                bad(
                    "coordinates must be numbers",
                    "coordxet",
                    f"{row['coordxet']};{row['coordyet']}",
                )
                x = y = None
            if key in points:
                bad("second geolocalisation line for this nofinesset", "nofinesset", key)
            elif epsg is not None and x is not None:
                try:
                    points[key] = to_wgs84(x, y, epsg=epsg)
                    pending.append((line, key))
                except ValueError as exc:
                    bad(str(exc), "coordxet", f"{row['coordxet']};{row['coordyet']}")
        if found:
            problems[line] = found
    for line, key in pending:
        if key not in structures:
            points.pop(key, None)
            problems[line] = [
                Problem(
                    "no structureet line for this nofinesset",
                    file=name,
                    line=line,
                    field="nofinesset",
                    value=key,
                )
            ]
    return points, problems


def _parse_structure(
    cells: list[str], *, line: int, name: str, points: dict[str, tuple[float, float]]
) -> tuple[dict[str, Any] | None, list[Problem]]:
    problems: list[Problem] = []

    def bad(message: str, fld: str, value: str | None) -> None:
        problems.append(Problem(message, file=name, line=line, field=fld, value=value))

    if len(cells) == len(STRUCTURE_FIELDS) + 1 and not cells[-1].strip():
        cells = cells[:-1]
    if len(cells) != len(STRUCTURE_FIELDS):
        bad(f"structureet line has {len(cells)} fields, expected 32", "section", None)
        return None, problems
    row = {k: clean_text(v) for k, v in zip(STRUCTURE_FIELDS, cells)}
    key = row["nofinesset"]
    if key is None or not _NOFINESS.fullmatch(key):
        bad("nofinesset must be 9 characters (digits, 2A/2B)", "nofinesset", key)
    if row["rs"] is None and row["rslongue"] is None:
        bad("establishment has no name (rs and rslongue blank)", "rs", None)
    insee = dept = None
    try:
        dept = insee_departement(row["departement"] or "")
        insee = insee_commune_code(row["departement"] or "", row["commune"] or "")
    except ValueError as exc:
        bad(
            str(exc),
            "commune" if dept else "departement",
            row["commune"] if dept else row["departement"],
        )
    dates: dict[str, date | None] = {}
    for fld in ("dateouv", "dateautor", "datemaj"):
        dates[fld] = _parse_date(row[fld])
        if row[fld] is not None and dates[fld] is None:
            bad("malformed date (expected YYYY-MM-DD)", fld, row[fld])
    if problems:
        return None, problems

    routing = row["ligneacheminement"] or ""
    postal = routing[:5] if re.match(r"\d{5}\b", routing) else None
    city = clean_text(routing[5:] if postal else routing)
    street = " ".join(
        p for p in (row["numvoie"], row["compvoie"], row["typvoie"], row["voie"]) if p
    )
    ids = {
        "finess": key,
        "finess_ej": row["nofinessej"],
        "siret": row["siret"],
        "categetab": row["categetab"],
        "categagretab": row["categagretab"],
        "ape": row["codeape"],
        "mft": row["codemft"],
        "sph": row["codesph"],
        "uai": row["numuai"],
        "insee": insee,
        "departement": dept,
    }
    contacts = [
        {"channel": channel, "value": normalize_fr_phone(raw) or raw, "use": "work"}
        for channel, raw in (("phone", row["telephone"]), ("fax", row["telecopie"]))
        if raw
    ]
    lat, lon = points.get(key, (None, None))
    record: dict[str, Any] = {
        "source": "finess",
        "source_key": key,
        "line": line,
        "entity_type": "organization",
        "organization_name": row["rslongue"] or row["rs"],
        "specialty_text": row["libcategetab"],
        "address_1": street or None,
        "address_2": row["lieuditbp"],
        "city": city,
        "postal_code": postal,
        "phone": normalize_fr_phone(row["telephone"]),
        "enumeration_date": dates["dateouv"],
        "last_update_date": dates["datemaj"],
        "is_active": True,
        "country": "FR",
        "identifiers": {k: v for k, v in ids.items() if v},
        "lat": lat,
        "lon": lon,
        "locations": [],
        "contacts": contacts,
    }
    refused = record_problems(record, file=name, line=line, headers=_READ_FROM)
    if refused:
        return None, refused
    record["record_hash"] = record_hash(record)
    return record, []


def iter_finess(
    path: str | os.PathLike[str],
    *,
    chunk_rows: int = 50_000,
    encoding: str | None = None,
    progress: ProgressSink | None = None,
) -> Iterator[ReadResult]:
    """Stream a FINESS extraction as one :class:`ReadResult` per chunk of lines.

    Parameters
    ----------
    path
        ``etalab-cs1100507-stock-*.csv``.
    chunk_rows
        Data lines (``structureet`` and ``geolocalisation``) per chunk.
    encoding
        Text encoding; ``None`` detects it (:mod:`core.encodings`: UTF-8, else cp1252, ...).
    progress
        Receives ``("finess", lines_read, None)`` after each chunk.

    Yields
    ------
    ReadResult
        One record per ``structureet`` line, with ``lat``/``lon`` from its
        ``geolocalisation`` line; rejects of both kinds of lines in file order.

    Raises
    ------
    SchemaError
        Bad first line.
    EncodingError
        Undecodable in every encoding tried.
    InputError
        Empty file.
    """
    problems: list[Problem] = []
    if whole_number(chunk_rows, field="chunk_rows", problems=problems, ge=1) is None:
        raise InputError("chunk_rows must be positive", problems=problems)
    sink = progress or null_progress
    name = Path(path).name
    warnings: list[LoadWarning] = []
    header = read_finess_header(path, encoding=encoding, warnings=warnings)
    points, geo_problems = _read_geolocations(path, header.encoding, name)
    rows = iter_csv_rows(path, encoding=header.encoding, delimiter=";")
    next(rows)
    seen: set[str] = set()
    total = count = 0
    records: list[dict[str, Any]] = []
    rejects: list[Problem] = []
    for line, cells in rows:
        count += 1
        section = cells[0].strip()
        if section == "geolocalisation":
            rejects.extend(geo_problems.get(line, ()))
        elif section == "structureet":
            record, problems = _parse_structure(cells, line=line, name=name, points=points)
            if record is not None and record["source_key"] in seen:
                record, problems = (
                    None,
                    [
                        Problem(
                            "second structureet line for this nofinesset",
                            file=name,
                            line=line,
                            field="nofinesset",
                            value=record["source_key"],
                        )
                    ],
                )
            if record is None:
                rejects.extend(problems)
            else:
                seen.add(record["source_key"])
                records.append(record)
        else:
            rejects.append(
                Problem(
                    "unknown section (expected structureet or geolocalisation)",
                    file=name,
                    line=line,
                    field="section",
                    value=section,
                )
            )
        if count == chunk_rows:
            total += count
            yield ReadResult(records_frame(records), rejects, count, warnings=warnings)
            sink("finess", total, None)
            records, rejects, count, warnings = [], [], 0, []
    if count or total == 0:
        total += count
        yield ReadResult(records_frame(records), rejects, count, warnings=warnings)
        sink("finess", total, None)
