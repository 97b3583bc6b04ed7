"""Reader for the NUCC Health Care Provider Taxonomy code set CSV.

The file (``nucc_taxonomy_NNN.csv``) has the header
``Code,Grouping,Classification,Specialization,Definition,Notes,Display Name,Section``;
releases before v17 lack the last two columns, which are then derived
(display name from classification + specialization) or left ``None`` (section).
The file is UTF-8 with CRLF line ends; newer releases may start with a BOM,
which is stripped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from core.csvio import iter_csv_rows
from core.errors import InputError, Problem, SchemaError
from core.notices import LoadWarning
from core.safetext import value_problems
from data.lengths import string_lengths
from data.models import Taxonomy
from enrichment.records import clean_text

#: Output columns of :func:`read_nucc`.
NUCC_COLUMNS: tuple[str, ...] = (
    "code",
    "grouping",
    "classification",
    "specialization",
    "display_name",
    "section",
    "definition",
)

_REQUIRED = ("Code", "Grouping", "Classification", "Specialization", "Definition")
_OPTIONAL = ("Notes", "Display Name", "Section")
#: Stored field -> its column in the file (the definition is free text, and not stored).
_STORED = {
    "code": "Code",
    "grouping": "Grouping",
    "classification": "Classification",
    "specialization": "Specialization",
    "display_name": "Display Name",
    "section": "Section",
}
_CODE = re.compile(r"[0-9A-Z]{9}X")
_VERSION = re.compile(r"nucc_taxonomy_(\d+)(\d)\b", re.IGNORECASE)


def read_nucc(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    warnings: list[LoadWarning] | None = None,
) -> pd.DataFrame:
    """Read the NUCC taxonomy code set.

    Parameters
    ----------
    path
        ``nucc_taxonomy_NNN.csv``.
    encoding
        Text encoding; ``None`` detects it (:mod:`core.encodings`).
    warnings
        Receives the warning of an encoding detected (not UTF-8).

    Returns
    -------
    pandas.DataFrame
        One row per code with :data:`NUCC_COLUMNS` (dtype object, missing = ``None``),
        in file order.

    Raises
    ------
    SchemaError
        Header missing a required column or carrying an unknown one (all listed).
    InputError
        Empty file, or rows with a malformed or duplicated code or with a value
        that may not be stored (a control character; longer than its
        ``taxonomy`` column): all listed.
    EncodingError
        Undecodable bytes.
    """
    name = Path(path).name
    rows = iter_csv_rows(path, encoding=encoding, delimiter=",", warnings=warnings)
    _, raw_header = next(rows)
    header = [h.strip() for h in raw_header]
    known = set(_REQUIRED) | set(_OPTIONAL)
    problems = [
        Problem("missing column (expected by the NUCC layout)", file=name, line=1, field=c)
        for c in _REQUIRED
        if c not in header
    ]
    problems += [
        Problem("unknown column (not in the NUCC layout)", file=name, line=1, field=c)
        for c in header
        if c not in known
    ]
    if problems:
        raise SchemaError(f"{name}: header is not a NUCC taxonomy layout", problems=problems)
    index = {c: header.index(c) for c in header}
    out: list[dict[str, str | None]] = []
    seen: dict[str, int] = {}
    bad: list[Problem] = []
    lengths = string_lengths(Taxonomy)
    for line, cells in rows:
        cells = cells + [""] * (len(header) - len(cells))

        def cell(col: str, cells: list[str] = cells) -> str | None:
            return clean_text(cells[index[col]]) if col in index else None

        code = cell("Code")
        if code is None or not _CODE.fullmatch(code):
            bad.append(
                Problem("malformed taxonomy code", file=name, line=line, field="Code", value=code)
            )
            continue
        if code in seen:
            bad.append(
                Problem(
                    f"code repeats line {seen[code]}",
                    file=name,
                    line=line,
                    field="Code",
                    value=code,
                )
            )
            continue
        seen[code] = line
        classification, specialization = cell("Classification"), cell("Specialization")
        display = (
            cell("Display Name")
            or " - ".join(p for p in (classification, specialization) if p)
            or None
        )
        row = {
            "code": code,
            "grouping": cell("Grouping"),
            "classification": classification,
            "specialization": specialization,
            "display_name": display,
            "section": cell("Section"),
        }
        # a display name made of classification and specialization is named after the first
        headers = (
            _STORED if "Display Name" in index else {**_STORED, "display_name": "Classification"}
        )
        refused = value_problems(row, file=name, line=line, limits=lengths, headers=headers)
        if refused:
            bad.extend(refused)
            continue
        out.append({**row, "definition": cell("Definition")})
    if bad:
        raise InputError(f"{name}: {len(bad)} bad taxonomy rows", problems=bad)
    return pd.DataFrame(
        {c: pd.Series([r[c] for r in out], dtype=object) for c in NUCC_COLUMNS},
        columns=list(NUCC_COLUMNS),
    )


def nucc_version(path: str | os.PathLike[str]) -> str:
    """Code-set version from the file name: ``nucc_taxonomy_220.csv`` -> ``"22.0"``.

    Raises
    ------
    InputError
        When the name does not follow ``nucc_taxonomy_NNN``.
    """
    name = Path(path).name
    m = _VERSION.search(name)
    if not m:
        raise InputError(
            f"cannot tell the NUCC version from {name!r}",
            problems=[Problem("expected a name like nucc_taxonomy_220.csv", file=name)],
        )
    return f"{int(m.group(1))}.{m.group(2)}"
