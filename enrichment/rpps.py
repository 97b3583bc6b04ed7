"""Reader for the Annuaire Santé extraction ``PS_LibreAcces_Personne_activite_*.txt`` (RPPS).

The file is UTF-8, ``|``-separated, with a header row and a trailing ``|`` on
every line. Columns are found **by header name** (compared after dropping
accents, case and punctuation), because newer extractions move columns and
add new ones: a file of an older or newer layout loads when the columns the
product needs (:data:`RPPS_REQUIRED`) are there, with a ``layout_drift``
warning naming the documented columns it lacks and the new ones it has (not
read). The savoir-faire columns, which newer extractions move to a separate
file keyed by *Identification nationale PP*, may be absent (``specialty_text``
then falls back to the profession label).

One source record is produced per (practitioner, structure): ``source_key`` is
``"<Identification nationale PP>:<structure>"`` where the structure is the
*Identifiant technique de la structure*, else the site SIRET, else the site
FINESS number, else ``none``. Later lines with a key already seen (the same
practitioner in the same structure under another function or genre
d'activité) are skipped, not rejected, and a ``duplicate_keys`` warning counts
them (the first line of a key is kept).

Identifiers are checked as their registries define them
(:func:`core.identifiers.identifier_fault`): the RPPS number's Luhn key (an
ADELI number's shape), and the site's SIRET, SIREN and FINESS numbers; a row
with a faulty one, or one a spreadsheet wrote in scientific notation, is
rejected naming the column. Phone numbers are stored in E.164
(``"+33145678901"``, :func:`core.country.normalize_phone` with the French
plan); a number that cannot be read is left blank with a ``values_dropped``
warning (the contacts keep it as written).

Not handled yet: the companion savoir-faire file and the ``*_Personne_diplome``
files; addresses abroad keep ``country="FR"`` (the structure's *Code pays*
goes to ``identifiers``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from core.checks import whole_number
from core.country import normalize_phone
from core.csvio import check_delimiter, iter_csv_rows
from core.errors import InputError, Problem, SchemaError
from core.identifiers import IdentifierKind, identifier_fault, spreadsheet_mangled
from core.notices import DUPLICATE_KEYS, LAYOUT_DRIFT, VALUES_DROPPED, LoadWarning, Tally
from core.progress import ProgressSink, null_progress
from core.text import header_key
from enrichment.records import (
    ReadResult,
    chunk_results,
    clean_text,
    record_hash,
    record_problems,
)

__all__ = [
    "RPPS_COLUMNS",
    "RPPS_REQUIRED",
    "iter_rpps",
    "parse_rpps_row",
]

#: The documented 56-column layout, in file order.
RPPS_COLUMNS: tuple[str, ...] = (
    "Type d'identifiant PP",
    "Identifiant PP",
    "Identification nationale PP",
    "Code civilité d'exercice",
    "Libellé civilité exercice",
    "Code civilité",
    "Libellé civilité",
    "Nom d'exercice",
    "Prénom d'exercice",
    "Code profession",
    "Libellé profession",
    "Code catégorie professionnelle",
    "Libellé catégorie professionnelle",
    "Code type savoir-faire",
    "Libellé type savoir-faire",
    "Code savoir-faire",
    "Libellé savoir-faire",
    "Code mode exercice",
    "Libellé mode exercice",
    "Numéro SIRET site",
    "Numéro SIREN site",
    "Numéro FINESS site",
    "Numéro FINESS établissement juridique",
    "Identifiant technique de la structure",
    "Raison sociale site",
    "Enseigne commerciale site",
    "Complément destinataire (coord. structure)",
    "Complément point géographique (coord. structure)",
    "Numéro Voie (coord. structure)",
    "Indice répétition voie (coord. Structure)",
    "Code type de voie (coord. structure)",
    "Libellé type de voie (coord. structure)",
    "Libellé Voie (coord. structure)",
    "Mention distribution (coord. structure)",
    "Bureau cedex (coord. structure)",
    "Code postal (coord. structure)",
    "Code commune (coord. structure)",
    "Libellé commune (coord. structure)",
    "Code pays (coord. structure)",
    "Libellé pays (coord. structure)",
    "Téléphone (coord. structure)",
    "Téléphone 2 (coord. structure)",
    "Télécopie (coord. structure)",
    "Adresse e-mail (coord. structure)",
    "Code département (coord. structure)",
    "Libellé département (coord. structure)",
    "Ancien identifiant de la structure",
    "Autorité d'enregistrement",
    "Code secteur d'activité",
    "Libellé secteur d'activité",
    "Code section tableau pharmaciens",
    "Libellé section tableau pharmaciens",
    "Code fonction",
    "Libellé fonction",
    "Code genre d'activité",
    "Libellé genre d'activité",
)

#: Columns without which the file is refused.
RPPS_REQUIRED: tuple[str, ...] = (
    "Identification nationale PP",
    "Nom d'exercice",
    "Prénom d'exercice",
    "Code profession",
)

_GENDER = {"M": "M", "MME": "F", "MLLE": "F"}
_IDENTIFIER_TYPES = {"8": "rpps", "0": "adeli"}
#: identifiers key -> column.
_IDENTIFIER_COLUMNS = {
    "profession": "Code profession",
    "categorie_professionnelle": "Code catégorie professionnelle",
    "type_savoir_faire": "Code type savoir-faire",
    "savoir_faire": "Code savoir-faire",
    "mode_exercice": "Code mode exercice",
    "siret": "Numéro SIRET site",
    "siren": "Numéro SIREN site",
    "finess": "Numéro FINESS site",
    "finess_ej": "Numéro FINESS établissement juridique",
    "structure": "Identifiant technique de la structure",
    "insee": "Code commune (coord. structure)",
    "departement": "Code département (coord. structure)",
    "pays": "Code pays (coord. structure)",
    "secteur_activite": "Code secteur d'activité",
    "fonction": "Code fonction",
    "genre_activite": "Code genre d'activité",
}
_STREET_PARTS = (
    "Numéro Voie (coord. structure)",
    "Indice répétition voie (coord. Structure)",
    "Libellé type de voie (coord. structure)",
    "Libellé Voie (coord. structure)",
)
_SECOND_LINE = (
    "Complément point géographique (coord. structure)",
    "Mention distribution (coord. structure)",
)
#: Record field -> the column it is read from, named in the problems of values that may not be stored.
_READ_FROM = {
    "first_name": "Prénom d'exercice",
    "last_name": "Nom d'exercice",
    "name_prefix": "Libellé civilité exercice",
    "credential": "Libellé profession",
    "organization_name": "Raison sociale site",
    "specialty_text": "Libellé savoir-faire",
    "city": "Libellé commune (coord. structure)",
    "postal_code": "Code postal (coord. structure)",
    **{f"identifiers.{key}": column for key, column in _IDENTIFIER_COLUMNS.items()},
}
#: Identifier column -> the identifier it holds, checked as its registry defines it.
_CHECKED_IDENTIFIERS: dict[str, IdentifierKind] = {
    "Numéro SIRET site": "siret",
    "Numéro SIREN site": "siren",
    "Numéro FINESS site": "finess",
    "Numéro FINESS établissement juridique": "finess",
}
_NATIONAL_KINDS: dict[str, IdentifierKind] = {"8": "rpps", "0": "adeli"}
_NATIONAL = "Identification nationale PP"


def _resolve_header(raw: list[str], name: str) -> tuple[dict[str, int], list[LoadWarning]]:
    """Column -> index for every known column present, and the layout's drift as a warning.

    SchemaError if required columns lack; documented columns absent and new
    columns present are named in one ``layout_drift`` warning.
    """
    positions: dict[str, int] = {}
    for index, cell in enumerate(raw):
        key = header_key(cell, compact=True)
        if key and key not in positions:
            positions[key] = index
    keys = {col: header_key(col, compact=True) for col in RPPS_COLUMNS}
    found = {col: positions[key] for col, key in keys.items() if key in positions}
    missing = [col for col in RPPS_REQUIRED if col not in found]
    if missing:
        raise SchemaError(
            f"{name} is not an Annuaire Santé PS_LibreAcces_Personne_activite file: "
            f"missing columns {', '.join(missing)}",
            problems=[
                Problem("required column missing", file=name, line=1, field=col) for col in missing
            ],
        )
    known = set(keys.values())
    lacking = tuple(col for col in RPPS_COLUMNS if col not in found)
    new = tuple(
        cell.strip()
        for cell in raw
        if header_key(cell, compact=True) and header_key(cell, compact=True) not in known
    )
    return found, layout_drift(lacking, new, file=name)


def layout_drift(lacking: tuple[str, ...], new: tuple[str, ...], *, file: str) -> list[LoadWarning]:
    """The ``layout_drift`` warning of a registry file (none when its layout is the documented one).

    Parameters
    ----------
    lacking
        Documented columns (or fields) the file does not have.
    new
        The file's columns (or fields) no documented layout has; not read.
    file
        The file's name.
    """
    if not lacking and not new:
        return []
    parts = []
    if lacking:
        parts.append(f"missing columns (left blank): {', '.join(lacking)}")
    if new:
        parts.append(f"new columns (not read): {', '.join(new)}")
    return [
        LoadWarning(
            code=LAYOUT_DRIFT,
            message="layout differs from the documented one; the columns the product needs are "
            "there, so the file loads. " + "; ".join(parts),
            file=file,
            columns=(*lacking, *new),
        )
    ]


def _join(row: Mapping[str, str], columns: tuple[str, ...]) -> str | None:
    parts = [clean_text(row.get(col)) for col in columns]
    return " ".join(p for p in parts if p) or None


def _identifier_problems(
    row: Mapping[str, str], national: str | None, *, line: int, file: str | None
) -> list[Problem]:
    """A problem per identifier of the row that its registry's rule refuses."""
    problems: list[Problem] = []
    if national is not None:
        kind = _NATIONAL_KINDS.get(national[:1])
        if kind is not None and not spreadsheet_mangled(national):
            fault = identifier_fault(national[1:], kind=kind)
        elif spreadsheet_mangled(national):
            fault = identifier_fault(national, kind="rpps")
        else:
            fault = (
                None
                if re.fullmatch(r"[0-9A-Za-z]+", national)
                else f"{_NATIONAL} must be letters and digits"
            )
        if fault is not None:
            problems.append(Problem(fault, file=file, line=line, field=_NATIONAL, value=national))
    for column, kind in _CHECKED_IDENTIFIERS.items():
        value = clean_text(row.get(column))
        fault = None if value is None else identifier_fault(value, kind=kind)
        if fault is not None:
            problems.append(Problem(fault, file=file, line=line, field=column, value=value))
    return problems


