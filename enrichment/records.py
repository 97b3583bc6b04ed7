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

Every reader rejects a row holding a value that may not be stored (a control
character, or text longer than :data:`FIELD_LIMITS` allows): see
:func:`record_problems`.

``record_hash`` is the SHA-256 of the record's canonical JSON payload (the
content columns, :data:`PAYLOAD_COLUMNS`, which is also what is stored), so a
re-loaded row whose content did not change keeps its hash wherever it sits in
whichever file.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

from core.errors import Problem
from core.notices import LoadWarning
from core.safetext import value_problems
from core.values import json_value

if TYPE_CHECKING:
    from enrichment.record_columns import RecordColumns

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

#: The date columns of a source record (``datetime.date``; ISO text once stored as JSON).
DATE_COLUMNS: tuple[str, ...] = (
    "enumeration_date",
    "last_update_date",
    "deactivation_date",
    "reactivation_date",
)

#: Values accepted in the ``source`` column.
SOURCES: tuple[str, ...] = ("nppes", "referrer_list", "cms_dac", "rpps", "finess")

#: Values accepted in the ``entity_type`` column (besides ``None``).
ENTITY_TYPES: tuple[str, ...] = ("individual", "organization")


class ReadResult:
    """What a registry reader returns.

    Attributes
    ----------
    records
        Accepted rows in the standard source-record schema (a frame; a
        columnar reader's records become one only when this is first read).
    rejects
        One :class:`~core.errors.Problem` per fault of each rejected row (file,
        1-based physical line, field, value and reason). A rejected row never
        appears in ``records``.
    rows_read
        Data rows read (accepted + rejected; the header and blank lines excluded).
    columns
        The records as :class:`~enrichment.record_columns.RecordColumns` when a
        columnar reader made them, else ``None``.
    warnings
        What the batch reports without refusing anything
        (:class:`~core.notices.LoadWarning`, e.g. columns no field takes).
    """

    __slots__ = ("_records", "columns", "rejects", "rows_read", "warnings")

    def __init__(
        self,
        records: pd.DataFrame | None = None,
        rejects: list[Problem] | None = None,
        rows_read: int = 0,
        *,
        columns: RecordColumns | None = None,
        warnings: list[LoadWarning] | None = None,
    ) -> None:
        if (records is None) == (columns is None):
            raise TypeError("give either records or columns")
        self._records = records
        self.columns = columns
        self.rejects: list[Problem] = list(rejects) if rejects is not None else []
        self.rows_read = int(rows_read)
        self.warnings: list[LoadWarning] = list(warnings) if warnings is not None else []

    @property
    def records(self) -> pd.DataFrame:
        if self._records is None:
            assert self.columns is not None
            self._records = self.columns.to_frame()
        return self._records

    def __len__(self) -> int:
        return len(self.columns) if self.columns is not None else len(self.records)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(records={len(self)}, rejects={len(self.rejects)}, rows_read={self.rows_read})"

    def stored_rows(self) -> StoredRows:
        """What a load writes per record: key, line, NPI and JSON payload (its hash on demand).

        The hash is always the SHA-256 of the payload made here, so a frame
        whose ``record_hash`` column went stale cannot hide a change.
        """
        if self.columns is not None and self._records is None:
            from core.keyset import key_codes_of_array

            cols = self.columns
            n = cols.size
            keys = cols.arrays.get("source_key")
            codes = (
                key_codes_of_array(keys)
                if keys is not None and pa.types.is_string(keys.type)
                else None
            )
            keys = (
                pa.array([str(k) for k in cols.column("source_key")], pa.string())
                if codes is None
                else keys
            )
            return StoredRows(
                pa.Table.from_arrays(
                    [
                        keys,
                        cols.arrays.get("line", pa.array(np.zeros(n, dtype=np.int64))),
                        cols.arrays.get("npi", pa.nulls(n, pa.string())),
                        cols.payloads(),
                    ],
                    schema=StoredRows.SCHEMA,
                ),
                codes=codes,
            )
        frame = self.records
        payloads = record_payloads(frame)
        npis = frame["npi"].tolist() if "npi" in frame.columns else [None] * len(frame)
        return StoredRows.from_lists(
            keys=frame["source_key"].astype(str).tolist(),
            lines=[int(v) for v in frame["line"].tolist()],
            npis=npis,
            payloads=[p.decode("utf-8") for p in payloads],
        )


