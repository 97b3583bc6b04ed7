"""Test helper: one NPPES row through the column-wise parser the reader runs on every chunk."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from core.errors import Problem
from enrichment.nppes_columns import nppes_columns, parse_nppes_table


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