def _phone(raw: str | None, tally: Tally | None) -> str | None:
    """The structure's phone in E.164; an unreadable one is left blank and counted."""
    phone = normalize_phone(raw, country="FR")
    if phone is None and raw is not None and tally is not None:
        tally.add(
            VALUES_DROPPED,
            "not a French phone number (left blank)",
            column="Téléphone (coord. structure)",
            value=raw,
        )
    return phone


def parse_rpps_row(
    row: Mapping[str, str],
    *,
    line: int,
    file: str | None = None,
    tally: Tally | None = None,
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Turn one activity line (column name -> raw text) into a standard source record.

    Parameters
    ----------
    row
        The line's cells keyed by the documented column names; absent columns
        count as blank.
    line
        1-based physical line.
    file
        File name used in problem reports.
    tally
        Counts the values left blank (a phone number that cannot be read), for the warnings.

    Returns
    -------
    tuple
        ``(record, [])`` for a good line, ``(None, problems)`` for a rejected
        one (every fault listed).
    """
    problems: list[Problem] = []

    def get(column: str) -> str | None:
        return clean_text(row.get(column))

    national = get(_NATIONAL)
    if national is None:
        problems.append(Problem(f"{_NATIONAL} is missing", file=file, line=line, field=_NATIONAL))
    problems.extend(_identifier_problems(row, national, line=line, file=file))
    if get("Nom d'exercice") is None:
        problems.append(
            Problem("Nom d'exercice is missing", file=file, line=line, field="Nom d'exercice")
        )
    if get("Code profession") is None:
        problems.append(
            Problem("Code profession is missing", file=file, line=line, field="Code profession")
        )
    email = get("Adresse e-mail (coord. structure)")
    if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        problems.append(
            Problem(
                "not an e-mail address",
                file=file,
                line=line,
                field="Adresse e-mail (coord. structure)",
                value=email,
            )
        )
    if problems:
        return None, problems
    assert national is not None

    structure = (
        get("Identifiant technique de la structure")
        or get("Numéro SIRET site")
        or get("Numéro FINESS site")
        or "none"
    )
    identifiers: dict[str, str] = {"pp_national": national}
    id_kind = _IDENTIFIER_TYPES.get(get("Type d'identifiant PP") or "")
    if id_kind and get("Identifiant PP"):
        identifiers[id_kind] = get("Identifiant PP")
    identifiers.update(
        {key: value for key, col in _IDENTIFIER_COLUMNS.items() if (value := get(col))}
    )
    contacts: list[dict[str, Any]] = []
    for column, channel in (
        ("Téléphone (coord. structure)", "phone"),
        ("Téléphone 2 (coord. structure)", "phone"),
        ("Télécopie (coord. structure)", "fax"),
    ):
        raw = get(column)
        if raw is not None:
            contacts.append(
                {
                    "channel": channel,
                    "value": normalize_phone(raw, country="FR") or raw,
                    "use": "work",
                }
            )
    if email is not None:
        contacts.append({"channel": "email", "value": email, "use": "work"})
    civility = get("Code civilité")
    record: dict[str, Any] = {
        "source": "rpps",
        "source_key": f"{national}:{structure}",
        "line": line,
        "npi": None,
        "entity_type": "individual",
        "name_prefix": get("Libellé civilité exercice") or get("Libellé civilité"),
        "first_name": get("Prénom d'exercice"),
        "last_name": get("Nom d'exercice"),
        "credential": get("Libellé profession"),
        "organization_name": get("Raison sociale site") or get("Enseigne commerciale site"),
        "gender": _GENDER.get((civility or "").upper()),
        "specialty_text": get("Libellé savoir-faire") or get("Libellé profession"),
        "address_1": _join(row, _STREET_PARTS),
        "address_2": _join(row, _SECOND_LINE),
        "city": get("Libellé commune (coord. structure)") or get("Bureau cedex (coord. structure)"),
        "postal_code": get("Code postal (coord. structure)"),
        "phone": _phone(get("Téléphone (coord. structure)"), tally),
        "is_active": True,
        "country": "FR",
        "identifiers": identifiers,
        "locations": [],
        "contacts": contacts,
    }
    refused = record_problems(record, file=file, line=line, headers=_READ_FROM)
    if refused:
        return None, refused
    record["record_hash"] = record_hash(record)
    return record, []


def iter_rpps(
    path: str | os.PathLike[str],
    *,
    chunk_rows: int = 50_000,
    encoding: str | None = None,
    progress: ProgressSink | None = None,
) -> Iterator[ReadResult]:
    """Stream an Annuaire Santé activity extraction as one :class:`ReadResult` per chunk.

    Parameters
    ----------
    path
        ``PS_LibreAcces_Personne_activite_*.txt``.
    chunk_rows
        Data lines per chunk.
    encoding
        Text encoding; ``None`` detects it (:mod:`core.encodings`; a detected
        one is a warning of the chunk it was found in).
    progress
        Receives ``("rpps", rows_read, None)`` after each chunk.

    Yields
    ------
    ReadResult
        Records and rejects of one chunk; line numbers are global to the file.
        ``rows_read`` counts skipped repeats of a key too.

    Raises
    ------
    SchemaError
        When required columns are missing (every one listed), or the header
        is split by another delimiter than ``|`` (one problem naming it).
    EncodingError
        Undecodable bytes (file, line, byte offset).
    InputError
        Empty file.
    """
    problems: list[Problem] = []
    if whole_number(chunk_rows, field="chunk_rows", problems=problems, ge=1) is None:
        raise InputError("chunk_rows must be positive", problems=problems)
    sink = progress or null_progress
    name = Path(path).name
    detected: list[LoadWarning] = []
    rows = iter_csv_rows(path, encoding=encoding, delimiter="|", warnings=detected)
    first = next(rows)
    header = first[1]
    check_delimiter(
        header, delimiter="|", file=name, line=first[0], layout="an Annuaire Santé extraction"
    )
    columns, drift = _resolve_header(header, name)
    width = len(header)
    seen: set[str] = set()
    tally = Tally()

    def outcomes() -> Iterator[tuple[dict[str, Any] | None, list[Problem]]]:
        for line, cells in rows:
            # The trailing "|" makes one empty last field; tolerate its absence.
            if len(cells) not in (width, width - 1) or (
                len(cells) == width - 1 and clean_text(header[-1]) is not None
            ):
                yield (
                    None,
                    [
                        Problem(
                            f"line has {len(cells)} fields, header has {width}",
                            file=name,
                            line=line,
                            value="|".join(cells)[:60],
                        )
                    ],
                )
                continue
            row = {col: cells[i] for col, i in columns.items() if i < len(cells)}
            record, problems = parse_rpps_row(row, line=line, file=name, tally=tally)
            if record is not None and record["source_key"] in seen:
                tally.add(
                    DUPLICATE_KEYS,
                    "the same practitioner and structure as an earlier line (another function "
                    "or genre d'activité): the first line's record kept, this one skipped",
                    column=_NATIONAL,
                    value=f"line {line}: {record['source_key']}",
                )
                record = None  # the same practitioner and structure again: skipped, not rejected
            elif record is not None:
                seen.add(record["source_key"])
            yield record, problems

    last: ReadResult | None = None
    for result in chunk_results(outcomes(), chunk_rows=chunk_rows, progress=sink, stage="rpps"):
        result.warnings = [*result.warnings, *detected]
        detected.clear()
        if last is not None:
            yield last
        last = result
    assert last is not None  # chunk_results yields at least one result
    # the warnings of the whole file go with its last chunk, once every line is read
    last.warnings.extend([*drift, *tally.warnings(file=name)])
    yield last