class StoredRows:
    """Per-record values a load writes: source key, line, NPI, JSON payload, ``record_hash``.

    Held as Arrow columns (:attr:`SCHEMA`), so a chunk crosses from a reader
    process to the writer as a few buffers (:meth:`to_ipc`, :meth:`from_ipc`)
    rather than a million pickled strings. The SHA-256 of each payload
    (:attr:`hashes`) is made on first use, which for a chunk sent from a
    reader process is :meth:`to_ipc` there (its sending thread hashes while its
    parsing threads go on); the Python values a writer binds (:attr:`keys`,
    :attr:`payloads`, ...) are made on first use, on the writer's side.

    Parameters
    ----------
    table
        One row per record, with the columns of :attr:`SCHEMA`.
    codes
        :func:`core.keyset.key_codes` of the keys when the reader computed them.
    """

    SCHEMA = pa.schema(
        [
            ("source_key", pa.string()),
            ("line", pa.int64()),
            ("npi", pa.string()),
            ("payload", pa.string()),
        ]
    )

    def __init__(self, table: pa.Table, *, codes: np.ndarray | None = None) -> None:
        if not table.schema.equals(self.SCHEMA):
            raise TypeError(f"stored rows need the schema {self.SCHEMA}, not {table.schema}")
        if codes is not None and len(codes) != table.num_rows:
            raise ValueError(f"{len(codes)} key codes for {table.num_rows} rows")
        self.table = table.combine_chunks()
        self.codes = codes
        self._lists: dict[str, list[Any]] = {}

    @classmethod
    def from_lists(
        cls,
        *,
        keys: list[str],
        lines: list[int],
        npis: list[str | None],
        payloads: list[str],
        codes: np.ndarray | None = None,
    ) -> StoredRows:
        """Stored rows from parallel lists."""
        return cls(
            pa.Table.from_arrays(
                [
                    pa.array(keys, pa.string()),
                    pa.array(lines, pa.int64()),
                    pa.array(npis, pa.string()),
                    pa.array(payloads, pa.string()),
                ],
                schema=cls.SCHEMA,
            ),
            codes=codes,
        )

    def __len__(self) -> int:
        return self.table.num_rows

    def _list(self, name: str) -> list[Any]:
        got = self._lists.get(name)
        if got is None:
            got = self._lists[name] = self.table.column(name).to_pylist()
        return got

    @property
    def keys(self) -> list[str]:
        return self._list("source_key")

    @property
    def lines(self) -> list[int]:
        return self._list("line")

    @property
    def npis(self) -> list[str | None]:
        return self._list("npi")

    @property
    def payloads(self) -> list[str]:
        return self._list("payload")

    @property
    def hashes(self) -> list[str]:
        """The ``record_hash`` of each record: SHA-256 (hex) of its payload's UTF-8 bytes."""
        got = self._lists.get("hash")
        if got is None:
            got = self._lists["hash"] = payload_array_hashes(self.table.column("payload"))
        return got

    def to_ipc(self) -> pa.Buffer:
        """The columns and the hashes as one Arrow IPC stream."""
        table = self.table.append_column("record_hash", pa.array(self.hashes, pa.string()))
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return sink.getvalue()

    @classmethod
    def from_ipc(cls, data: Any, *, codes: np.ndarray | None = None) -> StoredRows:
        """Stored rows read back from :meth:`to_ipc`'s bytes (no copy of the columns)."""
        table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
        rows = cls(table.drop_columns(["record_hash"]), codes=codes)
        rows._lists["hash"] = table.column("record_hash").to_pylist()
        return rows


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


#: Standard columns stored in a source record's JSON payload (and hashed).
PAYLOAD_COLUMNS: tuple[str, ...] = tuple(
    c for c in SOURCE_RECORD_COLUMNS if c not in {"source", "source_key", "line", "record_hash"}
)
_ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def _field_limits() -> dict[str, int]:
    from data.lengths import string_lengths
    from data.models import Provider, SourceRecord

    provider, stored = string_lengths(Provider), string_lengths(SourceRecord)
    # the link stage copies each standard field into the provider column of the same name
    limits = {c: provider[c] for c in PAYLOAD_COLUMNS if c in provider}
    limits["source_key"] = stored["source_key"]
    limits["npi"] = min(stored["npi"], provider["npi"])
    return limits


