"""Reader for the "NPPES Deactivated NPI Report" (monthly list of deactivated NPIs).

CMS publishes the report as a spreadsheet (XLSX) with a title row or two above
the header; the header holds ``NPI`` and ``NPPES Deactivation Date``. The same
two columns are accepted as CSV. The header row is found as the first of the
first :data:`HEADER_SCAN_ROWS` rows with a cell reading ``NPI``; the date
column is the one whose name mentions "deactivation" and "date" (else the
first named column after ``NPI``).

Dates may be real Excel dates, Excel serial numbers, ``MM/DD/YYYY`` text (as in
the report) or ISO ``YYYY-MM-DD`` text. The XLSX is read with openpyxl in
read-only mode, so line numbers are the sheet's row numbers.

Not handled yet: the legacy binary ``.xls`` format (convert it to XLSX or CSV),
and workbooks whose data is not on the first (or the named) sheet.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from core.csvio import iter_csv_rows
from core.errors import InputError, Problem, SchemaError
from core.identifiers import luhn_npi_valid
from enrichment.nppes import parse_nppes_date
from enrichment.nppes_companions import TableResult, table_frame
from enrichment.records import clean_text

#: Output columns of :func:`read_deactivations`.
DEACTIVATION_FIELDS: tuple[str, ...] = ("npi", "deactivation_date", "line")

#: How many rows from the top are searched for the header row.
HEADER_SCAN_ROWS = 20

_EXCEL_EPOCH = date(1899, 12, 30)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
_CSV_SUFFIXES = frozenset({".csv", ".txt"})


def parse_deactivation_date(value: Any) -> date | None:
    """A report date cell as a :class:`datetime.date`; blank gives ``None``.

    Raises
    ------
    ValueError
        For text that is neither ``MM/DD/YYYY`` nor ``YYYY-MM-DD``, impossible
        dates, and numbers outside Excel's date range.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 1 <= value < 2_958_466:  # Excel's 1900-01-01 .. 9999-12-31
            raise ValueError(f"not an Excel date serial: {value!r}")
        return _EXCEL_EPOCH + timedelta(days=int(value))
    text = clean_text(value)
    if text is None:
        return None
    if _ISO.fullmatch(text):
        return date.fromisoformat(text)
    return parse_nppes_date(text)


def _cell_text(value: Any) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(value)


def _xlsx_rows(path: Path, sheet: str | None) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise InputError(
            f"{path.name} is not a readable XLSX workbook: {exc}",
            problems=[Problem(f"not a readable XLSX workbook: {exc}", file=path.name)],
        ) from exc
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputError(
                f"{path.name} has no sheet {sheet!r}",
                problems=[
                    Problem(
                        f"no such sheet (sheets: {', '.join(book.sheetnames)})",
                        file=path.name,
                        field=sheet,
                    )
                ],
            )
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        for number, row in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
            if any(_cell_text(v) is not None for v in row):
                yield number, list(row)
    finally:
        book.close()


def _find_header(rows: Iterator[tuple[int, list[Any]]], file: str) -> tuple[int, int, str]:
    for line, cells in rows:
        names = [(_cell_text(c) or "") for c in cells]
        upper = [n.upper() for n in names]
        if "NPI" in upper:
            npi_at = upper.index("NPI")
            date_at = next(
                (i for i, n in enumerate(upper) if "DEACTIVATION" in n and "DATE" in n), None
            )
            if date_at is None:
                date_at = next((i for i in range(npi_at + 1, len(names)) if names[i]), None)
            if date_at is None:
                raise SchemaError(
                    f"{file}: header row has no deactivation date column",
                    problems=[
                        Problem(
                            "missing column", file=file, line=line, field="NPPES Deactivation Date"
                        )
                    ],
                )
            return npi_at, date_at, names[date_at]
        if line >= HEADER_SCAN_ROWS:
            break
    raise SchemaError(
        f"{file}: no header row with an 'NPI' cell in the first {HEADER_SCAN_ROWS} rows",
        problems=[Problem("header row with 'NPI' not found", file=file, field="NPI")],
    )


def read_deactivations(
    path: str | os.PathLike[str],
    *,
    sheet: str | None = None,
    encoding: str | None = None,
) -> TableResult:
    """Read the NPPES Deactivated NPI Report (XLSX or CSV).

    Parameters
    ----------
    path
        ``.xlsx`` / ``.xlsm`` workbook, or ``.csv`` / ``.txt`` file.
    sheet
        Worksheet name; ``None`` means the first sheet (XLSX only).
    encoding
        Text encoding of a CSV; ``None`` means UTF-8.

    Returns
    -------
    TableResult
        ``records`` has :data:`DEACTIVATION_FIELDS` (``line`` is the sheet row
        or physical CSV line); rows with a bad NPI (Luhn-checked) or a missing
        or malformed date are rejects naming line and column.

    Raises
    ------
    SchemaError
        No header row with ``NPI`` near the top, or no date column.
    InputError
        Unsupported file type, unreadable workbook, unknown sheet, empty file.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such file: {p}", problems=[Problem("file not found", file=p.name)])
    suffix = p.suffix.lower()
    if suffix in _XLSX_SUFFIXES:
        rows: Iterator[tuple[int, list[Any]]] = _xlsx_rows(p, sheet)
    elif suffix in _CSV_SUFFIXES:
        rows = ((line, list(cells)) for line, cells in iter_csv_rows(p, encoding=encoding))
    else:
        raise InputError(
            f"{p.name}: unsupported deactivation report type {suffix or '(none)'}",
            problems=[
                Problem("expected .xlsx, .xlsm, .csv or .txt (convert .xls first)", file=p.name)
            ],
        )
    npi_at, date_at, date_name = _find_header(rows, p.name)
    records: list[dict[str, Any]] = []
    rejects: list[Problem] = []
    count = 0
    for line, cells in rows:
        count += 1
        problems: list[Problem] = []
        npi = _cell_text(cells[npi_at]) if npi_at < len(cells) else None
        if npi is None:
            problems.append(Problem("NPI is missing", file=p.name, line=line, field="NPI"))
        elif not luhn_npi_valid(npi):
            problems.append(
                Problem(
                    "NPI is not 10 digits with a valid check digit",
                    file=p.name,
                    line=line,
                    field="NPI",
                    value=npi,
                )
            )
        raw = cells[date_at] if date_at < len(cells) else None
        try:
            when = parse_deactivation_date(raw)
        except ValueError:
            when = None
            problems.append(
                Problem(
                    "malformed deactivation date (expected a date or MM/DD/YYYY)",
                    file=p.name,
                    line=line,
                    field=date_name,
                    value=str(raw),
                )
            )
        else:
            if when is None:
                problems.append(
                    Problem(
                        "deactivation date is missing",
                        file=p.name,
                        line=line,
                        field=date_name,
                    )
                )
        if problems:
            rejects.extend(problems)
        else:
            records.append({"npi": npi, "deactivation_date": when, "line": line})
    return TableResult(
        records=table_frame(records, DEACTIVATION_FIELDS), rejects=rejects, rows_read=count
    )
