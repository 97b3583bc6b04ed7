"""Reader for the NPPES ``npidata_pfile`` CSV (the NPI registry dissemination file).

Both the current 330-column layout and the 2016-era 329-column layout are
accepted (see :mod:`enrichment.nppes_layout`); columns are found by name.
The file is streamed with :mod:`csv` in chunks, so a 9 GB monthly file is never
held in memory by :func:`iter_nppes`. The source is a path or an open stream
(binary or text), so a member of the dissemination zip is read straight from
the archive (see :mod:`enrichment.nppes_zip`); the companion files are read by
:mod:`enrichment.nppes_companions`.

Each record's ``country`` is the practice address's country code (``US`` when
blank); ``identifiers`` holds the EIN when CMS publishes one (never a masked or
``<UNAVAIL>`` value), the "Other Provider Identifier" slots under ``"other"``
and the main file's other organisation name under ``"other_names"``.
Non-US postal codes are kept as written (US ones are cut to five digits).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from core.csvio import Source, iter_csv_rows, source_name
from core.errors import Problem
from core.identifiers import luhn_npi_valid
from core.progress import ProgressSink, null_progress
from enrichment.normalize import normalize_phone, normalize_postal_code
from enrichment.nppes_layout import TAXONOMY_SLOTS, detect_layout
from enrichment.records import (
    ReadResult,
    chunk_results,
    clean_text,
    combine_results,
    record_hash,
)

#: What the readers accept as input: a path, or an open binary or text stream.
NppesSource = Source

_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_DATE_FIELDS = {
    "enumeration_date": "Provider Enumeration Date",
    "last_update_date": "Last Update Date",
    "deactivation_date": "NPI Deactivation Date",
    "reactivation_date": "NPI Reactivation Date",
}
_TEXT_FIELDS = {
    "name_prefix": "Provider Name Prefix Text",
    "first_name": "Provider First Name",
    "middle_name": "Provider Middle Name",
    "last_name": "Provider Last Name (Legal Name)",
    "name_suffix": "Provider Name Suffix Text",
    "credential": "Provider Credential Text",
    "organization_name": "Provider Organization Name (Legal Business Name)",
    "address_1": "Provider First Line Business Practice Location Address",
    "address_2": "Provider Second Line Business Practice Location Address",
    "city": "Provider Business Practice Location Address City Name",
    "state": "Provider Business Practice Location Address State Name",
}
_POSTAL = "Provider Business Practice Location Address Postal Code"
_PHONE = "Provider Business Practice Location Address Telephone Number"
_COUNTRY = "Provider Business Practice Location Address Country Code (If outside U.S.)"
_EIN = "Employer Identification Number (EIN)"
_EIN_FORMAT = re.compile(r"\d{2}-?\d{7}")
_OTHER_ID_SLOTS = 50
_OTHER_ID_FIELDS = {
    "identifier": "Other Provider Identifier_{}",
    "type_code": "Other Provider Identifier Type Code_{}",
    "state": "Other Provider Identifier State_{}",
    "issuer": "Other Provider Identifier Issuer_{}",
}
_OTHER_ORG_NAME = "Provider Other Organization Name"
_OTHER_ORG_TYPE = "Provider Other Organization Name Type Code"
_GENDER_COLUMNS = ("Provider Sex Code", "Provider Gender Code")
_ENTITY_TYPES = {"1": "individual", "2": "organization"}


def parse_nppes_date(value: str | None) -> date | None:
    """Parse an NPPES ``MM/DD/YYYY`` date; blank gives ``None``.

    Raises
    ------
    ValueError
        For anything else, including impossible dates such as ``02/30/2020``.
    """
    text = clean_text(value)
    if text is None:
        return None
    m = _DATE.fullmatch(text)
    if not m:
        raise ValueError(f"not an MM/DD/YYYY date: {text!r}")
    month, day, year = (int(g) for g in m.groups())
    return date(year, month, day)


def _primary_taxonomy(codes: list[str | None], switches: list[str | None]) -> str | None:
    for code, switch in zip(codes, switches):
        if code and switch and switch.upper() == "Y":
            return code
    present = [c for c in codes if c]
    if len(present) == 1:
        return present[0]
    return codes[0] if codes else None


#: Column names of each "Other Provider Identifier" slot, built once.
_OTHER_ID_COLUMNS: tuple[dict[str, str], ...] = tuple(
    {key: column.format(i) for key, column in _OTHER_ID_FIELDS.items()}
    for i in range(1, _OTHER_ID_SLOTS + 1)
)


def _identifiers(row: Mapping[str, str]) -> dict[str, Any] | None:
    found: dict[str, Any] = {}
    ein = clean_text(row.get(_EIN))
    if ein is not None and _EIN_FORMAT.fullmatch(ein):  # masked / <UNAVAIL> EINs are dropped
        found["ein"] = ein
    others = []
    for slot in _OTHER_ID_COLUMNS:  # 50 slots, nearly all empty: test the raw text first
        raw = row.get(slot["identifier"])
        if not raw or not raw.strip():
            continue
        others.append({key: clean_text(row.get(column)) for key, column in slot.items()})
    if others:
        found["other"] = others
    other_name = clean_text(row.get(_OTHER_ORG_NAME))
    if other_name is not None:
        found["other_names"] = [
            {"name": other_name, "type_code": clean_text(row.get(_OTHER_ORG_TYPE))}
        ]
    return found or None


def parse_nppes_row(
    row: Mapping[str, str], *, line: int, file: str | None = None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Turn one NPPES row (column name -> raw text) into a standard source record.

    Parameters
    ----------
    row
        The row's cells keyed by header name (either layout).
    line
        1-based physical line the row starts on.
    file
        File name used in problem reports.

    Returns
    -------
    tuple
        ``(record, [])`` for a good row, ``(None, problems)`` for a rejected one;
        ``problems`` lists every fault of the row.
    """
    problems: list[Problem] = []

    def bad(message: str, column: str, value: str | None) -> None:
        problems.append(Problem(message, file=file, line=line, field=column, value=value))

    npi = clean_text(row.get("NPI"))
    if npi is None:
        bad("NPI is missing", "NPI", None)
    elif not luhn_npi_valid(npi):
        bad("NPI is not 10 digits with a valid check digit", "NPI", npi)

    dates: dict[str, date | None] = {}
    for key, column in _DATE_FIELDS.items():
        try:
            dates[key] = parse_nppes_date(row.get(column))
        except ValueError:
            dates[key] = None
            bad("malformed date (expected MM/DD/YYYY)", column, clean_text(row.get(column)))

    raw_type = clean_text(row.get("Entity Type Code"))
    entity_type = _ENTITY_TYPES.get(raw_type or "")
    if raw_type is None:
        if dates.get("deactivation_date") is None and not any(
            p.field == "NPI Deactivation Date" for p in problems
        ):
            bad(
                "Entity Type Code is empty on an NPI that is not deactivated",
                "Entity Type Code",
                None,
            )
    elif entity_type is None:
        bad("Entity Type Code must be 1 or 2", "Entity Type Code", raw_type)

    replacement = clean_text(row.get("Replacement NPI"))
    if replacement is not None and not luhn_npi_valid(replacement):
        bad("Replacement NPI is not a valid NPI", "Replacement NPI", replacement)

    if problems:
        return None, problems

    codes = [
        clean_text(row.get(f"Healthcare Provider Taxonomy Code_{i}"))
        for i in range(1, TAXONOMY_SLOTS + 1)
    ]
    switches = [
        clean_text(row.get(f"Healthcare Provider Primary Taxonomy Switch_{i}"))
        for i in range(1, TAXONOMY_SLOTS + 1)
    ]
    gender = next((clean_text(row.get(c)) for c in _GENDER_COLUMNS if clean_text(row.get(c))), None)
    deactivated, reactivated = dates["deactivation_date"], dates["reactivation_date"]
    country = (clean_text(row.get(_COUNTRY)) or "US").upper()
    postal = clean_text(row.get(_POSTAL))
    record: dict[str, Any] = {
        "source": "nppes",
        "source_key": npi,
        "line": line,
        "npi": npi,
        "entity_type": entity_type,
        **{key: clean_text(row.get(column)) for key, column in _TEXT_FIELDS.items()},
        "gender": gender.upper() if gender else None,
        "taxonomy_code": _primary_taxonomy(codes, switches),
        "taxonomy_codes": ";".join(c for c in codes if c) or None,
        "specialty_text": None,
        "postal_code": normalize_postal_code(postal) if country == "US" else postal,
        "phone": normalize_phone(clean_text(row.get(_PHONE))),
        **dates,
        "replacement_npi": replacement,
        "is_active": deactivated is None
        or (reactivated is not None and reactivated >= deactivated),
        "country": country,
        "identifiers": _identifiers(row),
    }
    record["record_hash"] = record_hash(record)
    return record, []


