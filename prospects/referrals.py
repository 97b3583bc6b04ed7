"""Referral events read from a scheduling-system export (CSV).

A clinic's scheduling or RIS system can export one row per referral. This
module reads such an export into a tidy events frame, rejecting (not
raising on) bad rows so that one typo does not refuse a whole month of data.
File-level faults (wrong encoding, missing columns, patient names in the
file) raise at once.

Expected header (case-insensitive; spaces and hyphens count as underscores;
see :data:`COLUMN_SYNONYMS` for accepted synonyms; titles above it are
skipped, with a warning; fields separated by ``,`` ``;`` tab or ``|``):

``external_id``
    Required. The event's id in the source system, unique per event.
``referral_date``
    Required. ``YYYY-MM-DD`` or ``MM/DD/YYYY``.
``referrer_npi`` / ``referrer_name``
    At least one of the two columns must exist, and every row must fill at
    least one of them. The NPI must be 10 digits with a valid check digit.
``service_line``, ``site_code``
    Optional labels (e.g. ``MRI``, ``CT``; a site code of the clinic).
``patient_ref``
    Optional opaque patient id. Columns that look like patient names are
    refused: the service never stores patient names.

A ``mapping`` (field -> header) names a column whatever its header. Other
columns are not stored, and the read says so (a ``columns ignored`` warning
naming them). A row with a value that may not be stored (a control
character, or longer than its ``referral_events`` column) is rejected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path

import pandas as pd

from core.columns import (
    header_key,
    ignored_columns,
    locate_header,
    match_headers,
    spelled_or_mapped,
)
from core.csvio import iter_csv_rows
from core.errors import Problem, RejectLimitError, SchemaError
from core.identifiers import identifier_fault
from core.notices import LoadWarning
from core.safetext import value_problems

__all__ = [
    "COLUMN_SYNONYMS",
    "OUTPUT_COLUMNS",
    "ReferralRead",
    "iter_referral_events",
    "parse_referral_date",
    "read_referral_events",
]

OUTPUT_COLUMNS: tuple[str, ...] = (
    "external_id",
    "referral_date",
    "referrer_npi",
    "referrer_name",
    "service_line",
    "site_code",
    "patient_ref",
    "line",
)

#: Canonical column -> accepted header spellings (after normalisation).
COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "referral_id", "event_id", "order_id", "id"),
    "referral_date": ("referral_date", "referred_on", "referral_dt", "date"),
    "referrer_npi": (
        "referrer_npi",
        "referring_npi",
        "referring_provider_npi",
        "referring_physician_npi",
        "npi",
    ),
    "referrer_name": (
        "referrer_name",
        "referring_provider",
        "referring_provider_name",
        "referring_physician",
        "referring_physician_name",
        "referrer",
    ),
    "service_line": ("service_line", "service", "modality", "department"),
    "site_code": ("site_code", "site", "site_id", "location_code", "location"),
    "patient_ref": ("patient_ref", "patient_id", "patient_key", "mrn"),
}

REQUIRED: tuple[str, ...] = ("external_id", "referral_date")

_PATIENT_NAME_HEADER = re.compile(
    r"^(patient|pt)_?(full_?|first_?|last_?|given_?|family_?|sur)?name$"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_US_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")


@dataclass(frozen=True)
class ReferralRead:
    """Result of reading one referral export.

    Attributes
    ----------
    events
        Accepted events, one row per event, columns :data:`OUTPUT_COLUMNS`.
    rejects
        One :class:`~core.errors.Problem` per fault found in a rejected row
        (a row with two faults yields two problems).
    rows_read
        Data rows seen (accepted + rejected; blank lines not counted).
    warnings
        What the batch should report without refusing anything (columns no
        field takes); the first chunk of a file carries them.
    """

    events: pd.DataFrame
    rejects: list[Problem] = field(default_factory=list)
    rows_read: int = 0
    warnings: list[LoadWarning] = field(default_factory=list)


def parse_referral_date(text: str) -> date:
    """Parse ``YYYY-MM-DD`` or ``MM/DD/YYYY`` into a :class:`datetime.date`.

    Raises
    ------
    ValueError
        If the text has neither layout or names an impossible day.
    """
    value = text.strip()
    if _ISO_DATE.match(value):
        return date.fromisoformat(value)
    if _US_DATE.match(value):
        return datetime.strptime(value, "%m/%d/%Y").date()
    raise ValueError(f"not a date in YYYY-MM-DD or MM/DD/YYYY: {text!r}")


def _map_header(
    header: list[str], file: str, mapping: Mapping[str, str] | None = None, line: int = 1
) -> dict[str, int]:
    """Canonical column -> index; raise SchemaError listing every header fault.

    ``mapping`` (field -> header) wins over the spellings of
    :data:`COLUMN_SYNONYMS`; a column looking like patient names is refused
    whatever it is mapped to.
    """
    problems = [
        Problem(
            "column looks like a patient name; patient names are never accepted, "
            "use an opaque patient_ref instead",
            file=file,
            line=line,
            field=raw_name,
        )
        for raw_name in header
        if _PATIENT_NAME_HEADER.match(header_key(raw_name))
    ]
    found, mismatched = match_headers(
        header, synonyms=COLUMN_SYNONYMS, mapping=mapping, file=file, line=line
    )
    problems.extend(mismatched)
    for canon in REQUIRED:
        if canon not in found and not mismatched:
            problems.append(
                Problem(f"required column {canon!r} is missing", file=file, line=line, field=canon)
            )
    if "referrer_npi" not in found and "referrer_name" not in found and not mismatched:
        problems.append(
            Problem(
                "needs a 'referrer_npi' or a 'referrer_name' column (or both)",
                file=file,
                line=line,
                field="referrer_npi",
            )
        )
    if problems:
        missing = [p.field for p in problems if "missing" in p.message]
        detail = f"{file}: unusable header (line {line})"
        if missing:
            detail += f"; missing columns: {', '.join(str(m) for m in missing)}"
        raise SchemaError(detail, problems=problems)
    return found


def _check_row(
    values: dict[str, str],
    *,
    line: int,
    file: str,
    as_of: date | None,
    earliest: date | None = None,
) -> tuple[dict[str, object] | None, list[Problem]]:
    problems: list[Problem] = []

    def bad(field_name: str, message: str) -> None:
        problems.append(
            Problem(message, file=file, line=line, field=field_name, value=values.get(field_name))
        )

    external_id = values.get("external_id", "")
    if not external_id:
        bad("external_id", "external_id is empty")
    when: date | None = None
    raw_date = values.get("referral_date", "")
    if not raw_date:
        bad("referral_date", "referral_date is empty")
    else:
        try:
            when = parse_referral_date(raw_date)
        except ValueError:
            bad("referral_date", "not a valid date (expected YYYY-MM-DD or MM/DD/YYYY)")
        else:
            if as_of is not None and when > as_of:
                bad("referral_date", f"referral date is after {as_of.isoformat()}")
            if earliest is not None and when < earliest:
                bad(
                    "referral_date",
                    f"referral date is before {earliest.isoformat()} (PRM_MIN_EVENT_DATE)",
                )
    npi = values.get("referrer_npi", "")
    fault = identifier_fault(npi, kind="npi") if npi else None
    if fault is not None:
        bad("referrer_npi", fault)
    if not npi and not values.get("referrer_name", ""):
        bad("referrer_npi", "row names no referrer: give referrer_npi or referrer_name")
    if problems:
        return None, problems
    record: dict[str, object] = {
        "external_id": external_id,
        "referral_date": when,
        "referrer_npi": npi or None,
        "referrer_name": values.get("referrer_name") or None,
        "service_line": values.get("service_line") or None,
        "site_code": values.get("site_code") or None,
        "patient_ref": values.get("patient_ref") or None,
        "line": line,
    }
    refused = value_problems(record, file=file, line=line, limits=_stored_lengths())
    if refused:  # a control character, or longer than its referral_events column
        return None, refused
    return record, []


@cache
def _stored_lengths() -> dict[str, int]:
    """Longest text of each field: its ``referral_events`` column's length."""
    from data.lengths import string_lengths
    from data.models import ReferralEvent

    return string_lengths(ReferralEvent)


