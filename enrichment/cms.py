"""Reader for the CMS Doctors and Clinicians national downloadable file.

``DAC_NationalDownloadableFile.csv`` has one row per NPI x enrollment
(``Ind_enrl_ID``) x group practice (``org_pac_id``) x address (``adrs_id``).
This reader folds the rows of each NPI into ONE standard source record
(``source="cms_dac"``, ``source_key`` = the NPI):

* names, suffix, gender, credential and primary specialty (``pri_spec`` ->
  ``specialty_text``) take the value most rows agree on;
* ``identifiers`` holds ``pac_id``, ``enrollment_ids``, ``medical_school``,
  ``graduation_year``, ``secondary_specialties`` (``sec_spec_1..4`` then any
  further names in ``sec_spec_all``), ``groups`` (``{org_pac_id, name,
  members}``), ``hospitals`` (``{ccn, name}``, older layouts only) and
  ``telehealth`` (a bool); keys without a value are left out;
* the address appearing on most rows (ties: the smallest in sort order) is the
  main practice address, every other distinct address goes to ``locations``;
  addresses are compared after :func:`~core.text.normalize_address`.

The fold depends only on the set of rows, not on their order; the record's
``line`` is the line of the NPI's first row.

Grouping without holding the file: the published file is not guaranteed
sorted by NPI, so :func:`iter_cms` makes no such assumption. It parses every
row once, and keeps the good ones in a temporary on-disk store keyed by
(NPI, line) (:class:`enrichment.cms_row_store.NpiRowStore`, an SQLite
database in a temporary directory, written a chunk at a time); then it reads
them back in NPI order and folds each NPI's rows. Memory holds one chunk of
rows (the settings' ``chunk_rows``) and one NPI's rows, whatever the order of
the file; the disk holds the good rows once (a few hundred bytes each) until
the read ends.

Rows are rejected one by one (the NPI's other rows still make its record) for
an NPI that fails the Luhn check (or that a spreadsheet wrote in scientific
notation), a missing last name, a malformed ZIP code, a graduation year or
group size that is not a whole number (``20O5``, ``-5``), a wrong number of
fields, or a value that may not be stored (a control character, or longer than
its column: :func:`enrichment.records.record_problems`). A whole number out of
its field's range (a graduation year before :data:`FIRST_GRADUATION_YEAR` or
in the future, a group of more than :data:`MAX_GROUP_MEMBERS`) is left blank
with a ``value_out_of_range`` warning; a phone number that is not a valid US
one is left blank with a ``values_dropped`` warning. Not handled yet: the
Medicare assignment flags (``ind_assgn``, ``grp_assgn``) and ``ln_2_sprs``
are not kept.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from core.checks import whole_number
from core.columns import ignored_columns
from core.country import normalize_phone, normalize_postal_code
from core.csvio import check_delimiter, iter_csv_rows
from core.errors import InputError, Problem
from core.identifiers import identifier_fault, luhn_npi_valid, spreadsheet_mangled
from core.notices import VALUE_OUT_OF_RANGE, VALUES_DROPPED, LoadWarning, Tally
from core.progress import ProgressSink, null_progress
from core.text import normalize_address, normalize_state
from enrichment.cms_layout import (
    HOSPITAL_SLOTS,
    SECONDARY_SPECIALTY_SLOTS,
    CmsColumns,
    detect_cms_columns,
)
from enrichment.cms_row_store import NpiRowStore
from enrichment.records import (
    FIELD_LIMITS,
    ReadResult,
    clean_text,
    record_hash,
    record_problems,
    records_frame,
)

#: Value of the ``source`` column.
SOURCE = "cms_dac"

#: Row fields whose folded value is the one most rows agree on.
_MODAL_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "name_suffix",
    "gender",
    "credential",
    "primary_specialty",
    "pac_id",
    "medical_school",
    "graduation_year",
)

_ADDRESS_FIELDS = ("address_1", "address_2", "city", "state", "postal_code")
#: Longest text of each row field: the standard field's (the primary specialty is ``specialty_text``).
_LIMITS = {**FIELD_LIMITS, "primary_specialty": FIELD_LIMITS["specialty_text"]}
_WHOLE = re.compile(r"\d+")
#: The earliest graduation year read (a year before it is out of range).
FIRST_GRADUATION_YEAR = 1900
#: The largest group a row may name (``num_org_mem``); the largest US groups have tens of thousands.
MAX_GROUP_MEMBERS = 200_000


def _sort_key(value: Any) -> Any:
    """Total order over cell values and tuples of them (``None`` sorts as ``""``)."""
    if isinstance(value, tuple):
        return tuple(_sort_key(v) for v in value)
    return "" if value is None else str(value)


def _mode(values: Iterable[Hashable]) -> Any:
    """Most frequent non-``None`` value; ties go to the smallest. ``None`` when there is none."""
    counts = Counter(v for v in values if v is not None)
    if not counts:
        return None
    return min(counts, key=lambda v: (-counts[v], _sort_key(v)))


def _secondary_specialties(get: Any) -> tuple[str, ...]:
    names = [get(f"secondary_specialty_{i}") for i in range(1, SECONDARY_SPECIALTY_SLOTS + 1)]
    everything = get("secondary_specialties_all")
    if everything:
        names.extend(part.strip() for part in everything.split(","))
    return tuple(dict.fromkeys(n for n in names if n))


def _whole_numbers(
    get: Any, bad: Any, *, columns: CmsColumns, tally: Tally | None
) -> dict[str, int | None]:
    """The row's graduation year and group size: a value that is not a whole number is a fault
    (``bad``), one out of range is left blank and counted (``tally``)."""
    bounds = {
        "graduation_year": (FIRST_GRADUATION_YEAR, date.today().year),
        "org_members": (1, MAX_GROUP_MEMBERS),
    }
    out: dict[str, int | None] = {}
    for field, (low, high) in bounds.items():
        raw = get(field)
        out[field] = None
        if raw is None:
            continue
        if not _WHOLE.fullmatch(raw):
            bad(f"not a whole number (expected digits only, {low} to {high})", field)
        elif low <= int(raw) <= high:
            out[field] = int(raw)
        elif tally is not None:
            tally.add(
                VALUE_OUT_OF_RANGE,
                f"outside {low} to {high} (left blank)",
                column=columns.headers[field],
                value=raw,
            )
    return out


def _phone(raw: str | None, *, columns: CmsColumns, tally: Tally | None) -> str | None:
    phone = normalize_phone(raw, country="US") if raw else None
    if raw and phone is None and tally is not None:
        tally.add(
            VALUES_DROPPED,
            "not a valid US phone number (left blank)",
            column=columns.headers["phone"],
            value=raw,
        )
    return phone


def parse_cms_row(
    cells: Sequence[str],
    *,
    columns: CmsColumns,
    line: int,
    file: str | None = None,
    tally: Tally | None = None,
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Turn one data row into a dict of canonical, cleaned values.

    Parameters
    ----------
    cells
        The row's raw fields, in header order.
    columns
        The header's layout from :func:`~enrichment.cms_layout.detect_cms_columns`.
    line
        1-based physical line the row starts on.
    file
        File name used in problem reports.
    tally
        Counts the values left blank (out of range, an unreadable phone), for the warnings.

    Returns
    -------
    tuple
        ``(row, [])`` for a good row, ``(None, problems)`` for a rejected one;
        ``problems`` lists every fault (bad NPI, missing last name, malformed
        ZIP, a count that is not a whole number, wrong field count), each
        naming the file's own header.
    """
    if len(cells) != columns.width:
        return None, [
            Problem(
                f"row has {len(cells)} fields, header has {columns.width}",
                file=file,
                line=line,
                value=",".join(cells)[:60],
            )
        ]

    def get(field: str) -> str | None:
        at = columns.index.get(field)
        return None if at is None else clean_text(cells[at])

    problems: list[Problem] = []

    def bad(message: str, field: str) -> None:
        problems.append(
            Problem(message, file=file, line=line, field=columns.headers[field], value=get(field))
        )

    npi = get("npi")
    if npi is None:
        bad("NPI is missing", "npi")
    elif spreadsheet_mangled(npi):
        bad(identifier_fault(npi, kind="npi") or "", "npi")
    elif not luhn_npi_valid(npi):
        bad("NPI is not 10 digits with a valid check digit", "npi")
    if get("last_name") is None:
        bad("last name is missing", "last_name")
    raw_zip = get("postal_code")
    postal = normalize_postal_code(raw_zip, country="US") if raw_zip else None
    if raw_zip is not None and postal is None:
        bad("malformed ZIP code (expected 5 or 9 digits)", "postal_code")
    counted = _whole_numbers(get, bad, columns=columns, tally=tally)
    if problems:
        return None, problems

    raw_state = get("state")
    telehealth = get("telehealth")
    gender = get("gender")
    hospitals = tuple(
        (get(f"hospital_ccn_{i}"), get(f"hospital_name_{i}"))
        for i in range(1, HOSPITAL_SLOTS + 1)
        if get(f"hospital_ccn_{i}") or get(f"hospital_name_{i}")
    )
    row: dict[str, Any] = {
        "line": line,
        "npi": npi,
        "pac_id": get("pac_id"),
        "enrollment_id": get("enrollment_id"),
        "first_name": get("first_name"),
        "middle_name": get("middle_name"),
        "last_name": get("last_name"),
        "name_suffix": get("name_suffix"),
        "gender": gender.upper() if gender else None,
        "credential": get("credential"),
        "medical_school": get("medical_school"),
        "graduation_year": counted["graduation_year"],
        "primary_specialty": get("primary_specialty"),
        "secondary_specialties": _secondary_specialties(get),
        "telehealth": telehealth.upper()[:1] if telehealth else None,
        "org_pac_id": get("org_pac_id"),
        "org_name": get("org_name"),
        "org_members": counted["org_members"],
        "address_1": get("address_1"),
        "address_2": get("address_2"),
        "city": get("city"),
        "state": (normalize_state(raw_state) or raw_state.upper()) if raw_state else None,
        "postal_code": postal,
        "phone": _phone(get("phone"), columns=columns, tally=tally),
        "hospitals": hospitals,
    }
    refused = record_problems(row, file=file, line=line, headers=columns.headers, limits=_LIMITS)
    if refused:  # a value that may not be stored (control character, too long): the row alone goes
        return None, refused
    return row, []


