"""Test helpers over the streaming readers: whole files as one result, one NPPES row parsed.

The product never holds a whole registry file: it loads chunk by chunk. Tests
on small extracts compare whole results, so these helpers concatenate the
chunks (and run one row through the NPPES parser) outside the product.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from core.errors import Problem
from enrichment.nppes_columns import nppes_columns, parse_nppes_table
from enrichment.records import ReadResult, records_frame


def parse_row(
    row: Mapping[str, str | None], *, line: int, file: str | None = None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """``(record, [])`` for a good row, ``(None, problems)`` for a rejected one.

    The row (column name -> raw text; absent columns count as blank) becomes a
    one-row table for :func:`enrichment.nppes_columns.parse_nppes_table`, the
    function :func:`enrichment.nppes.iter_nppes` applies to each chunk.
    """
    columns = nppes_columns(list(row))
    table = pa.table({c: pa.array([row.get(c)], type=pa.string()) for c in columns})
    records, problems = parse_nppes_table(table, np.array([line]), file=file)
    if problems:
        return None, problems
    return records.to_frame().iloc[0].to_dict(), []


def combine_results(results: Iterable[ReadResult]) -> ReadResult:
    """Chunk results concatenated: records re-indexed from 0, rejects and warnings in order,
    ``rows_read`` summed."""
    frames, rejects, warnings, rows_read = [], [], [], 0
    for result in results:
        if len(result.records):
            frames.append(result.records)
        rejects.extend(result.rejects)
        warnings.extend(result.warnings)
        rows_read += result.rows_read
    records = pd.concat(frames, ignore_index=True) if frames else records_frame([])
    return ReadResult(records=records, rejects=rejects, rows_read=rows_read, warnings=warnings)


def read_whole(
    reader: Callable[..., Iterable[ReadResult]], source: Any, **options: Any
) -> ReadResult:
    """A whole file as one result: every chunk ``reader`` (e.g. ``iter_cms``) streams, concatenated."""
    return combine_results(reader(source, **options))


def rejected_lines(result: ReadResult) -> list[int]:
    """Distinct lines that were rejected, in file order."""
    return sorted({p.line for p in result.rejects if p.line is not None})