#: Longest text (characters) each standard field may hold: the length of the column it is
#: stored in (``source_records``) or copied into by the link stage (``providers``), read from
#: the models. A field without a column of its own is held to :data:`PAYLOAD_TEXT_LIMIT`.
FIELD_LIMITS: dict[str, int] = _field_limits()

#: Longest text kept only inside a record's JSON payload (``name_suffix``, and every string
#: nested in ``identifiers``, ``locations`` and ``contacts``).
PAYLOAD_TEXT_LIMIT = 1000


def record_problems(
    record: Mapping[str, Any],
    *,
    file: str | None,
    line: int | None,
    headers: Mapping[str, str] | None = None,
    limits: Mapping[str, int] = FIELD_LIMITS,
) -> list[Problem]:
    """One problem per value of a record that may not be stored (:func:`core.safetext.value_problems`).

    No field of a source record is free text: names, codes, identifiers and
    addresses hold no control character at all.

    Parameters
    ----------
    record
        A standard source record, or a reader's row of the values it stores.
    file, line
        Where the row is, for the problems.
    headers
        Key (or nested path, e.g. ``identifiers.siret``) -> the file's column
        it came from, named in the problems; a key not listed is named as is.
    limits
        Longest text per key; other keys, and every string nested in a list
        or dict, are held to :data:`PAYLOAD_TEXT_LIMIT`.
    """
    return value_problems(
        record,
        file=file,
        line=line,
        limits=limits,
        default_limit=PAYLOAD_TEXT_LIMIT,
        headers=headers,
    )


def _json_default(value: Any) -> Any:
    converted = json_value(value)
    if converted is value:
        return str(value)
    return converted


def record_payload_bytes(row: Mapping[str, Any]) -> bytes:
    """The canonical JSON of one record's content (what is stored and hashed).

    Keys are :data:`PAYLOAD_COLUMNS` in schema order (missing ones are
    ``null``); dates are ISO strings, NaN is ``null``; compact UTF-8.
    """
    return orjson.dumps(
        {c: row.get(c) for c in PAYLOAD_COLUMNS}, default=_json_default, option=_ORJSON_OPTIONS
    )


def record_payloads(frame: pd.DataFrame) -> list[bytes]:
    """:func:`record_payload_bytes` of every row of a standard source-record frame, in order."""
    n = len(frame)
    columns = [frame[c].tolist() if c in frame.columns else [None] * n for c in PAYLOAD_COLUMNS]
    dumps, keys, default = orjson.dumps, PAYLOAD_COLUMNS, _json_default
    return [
        dumps(dict(zip(keys, values)), default=default, option=_ORJSON_OPTIONS)
        for values in zip(*columns)
    ]


def payload_array_hashes(payloads: pa.Array) -> list[str]:
    """SHA-256 (hex) of each payload's UTF-8 bytes, read in place (no copies): the records' ``record_hash``."""
    if isinstance(payloads, pa.ChunkedArray):
        payloads = payloads.combine_chunks()
    payloads = payloads.cast(pa.string())
    if not len(payloads):
        return []
    start = payloads.offset
    offsets = np.frombuffer(payloads.buffers()[1], dtype=np.int32)[
        start : start + len(payloads) + 1
    ]
    data = memoryview(payloads.buffers()[2] or b"")
    sha = hashlib.sha256
    bounds = offsets.tolist()
    return [sha(data[a:b]).hexdigest() for a, b in itertools.pairwise(bounds)]


def record_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a record's canonical content (:func:`record_payload_bytes`).

    ``line`` and the record's own identity (``source``, ``source_key``) are
    left out, so a re-loaded row whose content did not change keeps its hash
    wherever it sits in whichever file.

    Parameters
    ----------
    row
        A standard source record (missing keys count as ``None``).

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    return hashlib.sha256(record_payload_bytes(row)).hexdigest()


def clean_text(value: Any) -> str | None:
    """Strip a cell value; blank (or ``None``) becomes ``None``."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


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
