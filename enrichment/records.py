"""The standard source-record schema every registry reader produces.

One row per source record (an NPPES row, a line of the clinic's referrer list).
All text is stripped and a missing value is ``None`` (never ``""``); every
column has dtype ``object`` except ``line`` (int64) and ``is_active`` (bool).
Dates are :class:`datetime.date` or ``None``.

Columns beyond names and the main practice address:

``country``
    ISO 3166 alpha-2 code of the practice address (``US``, ``FR``).
``identifiers``
    Dict of identifier kind to value besides the NPI, e.g. ``{"rpps": ...,
    "finess": ..., "siret": ..., "pac_id": ..., "org_pac_id": ...}``.
``lat``, ``lon``
    Coordinates the source itself gives (FINESS), WGS84; else ``None``.
``locations``
    List of further practice locations, each a dict with ``address_1``,
    ``address_2``, ``city``, ``state``, ``postal_code``, ``country``, ``phone``.
``contacts``
    List of contact channels, each ``{"channel": "direct" | "email" | "phone"
    | "fax" | "web", "value": ..., "use": ...}`` (e.g. NPPES endpoints).

``record_hash`` is the SHA-256 of the normalised content, excluding ``line``
(and the file name, which is not a column), so a re-loaded row whose content
did not change keeps its hash wherever it sits in whichever file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from core.errors import Problem

#: Column order of the standard source-record frame.
SOURCE_RECORD_COLUMNS: tuple[str, ...] = (
    "source",
    "source_key",
    "line",
    "npi",
    "entity_type",
    "name_prefix",
    "first_name",
    "middle_name",
    "last_name",
    "name_suffix",
    "credential",
    "organization_name",
    "gender",
    "taxonomy_code",
    "taxonomy_codes",
    "specialty_text",
    "address_1",
    "address_2",
    "city",
    "state",
    "postal_code",
    "phone",
    "enumeration_date",
    "last_update_date",
    "deactivation_date",
    "reactivation_date",
    "replacement_npi",
    "is_active",
    "country",
    "identifiers",
    "lat",
    "lon",
    "locations",
    "contacts",
    "record_hash",
)

#: Values accepted in the ``source`` column.
SOURCES: tuple[str, ...] = ("nppes", "referrer_list", "cms_dac", "rpps", "finess")

#: Values accepted in the ``entity_type`` column (besides ``None``).
ENTITY_TYPES: tuple[str, ...] = ("individual", "organization")

#: Columns left out of ``record_hash``.
_UNHASHED = frozenset({"line", "record_hash"})


@dataclass(frozen=True)
class ReadResult:
    """What a registry reader returns.

    Attributes
    ----------
    records
        Accepted rows in the standard source-record schema.
    rejects
        One :class:`~core.errors.Problem` per fault of each rejected row (file,
        1-based physical line, field, value and reason). A rejected row never
        appears in ``records``.
    rows_read
        Data rows read (accepted + rejected; the header and blank lines excluded).
    """

    records: pd.DataFrame
    rejects: list[Problem] = field(default_factory=list)
    rows_read: int = 0

    @property
    def rejected_lines(self) -> list[int]:
        """Distinct lines that were rejected, in file order."""
        return sorted({p.line for p in self.rejects if p.line is not None})

    @property
    def reject_rate(self) -> float:
        """Share of rows read that were rejected (0 when nothing was read)."""
        return len(self.rejected_lines) / self.rows_read if self.rows_read else 0.0


def empty_records() -> pd.DataFrame:
    """An empty frame with the standard source-record columns and dtypes."""
    return records_frame([])


def records_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build a standard source-record frame from row mappings.

    Keys not in :data:`SOURCE_RECORD_COLUMNS` raise ``KeyError``; absent keys
    become ``None``. Text columns keep dtype ``object`` so missing values stay
    ``None`` (pandas would otherwise infer its string dtype with ``NaN``).

    Parameters
    ----------
    rows
        One mapping per record.

    Returns
    -------
    pandas.DataFrame
    """
    rows = list(rows)
    wanted = set(SOURCE_RECORD_COLUMNS)
    for row in rows:
        extra = set(row) - wanted
        if extra:
            raise KeyError(f"not source-record columns: {sorted(extra)}")
    data: dict[str, pd.Series] = {}
    for col in SOURCE_RECORD_COLUMNS:
        values = [row.get(col) for row in rows]
        if col == "line":
            data[col] = pd.Series([int(v) if v is not None else 0 for v in values], dtype="int64")
        elif col == "is_active":
            data[col] = pd.Series([True if v is None else bool(v) for v in values], dtype=bool)
        else:
            data[col] = pd.Series(values, dtype=object)
    return pd.DataFrame(data, columns=list(SOURCE_RECORD_COLUMNS))


def _hashable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def record_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a record's normalised content.

    Every standard column except ``line`` and ``record_hash`` takes part, in
    schema order, so the hash is independent of where the row was read.

    Parameters
    ----------
    row
        A standard source record (missing keys count as ``None``).

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    content = [
        [col, _hashable(row.get(col))] for col in SOURCE_RECORD_COLUMNS if col not in _UNHASHED
    ]
    payload = json.dumps(
        content, ensure_ascii=False, separators=(",", ":"), default=str, sort_keys=True
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def clean_text(value: Any) -> str | None:
    """Strip a cell value; blank (or ``None``) becomes ``None``."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def combine_results(results: Iterable[ReadResult]) -> ReadResult:
    """Concatenate chunk results (e.g. from :func:`enrichment.nppes.iter_nppes`).

    Parameters
    ----------
    results
        Results in file order.

    Returns
    -------
    ReadResult
        Records re-indexed from 0, rejects in order, ``rows_read`` summed.
    """
    frames: list[pd.DataFrame] = []
    rejects: list[Problem] = []
    rows_read = 0
    for result in results:
        if not isinstance(result, ReadResult):
            raise TypeError(f"expected ReadResult, not {type(result).__name__}")
        if len(result.records):
            frames.append(result.records)
        rejects.extend(result.rejects)
        rows_read += result.rows_read
    records = pd.concat(frames, ignore_index=True) if frames else empty_records()
    return ReadResult(records=records, rejects=rejects, rows_read=rows_read)


RowOutcome = tuple["dict[str, Any] | None", "list[Problem]"]


def chunk_results(
    outcomes: Iterable[RowOutcome],
    *,
    chunk_rows: int,
    progress: Callable[[str, int, int | None], None],
    stage: str,
) -> Iterator[ReadResult]:
    """Group per-row outcomes into :class:`ReadResult` chunks of ``chunk_rows`` rows read.

    Each outcome is one data row: its record (``None`` when rejected) and its
    problems. An input without rows still yields one (empty) result.
    """
    total = count = 0
    records: list[dict[str, Any]] = []
    rejects: list[Problem] = []
    for record, problems in outcomes:
        count += 1
        rejects.extend(problems)
        if record is not None:
            records.append(record)
        if count == chunk_rows:
            total += count
            yield ReadResult(records=records_frame(records), rejects=rejects, rows_read=count)
            progress(stage, total, None)
            records, rejects, count = [], [], 0
    if count or total == 0:
        total += count
        yield ReadResult(records=records_frame(records), rejects=rejects, rows_read=count)
        progress(stage, total, None)