def _address_key(row: Mapping[str, Any]) -> tuple[str, ...]:
    return (
        normalize_address(row["address_1"]),
        normalize_address(row["address_2"]),
        (row["city"] or "").strip().upper(),
        row["state"] or "",
        row["postal_code"] or "",
    )


def _ordered_secondary(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    lists = [row["secondary_specialties"] for row in rows]
    first = _mode(t for t in lists if t) or ()
    extra = {name for t in lists for name in t} - set(first)
    return list(first) + sorted(extra)


def _groups(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    by_key: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        if row["org_pac_id"]:
            key = ("pac", row["org_pac_id"])
        elif row["org_name"]:
            key = ("name", row["org_name"].upper())
        else:
            continue
        by_key.setdefault(key, []).append(row)
    groups = [
        {
            "org_pac_id": members[0]["org_pac_id"],
            "name": _mode(r["org_name"] for r in members),
            "members": _mode(r["org_members"] for r in members),
        }
        for members in by_key.values()
    ]
    return sorted(groups, key=lambda g: (_sort_key(g["org_pac_id"]), _sort_key(g["name"])))


def _hospitals(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    names: dict[str, list[str | None]] = {}
    for row in rows:
        for ccn, name in row["hospitals"]:
            names.setdefault(ccn or f"\0{name.upper()}", []).append(name)
    out = []
    for key, seen in names.items():
        ccn = None if key.startswith("\0") else key
        out.append({"ccn": ccn, "name": _mode(seen)})
    return sorted(out, key=lambda h: (_sort_key(h["ccn"]), _sort_key(h["name"])))


def _telehealth(rows: Sequence[Mapping[str, Any]]) -> bool | None:
    flags = {row["telehealth"] for row in rows}
    if "Y" in flags:
        return True
    if "N" in flags:
        return False
    return None


def fold_cms_rows(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Fold the parsed rows of one NPI into one standard source record.

    Parameters
    ----------
    rows
        Rows from :func:`parse_cms_row`, all with the same NPI, in any order.

    Returns
    -------
    dict
        A standard source record (see :mod:`enrichment.records`). Only its
        ``line`` (the smallest of the rows') depends on where the rows were.

    Raises
    ------
    ValueError
        When ``rows`` is empty or mixes NPIs.
    """
    npis = {row["npi"] for row in rows}
    if len(npis) != 1:
        raise ValueError(f"rows must share exactly one NPI, got {sorted(npis)}")
    npi = npis.pop()
    modal = {field: _mode(row[field] for row in rows) for field in _MODAL_FIELDS}

    by_address: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        by_address.setdefault(_address_key(row), []).append(row)
    places = []
    for key, members in by_address.items():
        spelled = _mode(tuple(r[f] for f in _ADDRESS_FIELDS) for r in members)
        places.append(
            (
                -len(members),
                key,
                {
                    **dict(zip(_ADDRESS_FIELDS, spelled)),
                    "country": "US",
                    "phone": _mode(r["phone"] for r in members),
                },
            )
        )
    places.sort(key=lambda p: (p[0], p[1]))
    main = places[0][2]
    locations = sorted(
        (p[2] for p in places[1:]),
        key=lambda loc: _sort_key(tuple(loc[f] for f in _ADDRESS_FIELDS)),
    )

    identifiers: dict[str, Any] = {
        "pac_id": modal["pac_id"],
        "enrollment_ids": sorted({r["enrollment_id"] for r in rows if r["enrollment_id"]}),
        "medical_school": modal["medical_school"],
        "graduation_year": modal["graduation_year"],
        "secondary_specialties": _ordered_secondary(rows),
        "groups": _groups(rows),
        "hospitals": _hospitals(rows),
        "telehealth": _telehealth(rows),
    }
    record: dict[str, Any] = {
        "source": SOURCE,
        "source_key": npi,
        "line": min(row["line"] for row in rows),
        "npi": npi,
        "entity_type": "individual",
        "first_name": modal["first_name"],
        "middle_name": modal["middle_name"],
        "last_name": modal["last_name"],
        "name_suffix": modal["name_suffix"],
        "credential": modal["credential"],
        "gender": modal["gender"],
        "specialty_text": modal["primary_specialty"],
        **{f: main[f] for f in _ADDRESS_FIELDS},
        "phone": main["phone"],
        "is_active": True,
        "country": "US",
        "identifiers": {k: v for k, v in identifiers.items() if v not in (None, [])},
        "locations": locations,
    }
    record["record_hash"] = record_hash(record)
    return record


def iter_cms(
    path: str | os.PathLike[str],
    *,
    chunk_rows: int = 50_000,
    encoding: str | None = None,
    progress: ProgressSink | None = None,
    temp_dir: str | os.PathLike[str] | None = None,
) -> Iterator[ReadResult]:
    """Stream a Doctors and Clinicians file as :class:`ReadResult` chunks, in any row order.

    The rows are read first, a chunk of ``chunk_rows`` at a time (each chunk's
    result has its rejects and ``rows_read``, and no record yet); then the
    records come in NPI order, each folded from all its NPI's rows wherever
    they were (:class:`NpiRowStore`), a result per ``chunk_rows`` rows folded
    (the last NPI's rows may pass it).

    Parameters
    ----------
    path
        ``DAC_NationalDownloadableFile.csv`` (current or older layout).
    chunk_rows
        Data rows read per chunk (and held in memory at most), and folded per result.
    encoding
        Text encoding; ``None`` detects it (:mod:`core.encodings`).
    progress
        Receives ``("cms_dac", rows_read, None)`` after each chunk read.
    temp_dir
        Where the rows wait to be grouped (default: the system's temporary directory).

    Yields
    ------
    ReadResult
        Rows rejected, then records; ``rows_read`` counts the data rows read
        in each chunk (0 in the results of records). Line numbers are global
        to the file. The first result has the warnings (an encoding detected,
        columns in no layout).

    Raises
    ------
    SchemaError
        Header matching no known layout (every missing column listed), or
        split by another delimiter than ``,`` (one problem naming it).
    InputError
        An empty file.
    EncodingError
        Undecodable bytes (file, line, byte offset).
    """
    problems: list[Problem] = []
    if whole_number(chunk_rows, field="chunk_rows", problems=problems, ge=1) is None:
        raise InputError("chunk_rows must be positive", problems=problems)
    sink = progress or null_progress
    name = Path(path).name
    warnings: list[LoadWarning] = []
    rows = iter_csv_rows(path, encoding=encoding, delimiter=",", warnings=warnings)
    line, header = next(rows)  # an empty file raises InputError naming it
    check_delimiter(
        header, delimiter=",", file=name, line=line, layout="a CMS Doctors and Clinicians file"
    )
    columns = detect_cms_columns(header, file=name)
    warnings += ignored_columns(
        header,
        set(columns.index.values()),
        file=name,
        reason="in no CMS Doctors and Clinicians layout: not read",
    )
    store = NpiRowStore(directory=temp_dir, batch_rows=chunk_rows)
    try:
        yield from _read_rows(rows, store, columns, name, chunk_rows, sink, warnings)
        records: list[dict[str, Any]] = []
        folded = 0  # rows folded into ``records``: a result holds about a chunk's worth
        for group in store.groups():
            records.append(fold_cms_rows(group))
            folded += len(group)
            if folded >= chunk_rows:
                yield ReadResult(records=records_frame(records), rows_read=0)
                records, folded = [], 0
        if records:
            yield ReadResult(records=records_frame(records), rows_read=0)
    finally:
        store.close()


def _read_rows(
    rows: Iterator[tuple[int, list[str]]],
    store: NpiRowStore,
    columns: CmsColumns,
    name: str,
    chunk_rows: int,
    sink: ProgressSink,
    warnings: list[LoadWarning],
) -> Iterator[ReadResult]:
    """Parse every row into ``store``; one result (rejects, rows read) per chunk of rows."""
    tally = Tally()
    rejects: list[Problem] = []
    count = total = 0
    for line, cells in rows:
        count += 1
        row, problems = parse_cms_row(cells, columns=columns, line=line, file=name, tally=tally)
        if row is None:
            rejects.extend(problems)
        else:
            store.add(row)
        if count == chunk_rows:
            total += count
            yield ReadResult(
                records=records_frame([]),
                rejects=rejects,
                rows_read=count,
                warnings=[*warnings, *tally.warnings(file=name)],
            )
            sink(SOURCE, total, None)
            rejects, count = [], 0
            del warnings[:]  # given once (a detection later in the file comes with a later chunk)
    if count or total == 0 or tally.counts:
        yield ReadResult(
            records=records_frame([]),
            rejects=rejects,
            rows_read=count,
            warnings=[*warnings, *tally.warnings(file=name)],
        )
        sink(SOURCE, total + count, None)
        del warnings[:]