def read_referral_events(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    as_of: date | None = None,
    max_reject_rate: float | None = None,
    mapping: Mapping[str, str] | None = None,
    earliest: date | None = None,
) -> ReferralRead:
    """Read a referral export into an events frame.

    Parameters
    ----------
    path
        CSV file (delimiter sniffed: ``,`` ``;`` tab ``|``; optionally quoted;
        the header may sit below a title).
    encoding
        Text encoding of the file; ``None`` detects it (:mod:`core.encodings`).
    as_of
        Reject rows dated after this day (a referral cannot come from the
        future). ``None`` accepts any date.
    earliest
        Reject rows dated before this day (``PRM_MIN_EVENT_DATE``: ``1024`` for
        ``2024``). ``None`` accepts any date.
    max_reject_rate
        If given, raise :class:`~core.errors.RejectLimitError` (carrying every
        problem) when more than this share of rows is rejected.
    mapping
        Field -> the file's header, winning over the spellings of :data:`COLUMN_SYNONYMS`.

    Returns
    -------
    ReferralRead
        Accepted events (columns :data:`OUTPUT_COLUMNS`, ``line`` being the
        physical line where the row starts, header = line 1), the problems of
        rejected rows, the number of data rows read, and the warnings (columns
        no field takes).

    Raises
    ------
    EncodingError
        The file is not valid in ``encoding``; names the line of the first bad byte.
    SchemaError
        Required columns are missing, a column is given twice, a column
        looks like patient names, or ``mapping`` names an unknown field or an
        absent header; lists every such problem.

    Notes
    -----
    Rows whose ``external_id`` repeats an earlier accepted row are rejected,
    naming the line of the first occurrence. Values are stripped of
    surrounding whitespace. The file is streamed (:func:`core.csvio.iter_csv_rows`);
    accepted events are collected in memory (:func:`iter_referral_events` reads
    it a chunk at a time).
    """
    parts = list(
        iter_referral_events(
            path, encoding=encoding, as_of=as_of, mapping=mapping, earliest=earliest
        )
    )
    events = pd.concat([p.events for p in parts], ignore_index=True)
    rejects = [problem for p in parts for problem in p.rejects]
    warnings = [warning for p in parts for warning in p.warnings]
    rows_read = sum(p.rows_read for p in parts)
    if max_reject_rate is not None and rows_read:
        n_bad = rows_read - len(events)
        if n_bad / rows_read > max_reject_rate:
            raise RejectLimitError(
                f"{Path(path).name}: {n_bad} of {rows_read} rows rejected"
                f" (limit {max_reject_rate:.0%})",
                problems=rejects,
            )
    return ReferralRead(events=events, rejects=rejects, rows_read=rows_read, warnings=warnings)