def iter_source_rows(
    source: NppesSource, *, name: str | None = None, encoding: str | None = None
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line, fields)`` for every non-blank comma-separated record of a source.

    Paths and streams alike go through :func:`core.csvio.iter_csv_rows` (strict
    decoding naming line and byte offset, BOM stripped, physical line numbers,
    empty input refused). Text streams should be opened with ``newline=""`` so
    quoted line breaks survive.

    Parameters
    ----------
    source
        CSV path, or an open binary or text stream (e.g. a zip member).
    name
        Name used in problem reports; defaults to the file or stream name.
    encoding
        Codec of a path or binary stream; ``None`` means UTF-8.

    Yields
    ------
    tuple of (int, list of str)
        1-based physical line the record starts on, and its raw fields.
    """
    yield from iter_csv_rows(source, encoding=encoding, delimiter=",", name=name)


def _nppes_header(rows: Iterator[tuple[int, list[str]]], name: str) -> list[str]:
    first = next(rows, None)
    if first is None:  # pragma: no cover - iter_source_rows refuses empty input
        return []
    header = [h.strip() for h in first[1]]
    detect_layout(header, file=name)
    return header


def _check_chunk_rows(chunk_rows: int) -> None:
    if not isinstance(chunk_rows, int) or isinstance(chunk_rows, bool):
        raise TypeError(f"chunk_rows must be int, not {type(chunk_rows).__name__}")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")


def iter_nppes(
    source: NppesSource,
    *,
    chunk_rows: int = 50_000,
    encoding: str | None = None,
    progress: ProgressSink | None = None,
    name: str | None = None,
) -> Iterator[ReadResult]:
    """Stream an NPPES file as one :class:`ReadResult` per chunk of rows.

    Parameters
    ----------
    source
        ``npidata_pfile_*.csv`` (either layout): a path, or an open binary or
        text stream such as a zip member.
    chunk_rows
        Data rows per chunk.
    encoding
        Text encoding of a path or binary stream; ``None`` means UTF-8 (a BOM is stripped).
    progress
        Receives ``("nppes", rows_read, None)`` after each chunk.
    name
        Name used in problem reports; defaults to the file or stream name.

    Yields
    ------
    ReadResult
        Records and rejects of one chunk; line numbers are global to the file.

    Raises
    ------
    SchemaError
        Header matching no known layout (all missing / unknown columns listed).
    EncodingError
        Undecodable bytes (file, line, byte offset).
    InputError
        Empty file.
    """
    _check_chunk_rows(chunk_rows)
    sink = progress or null_progress
    label = source_name(source, name)
    rows = iter_source_rows(source, name=label, encoding=encoding)
    header = _nppes_header(rows, label)
    width = len(header)

    def outcomes() -> Iterator[tuple[dict[str, Any] | None, list[Problem]]]:
        for line, cells in rows:
            if len(cells) != width:
                yield None, [Problem(f"row has {len(cells)} fields, header has {width}",
                                     file=label, line=line, value=",".join(cells)[:60])]
            else:
                yield parse_nppes_row(dict(zip(header, cells)), line=line, file=label)

    yield from chunk_results(outcomes(), chunk_rows=chunk_rows, progress=sink, stage="nppes")


def read_nppes(
    source: NppesSource,
    *,
    chunk_rows: int = 50_000,
    encoding: str | None = None,
    progress: ProgressSink | None = None,
    name: str | None = None,
) -> ReadResult:
    """Read a whole NPPES file (meant for extracts; stream big files with :func:`iter_nppes`).

    Parameters and errors are those of :func:`iter_nppes`.

    Returns
    -------
    ReadResult
        All accepted records (index 0..n-1), every reject, and the row count.
    """
    return combine_results(
        iter_nppes(source, chunk_rows=chunk_rows, encoding=encoding, progress=progress, name=name)
    )
