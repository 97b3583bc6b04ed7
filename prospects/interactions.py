"""Interactions (visits, calls, emails) read from a clinic's or a CRM's export (CSV).

The kinds of interaction are defined here once (:data:`InteractionKind`), for
the file and for ``POST /v1/interactions`` alike. A bad row is rejected alone
(file, line, the file's column); file-level faults raise at once.

Columns (headers compared in lower case, spaces and hyphens as underscores;
:data:`COLUMN_SYNONYMS` lists the spellings accepted; a ``mapping`` names a
column whatever its header):

``occurred_at``
    Required. ``YYYY-MM-DD`` or ``MM/DD/YYYY`` (midnight UTC), or an ISO
    date-time (``2024-06-03T10:30:00Z``; without an offset it is read as UTC);
    a day outside the bounds the loader gives (``PRM_MIN_EVENT_DATE`` to
    tomorrow) is refused.
``npi`` / ``provider_id``
    At least one of the two columns, and one value per row: the provider's
    NPI (10 digits, valid check digit) or its golden-record id. Whether the
    provider exists is the loader's to check.
``kind``
    Required: ``visit``, ``call`` or ``email`` (any case).
``liaison``, ``note``
    Optional: who had the interaction, and what was said (a note may hold lines).
``external_id``
    Optional id in the source system. A row without one gets a stable key
    made from its content (:func:`content_key`), so loading a file again adds nothing.

Other columns are not stored, and the read says so (a ``columns ignored`` warning).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

from core.columns import ignored_columns, locate_header, match_headers, spelled_or_mapped
from core.csvio import iter_csv_rows
from core.errors import Problem, SchemaError
from core.identifiers import identifier_fault
from core.notices import LoadWarning
from core.safetext import value_problems
from prospects.referrals import parse_referral_date

__all__ = [
    "COLUMN_SYNONYMS",
    "INTERACTION_KINDS",
    "InteractionKind",
    "InteractionRead",
    "content_key",
    "iter_interactions",
    "parse_occurred_at",
]

#: What an interaction is: the one definition, for files and the API.
InteractionKind = Literal["visit", "call", "email"]
INTERACTION_KINDS: tuple[str, ...] = get_args(InteractionKind)

#: Field -> accepted header spellings (after :func:`core.columns.header_key`).
COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "occurred_at": (
        "occurred_at",
        "date",
        "datetime",
        "date_time",
        "when",
        "interaction_date",
        "activity_date",
        "contact_date",
    ),
    "npi": ("npi", "provider_npi", "npi_number"),
    "provider_id": ("provider_id",),
    "kind": ("kind", "type", "interaction_type", "activity_type"),
    "liaison": ("liaison", "rep", "sales_rep", "logged_by"),
    "note": ("note", "notes", "summary", "comment", "comments"),
    "external_id": ("external_id", "id", "interaction_id", "activity_id"),
}

#: Where a field is stored in ``interactions`` when its name differs.
_STORED_AS = {"note": "summary"}


@dataclass(frozen=True)
class InteractionRead:
    """One chunk of an interactions file.

    Attributes
    ----------
    records
        Accepted rows: ``external_id``, ``occurred_at`` (aware, UTC), ``npi``,
        ``provider_id``, ``kind``, ``liaison``, ``summary`` and ``line``.
    rejects
        One :class:`~core.errors.Problem` per fault of each rejected row.
    rows_read
        Data rows seen (blank lines not counted).
    headers
        Field -> the file's column it is read from (what problems name).
    warnings
        Columns no field takes, a header below line 1 (the first chunk carries
        them), an encoding detected (the chunk it was found in).
    """

    records: list[dict[str, Any]]
    rejects: list[Problem] = field(default_factory=list)
    rows_read: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    warnings: list[LoadWarning] = field(default_factory=list)


def parse_occurred_at(text: str) -> datetime:
    """A date (midnight UTC) or an ISO date-time (UTC when no offset is given), in UTC.

    Raises
    ------
    ValueError
        When the text is neither.

    Examples
    --------
    >>> parse_occurred_at("06/03/2024").isoformat()
    '2024-06-03T00:00:00+00:00'
    >>> parse_occurred_at("2024-06-03T10:30:00+02:00").isoformat()
    '2024-06-03T08:30:00+00:00'
    """
    value = text.strip()
    try:
        day = parse_referral_date(value)
    except ValueError:
        pass
    else:
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not a date or ISO date-time: {text!r}") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def content_key(record: Mapping[str, Any]) -> str:
    """The key of a row without an external id: a hash of what it says, the same on every load."""
    parts = [
        record["occurred_at"].isoformat(),
        record.get("npi"),
        record.get("provider_id"),
        record["kind"],
        record.get("liaison"),
        record.get("summary"),
    ]
    digest = hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()
    return f"row:{digest[:40]}"


@cache
def _stored_lengths() -> dict[str, int]:
    """Longest text of each field: its ``interactions`` column's length."""
    from data.lengths import string_lengths
    from data.models.prospecting import Interaction

    return string_lengths(Interaction)


