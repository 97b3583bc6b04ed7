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
``BD``). Phones are stored in E.164 (:func:`core.country.normalize_phone`
with the French plan, overseas departments included); one that cannot be read
is left blank with a ``values_dropped`` warning.

Identifiers are checked as their registries define them
(:func:`core.identifiers.identifier_fault`): ``nofinesset`` and ``nofinessej``
(Luhn key; Corsica's ``2A``/``2B`` numbers by shape) and ``siret``; a line with
a faulty one, or one a spreadsheet wrote in scientific notation, is rejected.

Layouts: every ``structureet`` line of a file has as many fields as its first
one. A newer layout with fields after ``numuai`` loads without them, an older
one without the last documented fields loads with them blank, as long as the
fields the product needs (:data:`FINESS_NEEDED`, through ``libcategetab``) are
there; either way a ``layout_drift`` warning names the fields.

Not handled yet: the ``structureej`` (legal entity) extraction and the
equipment/activity files; the file is read three times (encoding check, the
``geolocalisation`` lines, then the establishments), so it must be a file, not a
stream.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from core.checks import whole_number
from core.country import normalize_phone
from core.csvio import delimiter_problem, iter_csv_rows
from core.encodings import detect_encoding
from core.errors import InputError, Problem, SchemaError
from core.identifiers import IdentifierKind, identifier_fault
from core.notices import VALUES_DROPPED, LoadWarning, Tally
from core.progress import ProgressSink, null_progress
from enrichment.finess_geo import (
    FINESS_CRS,
    OVERSEAS_DEPARTEMENTS,
    finess_crs,
    insee_commune_code,
    insee_departement,
    to_wgs84,
)
from enrichment.records import (
    ReadResult,
    clean_text,
    record_hash,
    record_problems,
    records_frame,
)
from enrichment.rpps import layout_drift

__all__ = [
    "FINESS_CRS",
    "FINESS_NEEDED",
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

#: How many leading ``structureet`` fields the product needs (through ``libcategetab``): a
#: file of an older layout with fewer fields than :data:`STRUCTURE_FIELDS` still loads.
FINESS_NEEDED = STRUCTURE_FIELDS.index("libcategetab") + 1

#: structureet field -> the identifier it holds, checked as its registry defines it.
_CHECKED_IDENTIFIERS: dict[str, IdentifierKind] = {
    "nofinesset": "finess",
    "nofinessej": "finess",
    "siret": "siret",
}

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

_NOFINESS = re.compile(r"[0-9][0-9AB][0-9]{7}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class FinessHeader:
    """The first line of a FINESS extraction, and the encoding the file is in."""

    number: int
    extract_date: date
    encoding: str


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
) -> tuple[dict[str, tuple[float, float]], dict[int, list[Problem]], int]:
    """Pass over the file: coordinates by nofinesset, problems by geolocalisation line, and the
    field count of the first structureet line (its layout's width)."""
    structures: set[str] = set()
    width = 0
    points: dict[str, tuple[float, float]] = {}
    pending: list[tuple[int, str]] = []
    problems: dict[int, list[Problem]] = {}
    rows = iter_csv_rows(path, encoding=encoding, delimiter=";")
    next(rows)
    for line, cells in rows:
        section = cells[0].strip()
        if section == "structureet" and len(cells) > 1:
            structures.add(cells[1].strip())
            width = width or _width(cells)
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
    return points, problems, width


def _width(cells: list[str]) -> int:
    """Fields of a structureet line (a trailing empty field, from a final ``;``, not counted)."""
    return len(cells) - 1 if len(cells) > 1 and not cells[-1].strip() else len(cells)


def _layout(width: int, name: str) -> list[LoadWarning]:
    """The ``layout_drift`` warning of a file whose structureet lines have ``width`` fields."""
    documented = len(STRUCTURE_FIELDS)
    if not width or width == documented or width < FINESS_NEEDED:
        return []  # no structureet line; the documented layout; unusable lines, each rejected
    lacking = STRUCTURE_FIELDS[width:]
    new = tuple(f"field {i + 1}" for i in range(documented, width))
    return layout_drift(lacking, new, file=name)


def _structure_row(
    cells: list[str], *, width: int, bad: Callable[[str, str, str | None], None]
) -> dict[str, str | None] | None:
    """A structureet line's fields by name (fields a shorter layout lacks blank), or ``None``."""
    documented = len(STRUCTURE_FIELDS)
    expected = width if width >= FINESS_NEEDED else documented
    count = _width(cells) if len(cells) == expected + 1 else len(cells)
    if count != expected:
        bad(f"structureet line has {len(cells)} fields, expected {expected}", "section", None)
        return None
    padded = [*cells[:count], *([""] * (documented - count))][:documented]
    return {k: clean_text(v) for k, v in zip(STRUCTURE_FIELDS, padded)}


def _parse_structure(
    cells: list[str],
    *,
    line: int,
    name: str,
    points: dict[str, tuple[float, float]],
    width: int = len(STRUCTURE_FIELDS),
    tally: Tally | None = None,
) -> tuple[dict[str, Any] | None, list[Problem]]:
    problems: list[Problem] = []

    def bad(message: str, fld: str, value: str | None) -> None:
        problems.append(Problem(message, file=name, line=line, field=fld, value=value))

    row = _structure_row(cells, width=width, bad=bad)
    if row is None:
        return None, problems
    key = row["nofinesset"]
    if key is None or not _NOFINESS.fullmatch(key):
        bad("nofinesset must be 9 characters (digits, 2A/2B)", "nofinesset", key)
    for fld, kind in _CHECKED_IDENTIFIERS.items():
        fault = None if row[fld] is None else identifier_fault(row[fld], kind=kind)
        if fault is not None and not (fld == "nofinesset" and problems):
            bad(fault, fld, row[fld])
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
        {"channel": channel, "value": normalize_phone(raw, country="FR") or raw, "use": "work"}
        for channel, raw in (("phone", row["telephone"]), ("fax", row["telecopie"]))
        if raw
    ]
    phone = normalize_phone(row["telephone"], country="FR")
    if phone is None and row["telephone"] and tally is not None:
        tally.add(
            VALUES_DROPPED,
            "not a French phone number (left blank)",
            column="telephone",
            value=row["telephone"],
        )
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
        "phone": phone,
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
    points, geo_problems, width = _read_geolocations(path, header.encoding, name)
    warnings += _layout(width, name)
    tally = Tally()
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
            record, problems = _parse_structure(
                cells, line=line, name=name, points=points, width=width, tally=tally
            )
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
    total += count
    warnings += tally.warnings(file=name)
    yield ReadResult(records_frame(records), rejects, count, warnings=warnings)
    sink("finess", total, None)
