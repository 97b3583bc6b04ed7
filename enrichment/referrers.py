"""Reader for the clinic's own referrer list (spreadsheet-style CSV or XLSX).

Columns are detected from common header spellings, compared after dropping
case, spaces and punctuation (``"ZIP Code"`` == ``"zip_code"`` == ``"ZIPCODE"``);
a ``mapping`` argument overrides detection. A full-name column
(``"Dr. Robert J. Smith, MD"``, ``"SMITH, ROBERT"``) is split into its parts
unless separate first/last name columns exist. Columns that map to nothing
(referral counts, notes...) are not stored, and the read's warning names them.

The header may sit below a title (:func:`core.columns.locate_header`); a row
is rejected when it has no name (letters, not a placeholder such as ``N/A``)
and no NPI. A file named ``.xlsx`` that is no workbook is refused, saying what
it looks like.

Values are read in each referrer's country (:func:`core.country.record_country`:
the row's ``country`` column when it names one, else ``US``): the postal code
as that country writes them, the phone number in its numbering plan (stored
in E.164, :func:`core.country.normalize_phone`; a number written in
international form, ``+33 1 ...``, is read whatever the country), the state
checked against US states for US rows only. An NPI a spreadsheet wrote in
scientific notation (``1.23457E+09``) is refused, never stored.

Not handled yet: several sheets in one workbook (the first sheet is read), and
more than one address per referrer.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from core.columns import check_mapping, ignored_columns, locate_header
from core.country import country_code, normalize_phone, normalize_postal_code, record_country
from core.csvio import iter_csv_rows
from core.errors import InputError, Problem, SchemaError
from core.identifiers import identifier_fault, luhn_npi_valid, spreadsheet_mangled
from core.notices import LoadWarning
from core.text import normalize_address, normalize_name, normalize_state, split_full_name
from enrichment.records import ReadResult, clean_text, record_hash, record_problems, records_frame

#: Standard field -> accepted header spellings (already squashed: lower case, letters/digits only).
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "source_id": (
        "referrerid",
        "id",
        "referringphysicianid",
        "physicianid",
        "providerid",
        "referringproviderid",
        "doctorid",
        "recordid",
    ),
    "full_name": (
        "referringphysician",
        "referringprovider",
        "referringdoctor",
        "physician",
        "physicianname",
        "doctor",
        "doctorname",
        "name",
        "providername",
        "fullname",
        "referrer",
        "referrername",
        "provider",
    ),
    "first_name": ("firstname", "first", "givenname", "fname", "forename"),
    "middle_name": ("middlename", "middle", "middleinitial", "mi"),
    "last_name": ("lastname", "last", "surname", "familyname", "lname"),
    "credential": ("credential", "credentials", "degree"),
    "npi": ("npi", "npinumber", "npino", "nationalprovideridentifier", "referringnpi"),
    "specialty_text": ("specialty", "speciality", "specialization", "specialisation"),
    "taxonomy_code": ("taxonomy", "taxonomycode"),
    "organization_name": (
        "practice",
        "practicename",
        "group",
        "groupname",
        "organization",
        "organisation",
        "organizationname",
        "clinic",
        "clinicname",
        "facility",
    ),
    "address_1": (
        "address",
        "street",
        "streetaddress",
        "address1",
        "addressline1",
        "street1",
        "officeaddress",
    ),
    "address_2": ("suite", "address2", "addressline2", "street2", "unit", "ste"),
    "city": ("city", "town"),
    "state": ("state", "st", "stateprovince"),
    "postal_code": ("zip", "zipcode", "postalcode", "zip5", "postcode", "zippostalcode"),
    "phone": (
        "phone",
        "telephone",
        "phonenumber",
        "tel",
        "officephone",
        "phoneno",
        "telephonenumber",
    ),
    "country": ("country", "countrycode", "pays"),
}

#: The country of a row whose ``country`` column is absent or blank.
DEFAULT_COUNTRY = "US"

#: Fields a ``mapping`` may name.
MAPPABLE_FIELDS: tuple[str, ...] = tuple(HEADER_SYNONYMS)

_EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
#: Names that are no name (compared in lower case, letters only).
_PLACEHOLDER_NAMES = frozenset({"na", "none", "null", "nil", "unknown", "tbd", "nan", "dr", "md"})


def squash_header(header: str) -> str:
    """Header key for synonym lookup: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", str(header).lower())