def _columns(
    header: list[str], mapping: Mapping[str, str] | None, file: str, line: int
) -> dict[str, int]:
    """Field -> column index; SchemaError listing every fault of the header or the mapping."""
    found, problems = match_headers(
        header, synonyms=COLUMN_SYNONYMS, mapping=mapping, file=file, line=line
    )
    problems = problems or _header_problems(found, file, line)
    if problems:
        raise SchemaError(f"{file}: unusable header (line {line})", problems=problems)
    return found


def _header_problems(found: Mapping[str, int], file: str, line: int) -> list[Problem]:
    problems = [
        Problem(f"required column {name!r} is missing", file=file, line=line, field=name)
        for name in ("occurred_at", "kind")
        if name not in found
    ]
    if "npi" not in found and "provider_id" not in found:
        problems.append(
            Problem(
                "needs an 'npi' or a 'provider_id' column (or both)",
                file=file,
                line=line,
                field="npi",
            )
        )
    return problems


def _check_row(
    values: Mapping[str, str],
    *,
    line: int,
    file: str,
    headers: Mapping[str, str],
    bounds: tuple[date | None, date | None] = (None, None),
) -> tuple[dict[str, Any] | None, list[Problem]]:
    problems: list[Problem] = []

    def bad(name: str, message: str) -> None:
        column = headers.get(name, name)
        problems.append(
            Problem(message, file=file, line=line, field=column, value=values.get(name))
        )

    when = None
    if not values.get("occurred_at"):
        bad("occurred_at", "no date")
    else:
        try:
            when = parse_occurred_at(values["occurred_at"])
        except ValueError:
            bad("occurred_at", "not a date (YYYY-MM-DD, MM/DD/YYYY) or ISO date-time")
        else:
            fault = _out_of_bounds(when.date(), bounds)
            if fault:
                bad("occurred_at", fault)
    kind = values.get("kind", "").lower()
    if kind not in INTERACTION_KINDS:
        bad("kind", f"kind must be one of {', '.join(INTERACTION_KINDS)}")
    npi, provider = values.get("npi", ""), values.get("provider_id", "")
    fault = identifier_fault(npi, kind="npi") if npi else None
    if fault is not None:
        bad("npi", fault)
    if provider and not (provider.isascii() and provider.isdigit() and int(provider) > 0):
        bad("provider_id", "a provider id is a positive whole number")
    if not npi and not provider:
        bad(
            "npi" if "npi" in headers else "provider_id",
            "row names no provider: give npi or provider_id",
        )
    if problems:
        return None, problems
    record: dict[str, Any] = {
        "occurred_at": when,
        "npi": npi or None,
        "provider_id": int(provider) if provider else None,
        "kind": kind,
        "liaison": values.get("liaison") or None,
        "summary": values.get("note") or None,
        "line": line,
    }
    record["external_id"] = values.get("external_id") or content_key(record)
    stored = {k: record[k] for k in ("external_id", "liaison", "summary") if record[k] is not None}
    named = {_STORED_AS.get(k, k): v for k, v in headers.items()}
    refused = value_problems(
        stored, file=file, line=line, limits=_stored_lengths(), headers=named, free_text={"summary"}
    )
    return (None, refused) if refused else (record, [])