def iter_referral_events(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    as_of: date | None = None,
    chunk_rows: int = 20_000,
    mapping: Mapping[str, str] | None = None,
    earliest: date | None = None,
) -> Iterator[ReferralRead]:
    """:func:`read_referral_events` a chunk of at most ``chunk_rows`` data rows at a time.

    Each chunk holds its accepted events, its rows' problems and its row count;
    a repeated ``external_id`` is found across chunks (only the ids and their
    lines are kept for the whole file), so the chunks together are what
    :func:`read_referral_events` returns. The header is checked before the first
    chunk; at least one chunk comes out (empty for a header-only file), and
    the first one carries the warning naming the columns no field takes.
    ``mapping`` (field -> header) names columns whatever their headers.
    """
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    file = Path(path).name
    detected: list[LoadWarning] = []  # an encoding detected, maybe late in the file
    rows = iter_csv_rows(path, encoding=encoding, warnings=detected)  # an empty file raises
    known = spelled_or_mapped(COLUMN_SYNONYMS, mapping)
    line, header, rows, warnings = locate_header(rows, known=known, file=file)
    columns = _map_header(header, file, mapping, line)
    warnings += ignored_columns(header, set(columns.values()), file=file)

    records: list[dict[str, object]] = []
    rejects: list[Problem] = []
    first_seen: dict[str, int] = {}
    rows_read = 0
    for line, row in rows:
        if all(not cell.strip() for cell in row):
            continue
        rows_read += 1
        problem = _row_problem(
            row, header, columns, line=line, file=file, as_of=as_of, earliest=earliest
        )
        if isinstance(problem, dict):
            ext = str(problem["external_id"])
            if ext in first_seen:
                rejects.append(
                    Problem(
                        f"duplicate external_id, first given on line {first_seen[ext]}",
                        file=file,
                        line=line,
                        field="external_id",
                        value=ext,
                    )
                )
            else:
                first_seen[ext] = line
                records.append(problem)
        else:
            rejects.extend(problem)
        if rows_read == chunk_rows:
            yield _chunk(records, rejects, rows_read, [*detected, *warnings])
            records, rejects, rows_read, warnings = [], [], 0, []
            detected.clear()
    yield _chunk(records, rejects, rows_read, [*detected, *warnings])


def _row_problem(
    row: list[str],
    header: list[str],
    columns: dict[str, int],
    *,
    line: int,
    file: str,
    as_of: date | None,
    earliest: date | None = None,
) -> dict[str, object] | list[Problem]:
    """One data row: its event, else its problems."""
    if len(row) != len(header):
        return [Problem(f"expected {len(header)} fields, found {len(row)}", file=file, line=line)]
    values = {canon: row[idx].strip() for canon, idx in columns.items()}
    record, problems = _check_row(values, line=line, file=file, as_of=as_of, earliest=earliest)
    return problems if record is None else record


def _chunk(
    records: list[dict[str, object]],
    rejects: list[Problem],
    rows_read: int,
    warnings: list[LoadWarning],
) -> ReferralRead:
    events = pd.DataFrame.from_records(records, columns=list(OUTPUT_COLUMNS))
    return ReferralRead(
        events=events.astype({"line": "int64"}),
        rejects=rejects,
        rows_read=rows_read,
        warnings=warnings,
    )
