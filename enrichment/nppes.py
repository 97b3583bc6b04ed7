"""Reader for the NPPES ``npidata_pfile`` CSV (the NPI registry dissemination file).

Both the current 330-column layout and the 2016-era 329-column layout are
accepted (see :mod:`enrichment.nppes_layout`); columns are found by name.
The file is streamed in blocks and parsed column by column
(:mod:`core.arrowcsv`, :mod:`enrichment.nppes_columns`), so a 9 GB monthly file
is never held in memory by :func:`iter_nppes` and physical line numbers are
kept. The source is a path or an open stream (binary, or text opened with
``newline=""``), so a member of the dissemination zip is read straight from
the archive (see :mod:`enrichment.nppes_zip`); the companion files are read by
:mod:`enrichment.nppes_companions`.

Each record's ``country`` is the practice address's country code (``US`` when
blank); ``identifiers`` holds the EIN when CMS publishes one (never a masked or
``<UNAVAIL>`` value), the "Other Provider Identifier" slots under ``"other"``
and the main file's other organisation name under ``"other_names"``.
Non-US postal codes are kept as written (US ones are cut to five digits). A
row with a value that may not be stored is rejected (:mod:`core.safetext`): a
control character in any field, or a value longer than the column it is
copied into by the link stage, e.g. a foreign postal code longer than the
golden record's five characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from core.arrowcsv import ArrowChunk, ArrowCsvReader, map_ahead
from core.checks import whole_number
from core.columns import ignored_columns
from core.csvio import Source, check_delimiter, iter_csv_rows, source_name
from core.errors import InputError, Problem
from core.notices import LoadWarning
from core.progress import ProgressSink, null_progress
from enrichment.nppes_columns import nppes_columns, parse_nppes_table
from enrichment.nppes_layout import detect_layout, known_columns
from enrichment.record_columns import RecordColumns
from enrichment.records import (
    ReadResult,
    clean_text,
)

#: What the readers accept as input: a path, or an open binary or text stream.
NppesSource = Source

_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")


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


def _check_chunk_rows(chunk_rows: int) -> None:
    problems: list[Problem] = []
    if whole_number(chunk_rows, field="chunk_rows", problems=problems, ge=1) is None:
        raise InputError("chunk_rows must be positive", problems=problems)


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
    with ArrowCsvReader(source, delimiter=",", encoding=encoding, name=label) as reader:
        header = reader.header
        check_delimiter(
            header, delimiter=",", file=label, line=reader.header_line, layout="an NPPES file"
        )
        detect_layout(header, file=label)
        ignored = ignored_columns(
            header, known_columns(header), file=label, reason="in no NPPES layout: not read"
        )

        def parse(
            chunk: ArrowChunk,
        ) -> tuple[ArrowChunk, RecordColumns, list[Problem], list[LoadWarning]]:
            warnings: list[LoadWarning] = []
            records, problems = parse_nppes_table(
                chunk.table, chunk.lines, file=label, warnings=warnings
            )
            return chunk, records.prepare(), problems, warnings

        total = sent = 0
        chunks = reader.chunks(nppes_columns(header), chunk_rows=chunk_rows)
        for chunk, records, problems, warnings in map_ahead(parse, chunks, name="nppes-parse"):
            rejects = sorted([*chunk.rejects, *problems], key=lambda p: p.line or 0)
            total += chunk.rows_read
            fresh = reader.warnings[sent:]  # an encoding detected, once known
            sent += len(fresh)
            yield ReadResult(
                columns=records,
                rejects=rejects,
                rows_read=chunk.rows_read,
                warnings=[*ignored, *fresh, *warnings],
            )
            ignored = []
            sink("nppes", total, None)