def _out_of_bounds(day: date, bounds: tuple[date | None, date | None]) -> str | None:
    earliest, latest = bounds
    if earliest is not None and day < earliest:
        return f"dated before {earliest.isoformat()} (PRM_MIN_EVENT_DATE)"
    if latest is not None and day > latest:
        return f"dated after {latest.isoformat()} (an interaction cannot come from the future)"
    return None


def iter_interactions(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    chunk_rows: int = 20_000,
    mapping: Mapping[str, str] | None = None,
    earliest: date | None = None,
    latest: date | None = None,
) -> Iterator[InteractionRead]:
    """Read an interactions CSV a chunk of at most ``chunk_rows`` data rows at a time.

    Parameters
    ----------
    path
        CSV file (delimiter sniffed: ``,`` ``;`` tab ``|``; a UTF-8 BOM is skipped).
    encoding
        Text encoding; ``None`` detects it (:mod:`core.encodings`).
    chunk_rows
        Data rows per chunk.
    mapping
        Field (:data:`COLUMN_SYNONYMS`) -> the file's header, winning over the spellings.
    earliest, latest
        The first and last day (UTC) an interaction may be dated; ``None``: no bound.

    Yields
    ------
    InteractionRead
        At least one chunk (empty for a header-only file). A row repeating an
        earlier row's external id (or, without one, its content) is rejected,
        naming the line of the first.

    Raises
    ------
    SchemaError
        A required column is missing, two columns are spelled for one field,
        or ``mapping`` does not fit the file (every problem listed).
    EncodingError, InputError
        Undecodable bytes; an empty file.
    """
    file = Path(path).name
    detected: list[LoadWarning] = []  # an encoding detected, maybe late in the file
    rows = iter_csv_rows(path, encoding=encoding, warnings=detected)
    known = spelled_or_mapped(COLUMN_SYNONYMS, mapping)
    line, header, rows, warnings = locate_header(rows, known=known, file=file)
    found = _columns(header, mapping, file, line)
    headers = {name: header[index] for name, index in found.items()}
    warnings += ignored_columns(header, set(found.values()), file=file)
    records: list[dict[str, Any]] = []
    rejects: list[Problem] = []
    first_seen: dict[str, int] = {}
    rows_read = 0
    for line, row in rows:
        rows_read += 1
        if len(row) != len(header):
            rejects.append(
                Problem(f"expected {len(header)} fields, found {len(row)}", file=file, line=line)
            )
        else:
            values = {name: row[index].strip() for name, index in found.items()}
            record, faults = _check_row(
                values, line=line, file=file, headers=headers, bounds=(earliest, latest)
            )
            rejects.extend(faults)
            if record is not None:
                _keep_first(record, first_seen, records, rejects, file=file, headers=headers)
        if rows_read == chunk_rows:
            yield InteractionRead(records, rejects, rows_read, headers, [*detected, *warnings])
            records, rejects, rows_read, warnings = [], [], 0, []
            detected.clear()
    yield InteractionRead(records, rejects, rows_read, headers, [*detected, *warnings])


def _keep_first(
    record: dict[str, Any],
    first_seen: dict[str, int],
    records: list[dict[str, Any]],
    rejects: list[Problem],
    *,
    file: str,
    headers: Mapping[str, str],
) -> None:
    """Keep a row unless an earlier row had its key (one interaction stored once)."""
    key, line = record["external_id"], record["line"]
    if key not in first_seen:
        first_seen[key] = line
        records.append(record)
        return
    given = key != content_key(record)
    message = (
        f"duplicate external_id, first given on line {first_seen[key]}"
        if given
        else f"same interaction as line {first_seen[key]} (date, provider, kind, liaison, note)"
    )
    rejects.append(
        Problem(message, file=file, line=line, field=headers.get("external_id"), value=key)
    )
