"""The reader of a clinic's small tables (sites, competitors): headers, mapping, rows, refusals.

A clinic's list of places is short and every row matters, so one bad row
refuses the whole file (every bad row named by file, line and column, and
written to the batch's reject file); headers are found by their spellings or
a mapping (``--column FIELD=Header``, ``--mapping``), a title above the table
is skipped with a warning, and the file is a CSV in any encoding
(:mod:`core.encodings`) or an ``.xlsx`` workbook's first sheet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from core.columns import ignored_columns, locate_header, match_headers, spelled_or_mapped
from core.errors import InputError, Problem, SchemaError
from core.safetext import shown
from enrichment.referrers import iter_table_rows
from service.ingest.batches import BatchRun

__all__ = ["read_table", "row_problems"]

M = TypeVar("M", bound=BaseModel)


def read_table(
    path: Path,
    *,
    schema: type[M],
    synonyms: Mapping[str, Sequence[str]],
    required: Sequence[str],
    what: str,
    mapping: Mapping[str, str] | None,
    encoding: str | None,
    batch: BatchRun,
) -> list[tuple[int, M]]:
    """The file's rows as ``schema`` with their lines (rows read and warnings kept on ``batch``).

    Parameters
    ----------
    path
        The CSV or ``.xlsx`` file.
    schema
        What a row must be (validated from text: ``strict=False``).
    synonyms
        Field -> accepted header spellings (after :func:`core.columns.header_key`).
    required
        Fields whose column must be present.
    what
        What a row is, for the refusal's message ("site", "competitor").
    mapping
        Field -> the file's header, winning over the spellings.
    encoding
        A CSV's text encoding; ``None`` detects it.
    batch
        The load: counts rows read, keeps rejects and warnings.

    Raises
    ------
    SchemaError
        A required column is missing, or the mapping does not fit (all listed).
    InputError
        Any row is invalid: every bad row named; nothing is stored then.
    """
    rows = iter_table_rows(path, encoding=encoding, warnings=batch.warnings)
    known = spelled_or_mapped(synonyms, mapping)
    line, header, rows, warnings = locate_header(rows, known=known, file=path.name)
    batch.warn(warnings)
    found, problems = match_headers(
        header, synonyms=synonyms, mapping=mapping, file=path.name, line=line
    )
    problems += [
        Problem("missing column", file=path.name, line=line, field=c)
        for c in required
        if c not in found and not problems
    ]
    if problems:
        raise SchemaError(f"{path.name}: missing or unusable columns", problems=problems)
    payloads: list[tuple[int, M]] = []
    for line, cells in rows:
        batch.rows_read += 1
        if len(cells) != len(header):
            batch.rejects.append(
                Problem(
                    f"expected {len(header)} fields, found {len(cells)}", file=path.name, line=line
                )
            )
            continue
        fields = {name: cells[index].strip() or None for name, index in found.items()}
        try:
            payloads.append((line, schema.model_validate(fields, strict=False)))  # all text
        except ValidationError as exc:
            batch.rejects.extend(
                row_problems(exc, file=path.name, line=line, found=found, header=header)
            )
    if batch.rejects:
        raise InputError(f"{path.name}: invalid {what} rows", problems=batch.rejects)
    batch.warn(ignored_columns(header, set(found.values()), file=path.name))
    return payloads


def row_problems(
    exc: ValidationError, *, file: str, line: int, found: Mapping[str, int], header: list[str]
) -> list[Problem]:
    """A refused row's problems, each naming the file's column (values escaped: reports are stored)."""
    problems = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else ""
        column = header[found[name]] if name in found else ".".join(map(str, err["loc"]))
        problems.append(
            Problem(
                err["msg"], file=file, line=line, field=column, value=shown(str(err.get("input")))
            )
        )
    return problems