def detect_columns(
    headers: list[str],
    *,
    mapping: Mapping[str, str] | None = None,
    file: str | None = None,
    line: int = 1,
) -> dict[str, str]:
    """Map standard fields to the file's headers.

    Parameters
    ----------
    headers
        Header cells as read.
    mapping
        Standard field -> file header; wins over detection.
    file
        File name used in problem reports.
    line
        The header's line, for the problems.

    Returns
    -------
    dict
        Standard field -> header (only the fields found).

    Raises
    ------
    SchemaError
        When ``mapping`` names unknown fields or absent headers, or when no
        name column (full name, last name or practice name) is found.
    """
    found: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        key = squash_header(header)
        for fld, synonyms in HEADER_SYNONYMS.items():
            if key in synonyms and fld not in found and header not in taken:
                found[fld] = header
                taken.add(header)
    mapping = mapping or {}
    check_mapping(mapping, fields=MAPPABLE_FIELDS, headers=headers, file=file, line=line)
    for fld, header in mapping.items():
        found = {k: v for k, v in found.items() if v != header}
        found[fld] = header
    if not {"full_name", "last_name", "organization_name"} & set(found):
        expected = (
            "Referring Physician, Physician, Doctor, Name, Provider Name, Last Name, Practice Name"
        )
        raise SchemaError(
            f"no name column found; headers seen: {', '.join(headers)}; "
            f"expected one like: {expected}",
            problems=[
                Problem(
                    f"no name column found (expected a header like {expected}, or map one "
                    "with --column last_name=Header)",
                    file=file,
                    line=line,
                    value=", ".join(headers),
                )
            ],
        )
    return found


def _not_a_workbook(path: Path, detail: str) -> InputError:
    """The refusal of a file named like a workbook that is none, saying what it looks like."""
    with path.open("rb") as fh:
        head = fh.read(512)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        looks = "an old Excel .xls workbook: save it as .xlsx"
    elif head.lstrip().lower().startswith((b"<!doctype html", b"<html", b"<?xml")):
        looks = "a web page or XML file, not a workbook"
    elif head and b"\x00" not in head:
        looks = "a text file: if it is a CSV, name it .csv"
    else:
        looks = "not a workbook"
    shown = head.split(b"\n", 1)[0][:60].decode("utf-8", errors="replace")
    return InputError(
        f"{path.name} is not an Excel workbook (.xlsx) although its name says so: it looks like "
        f"{looks}",
        problems=[
            Problem(
                f"not an .xlsx workbook ({detail}); it looks like {looks}",
                file=path.name,
                line=1,
                field="file",
                value=shown,
            )
        ],
    )


def _iter_excel_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    if not zipfile.is_zipfile(path):
        raise _not_a_workbook(path, "not a zip archive")
    try:
        frame = pd.read_excel(
            path, header=None, dtype=str, keep_default_na=False, engine="openpyxl"
        )
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _not_a_workbook(path, f"{type(exc).__name__}: {exc}"[:200]) from exc
    if frame.empty:
        raise InputError(
            f"{path.name} is empty", problems=[Problem("file is empty", file=path.name)]
        )
    for number, values in enumerate(frame.itertuples(index=False, name=None), start=1):
        cells = ["" if v is None else str(v) for v in values]
        if any(c.strip() for c in cells):
            yield number, cells


def iter_table_rows(
    path: Path, *, encoding: str | None = None, warnings: list[LoadWarning] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` of a clinic's table: a workbook's first sheet (``.xlsx``), else a CSV.

    The one reader of the files a clinic exports from a spreadsheet (referrer
    lists, competitor lists): :func:`core.csvio.iter_csv_rows` for text,
    ``encoding`` and ``warnings`` as there (a workbook has no text encoding).

    Raises
    ------
    InputError, EncodingError
        A missing file, a file named ``.xlsx`` that is no workbook, an empty
        one; undecodable bytes of a CSV.
    """
    if path.suffix.lower() in _EXCEL_SUFFIXES:
        if not path.is_file():
            raise InputError(
                f"no such file: {path}", problems=[Problem("file not found", file=str(path))]
            )
        return _iter_excel_rows(path)
    return iter_csv_rows(path, encoding=encoding, warnings=warnings)


def _no_name(columns: Mapping[str, str], *, file: str, line: int, value: str | None) -> Problem:
    """The problem of a row with neither a name nor an NPI, naming its name column."""
    return Problem(
        "row has no name and no NPI (nothing identifies the referrer)",
        file=file,
        line=line,
        field=columns.get("full_name")
        or columns.get("last_name")
        or columns.get("organization_name"),
        value=value,
    )


def _is_name(value: str | None) -> bool:
    """Whether a name part names someone: letters, and not a placeholder (``N/A``, ``Unknown``)."""
    letters = re.sub(r"[^\w]|[\d_]", "", value or "").lower()
    return bool(letters) and letters not in _PLACEHOLDER_NAMES


def _content_key(record: Mapping[str, Any]) -> str:
    keys = (
        "npi",
        "first_name",
        "middle_name",
        "last_name",
        "organization_name",
        "address_1",
        "address_2",
        "city",
        "state",
        "postal_code",
        "phone",
        "specialty_text",
    )
    norm = []
    for k in keys:
        v = record.get(k)
        if k in ("first_name", "middle_name", "last_name", "organization_name"):
            v = normalize_name(v) or None
        elif k in ("address_1", "address_2", "city"):
            v = normalize_address(v) or None
        elif k == "phone" and isinstance(v, str) and v.startswith("+1") and len(v) == 12:
            v = v[2:]  # a US number keyed by its ten digits, as before numbers were E.164
        elif isinstance(v, str):
            v = v.upper()
        norm.append(v)
    return hashlib.sha256(json.dumps(norm).encode("utf-8")).hexdigest()[:20]


def _parse_row(
    cells: Mapping[str, str | None], *, line: int, file: str, columns: Mapping[str, str]
) -> tuple[dict[str, Any] | None, list[Problem]]:
    problems: list[Problem] = []

    def get(fld: str) -> str | None:
        return cells.get(columns[fld]) if fld in columns else None

    def bad(message: str, fld: str) -> None:
        problems.append(Problem(message, file=file, line=line, field=columns[fld], value=get(fld)))

    parts = split_full_name(get("full_name")) if get("full_name") else {}
    first = get("first_name") or parts.get("first_name")
    middle = get("middle_name") or parts.get("middle_name")
    last = get("last_name") or parts.get("last_name")
    org = get("organization_name")
    npi = get("npi")
    if not any(_is_name(part) for part in (first, last, org)) and not npi:
        problems.append(_no_name(columns, file=file, line=line, value=get("full_name") or last))
    if npi is not None:
        npi = re.sub(r"\.0$", "", npi)
        if spreadsheet_mangled(npi):
            bad(identifier_fault(npi, kind="npi") or "", "npi")
        elif not luhn_npi_valid(npi):
            bad("NPI is not 10 digits with a valid check digit", "npi")
    country = record_country(get("country"), default=DEFAULT_COUNTRY)
    if get("country") and country_code(get("country")) is None:
        bad("not a country (an ISO code such as US or FR, or its name)", "country")
    postal, phone, state = _located(get, bad, country=country)
    if problems:
        return None, problems
    if not any(_is_name(part) for part in (first, last, org)):  # known by its NPI alone
        first = middle = last = org = None
    person = bool(first or last)
    record: dict[str, Any] = {
        "source": "referrer_list",
        "line": line,
        "npi": npi,
        "entity_type": "individual" if person else "organization" if org else None,
        "name_prefix": parts.get("name_prefix"),
        "first_name": first,
        "middle_name": middle,
        "last_name": last,
        "name_suffix": parts.get("name_suffix"),
        "credential": get("credential") or parts.get("credential"),
        "organization_name": org,
        "taxonomy_code": get("taxonomy_code"),
        "taxonomy_codes": get("taxonomy_code"),
        "specialty_text": get("specialty_text"),
        "address_1": get("address_1"),
        "address_2": get("address_2"),
        "city": get("city"),
        "state": state,
        "postal_code": postal,
        "phone": phone,
        "is_active": True,
        "country": country,
    }
    record["source_key"] = get("source_id") or _content_key(record)
    refused = record_problems(record, file=file, line=line, headers=_read_from(columns))
    if refused:
        return None, refused
    record["record_hash"] = record_hash(record)
    return record, []


def _located(
    get: Callable[[str], str | None], bad: Callable[[str, str], None], *, country: str | None
) -> tuple[str | None, str | None, str | None]:
    """The row's postal code, phone (E.164) and state, each read in the row's country."""
    where = country or "?"
    postal = phone = state = None
    if get("postal_code"):
        postal = normalize_postal_code(get("postal_code"), country=country, pad_short=True)
        if postal is None:
            bad(
                f"not a postal code of {where}" if country != "US" else "not a US ZIP code",
                "postal_code",
            )
    if get("phone"):
        phone = normalize_phone(get("phone"), country=country)
        if phone is None:
            bad(f"not a phone number of {where} (nor in international form, +...)", "phone")
    if get("state") and country == "US":
        state = normalize_state(get("state"))
        if state is None:
            bad("not a US state", "state")
    elif get("state"):
        state = get("state")
    return postal, phone, state


def _read_from(columns: Mapping[str, str]) -> dict[str, str]:
    """Record field -> the file's header it came from (a full-name column for the name parts)."""
    found = {fld: header for fld, header in columns.items() if fld in HEADER_SYNONYMS}
    if "full_name" in columns:
        for part in (
            "name_prefix",
            "first_name",
            "middle_name",
            "last_name",
            "name_suffix",
            "credential",
        ):
            found.setdefault(part, columns["full_name"])
    if "source_id" in columns:
        found["source_key"] = columns["source_id"]
    found["taxonomy_codes"] = found.get("taxonomy_code", "taxonomy_codes")
    return found


def read_referrer_list(
    path: str | os.PathLike[str],
    *,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> ReadResult:
    """Read a referrer list into standard source records.

    ``source_key`` is the list's own id column when there is one, else a hash
    of the normalised row content, so the same rows reordered or in a renamed
    file get the same keys. A row repeating an earlier row's content exactly
    (same key and hash) is the same referrer and is kept once.

    Parameters
    ----------
    path
        ``.csv`` (delimiter sniffed: ``,`` ``;`` tab ``|``) or ``.xlsx`` (first sheet).
    mapping
        Standard field (see :data:`MAPPABLE_FIELDS`) -> header in the file;
        overrides detection.
    encoding
        Text encoding of a CSV; ``None`` detects it (:mod:`core.encodings`).

    Returns
    -------
    ReadResult
        Rows with a bad NPI check digit, ZIP, phone or state, or neither a
        name nor an NPI, are rejected alone, naming the file header at fault;
        its warnings name the columns no field takes, a header found below
        line 1 and an encoding detected (not UTF-8).

    Raises
    ------
    SchemaError
        No name column found, or a ``mapping`` that does not fit (all listed).
    EncodingError, InputError
        Undecodable bytes; empty file; a file named ``.xlsx`` that is no workbook.
    """
    p = Path(path)
    warnings: list[LoadWarning] = []
    rows = iter_table_rows(p, encoding=encoding, warnings=warnings)
    mapped = set((mapping or {}).values())
    spellings = {s for synonyms in HEADER_SYNONYMS.values() for s in synonyms}
    line, headers, rows, found = locate_header(
        rows, known=lambda h: h in mapped or squash_header(h) in spellings, file=p.name
    )
    if not headers:
        raise InputError(f"{p.name} is empty", problems=[Problem("file is empty", file=p.name)])
    columns = detect_columns(headers, mapping=mapping, file=p.name, line=line)
    position = {h: i for i, h in reversed(list(enumerate(headers)))}
    used = {position[h] for h in columns.values()}
    records: list[dict[str, Any]] = []
    rejects: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    rows_read = 0
    for line, raw in rows:
        rows_read += 1
        cells = {h: clean_text(raw[i]) if i < len(raw) else None for h, i in position.items()}
        record, problems = _parse_row(cells, line=line, file=p.name, columns=columns)
        if record is None:
            rejects.extend(problems)
            continue
        key = (record["source_key"], record["record_hash"])
        if key in seen:
            continue
        seen.add(key)
        records.append(record)
    return ReadResult(
        records=records_frame(records),
        rejects=rejects,
        rows_read=rows_read,
        warnings=[*warnings, *found, *ignored_columns(headers, used, file=p.name)],
    )
