"""The columns of a clinic's own files: sites, referrals, interactions, referrer lists.

Each reader has standard fields and the usual spellings of their headers. A
column mapping (``field -> header``: ``--column FIELD=Header``, a ``--mapping``
file's ``[columns]`` table, or an upload's ``mapping``/``column`` fields) names
the column of a field whatever its header; the other fields are found by their
spellings. A mapping naming an unknown field or a header the file does not
have is refused, listing the fields or the file's headers. A column that no
field takes is never dropped silently: :func:`ignored_columns` makes the
batch warning naming it. The header need not be on line 1: titles above the
table (a merged title cell of a workbook) are skipped by :func:`locate_header`,
and a warning says so.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from core.errors import Problem, SchemaError
from core.notices import COLUMNS_IGNORED, HEADER_NOT_FIRST, LoadWarning

__all__ = [
    "check_mapping",
    "header_key",
    "ignored_columns",
    "locate_header",
    "mapping_document",
    "mapping_problems",
    "match_headers",
    "parse_column_flags",
    "spelled_or_mapped",
]


def header_key(header: str) -> str:
    """A header as spellings are compared: lower case, spaces, hyphens, dots, slashes as ``_``.

    Examples
    --------
    >>> header_key(" Site-ID "), header_key("Referral Date")
    ('site_id', 'referral_date')
    """
    return re.sub(r"[\s\-./]+", "_", header.strip().lower()).strip("_")


def parse_column_flags(
    items: Iterable[str], *, where: str = "--column"
) -> tuple[dict[str, str], list[Problem]]:
    """``FIELD=Header`` texts as a mapping, and the problems of those that are not.

    Parameters
    ----------
    items
        The texts, e.g. ``["site_code=Site ID"]``; the header is everything after the first ``=``.
    where
        The option or form field named in the problems.
    """
    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    for item in items:
        field, sep, header = item.partition("=")
        if not sep or not field.strip() or not header.strip():
            problems.append(Problem("expected FIELD=Header", field=where, value=item))
        else:
            mapping[field.strip()] = header.strip()
    return mapping, problems


def mapping_document(
    document: Mapping[str, Any], *, file: str | None = None
) -> tuple[dict[str, str], list[Problem]]:
    """The mapping of a parsed TOML or JSON document, and its problems.

    The fields are in a ``columns`` table (``[columns]`` in TOML, ``{"columns":
    {...}}`` in JSON), or, as the first referrer mappings were written, at the
    top level (``phone = "Tel. office"``).
    """
    table = document.get("columns", document)
    if not isinstance(table, Mapping):
        return {}, [Problem("'columns' must be a table of FIELD = \"Header\"", file=file)]
    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    for field, header in table.items():
        if isinstance(header, str) and header.strip():
            mapping[str(field)] = header.strip()
        else:
            problems.append(Problem("header must be text", file=file, field=str(field)))
    return mapping, problems


def mapping_problems(
    mapping: Mapping[str, str],
    *,
    fields: Sequence[str],
    headers: Sequence[str] | None = None,
    file: str | None = None,
    line: int = 1,
) -> list[Problem]:
    """What is wrong with a mapping: unknown fields, and headers the file does not have.

    Parameters
    ----------
    mapping
        Field -> header.
    fields
        The fields the file's reader knows (named in the problem of an unknown one).
    headers
        The file's headers; ``None`` checks the fields only (before the file is read).
    file
        The file's name, for the problems.
    line
        The header's line.
    """
    problems: list[Problem] = []
    taken: dict[str, str] = {}
    for field, header in mapping.items():
        if field not in fields:
            known = ", ".join(fields)
            problems.append(
                Problem(
                    f"unknown field; the fields are: {known}", file=file, field=field, value=header
                )
            )
        elif headers is not None and header not in headers:
            shown = ", ".join(h for h in headers if h) or "none"
            problems.append(
                Problem(
                    f"no such column in the file; its columns are: {shown}",
                    file=file,
                    line=line,
                    field=field,
                    value=header,
                )
            )
        elif header in taken:
            problems.append(
                Problem(
                    f"column already mapped to {taken[header]!r}",
                    file=file,
                    field=field,
                    value=header,
                )
            )
        else:
            taken[header] = field
    return problems


def check_mapping(
    mapping: Mapping[str, str],
    *,
    fields: Sequence[str],
    headers: Sequence[str] | None = None,
    file: str | None = None,
    line: int = 1,
) -> None:
    """Refuse a mapping with any of :func:`mapping_problems` (every problem at once).

    Raises
    ------
    SchemaError
        Naming the unknown fields (and the known ones) or the absent headers
        (and the file's).
    """
    problems = mapping_problems(mapping, fields=fields, headers=headers, file=file, line=line)
    if problems:
        where = f" {file}" if file else " the file"
        raise SchemaError(f"column mapping does not fit{where}", problems=problems)


def match_headers(
    headers: Sequence[str],
    *,
    synonyms: Mapping[str, Collection[str]],
    mapping: Mapping[str, str] | None = None,
    file: str | None = None,
    key: Callable[[str], str] = header_key,
    line: int = 1,
) -> tuple[dict[str, int], list[Problem]]:
    """Each field's column: the mapped one, else the one headed by a spelling of the field.

    Parameters
    ----------
    headers
        The file's header cells (stripped).
    synonyms
        Field -> accepted spellings, compared after ``key``.
    mapping
        Field -> header, winning over the spellings (checked by :func:`mapping_problems`).
    file
        The file's name, for the problems.
    key
        How a header is compared with the spellings (:func:`header_key`).
    line
        The header's line, for the problems.

    Returns
    -------
    tuple
        Field -> column index, and the problems: the mapping's, and a field two
        columns are spelled for (map one of them to settle it).
    """
    mapping = dict(mapping or {})
    problems = mapping_problems(
        mapping, fields=list(synonyms), headers=headers, file=file, line=line
    )
    if problems:
        return {}, problems
    found = {field: headers.index(header) for field, header in mapping.items()}
    taken = set(found.values())
    lookup = {spelling: field for field, spellings in synonyms.items() for spelling in spellings}
    for index, header in enumerate(headers):
        field = lookup.get(key(header))
        if field is None or index in taken or field in mapping:
            continue
        if field in found:
            first = headers[found[field]]
            problems.append(
                Problem(
                    f"second column for {field!r} (already given by {first!r}); "
                    f"map one with {field}=Header",
                    file=file,
                    line=line,
                    field=header,
                )
            )
            continue
        found[field] = index
    return found, problems


def ignored_columns(
    headers: Sequence[str],
    used: Collection[int],
    *,
    file: str | None = None,
    reason: str = "no field takes them; map one with FIELD=Header if it holds one",
) -> list[LoadWarning]:
    """The warning naming the columns no field took (none when every column is used).

    Parameters
    ----------
    headers
        The file's header cells.
    used
        Indexes of the columns some field took.
    file
        The file's name.
    reason
        Why they are ignored (a registry's: in none of its layouts).
    """
    ignored = tuple(
        header or f"column {index + 1} (no header)"
        for index, header in enumerate(headers)
        if index not in used
    )
    if not ignored:
        return []
    return [
        LoadWarning(
            code=COLUMNS_IGNORED,
            message=f"columns ignored: {', '.join(ignored)} ({reason})",
            file=file,
            columns=ignored,
        )
    ]


def spelled_or_mapped(
    synonyms: Mapping[str, Collection[str]],
    mapping: Mapping[str, str] | None = None,
    *,
    key: Callable[[str], str] = header_key,
) -> Callable[[str], bool]:
    """Whether a header cell names a field: one of its spellings (after ``key``), or a mapped header."""
    spellings = {spelling for names in synonyms.values() for spelling in names}
    mapped = set((mapping or {}).values())
    return lambda header: header in mapped or key(header) in spellings


#: Rows looked at for a header below line 1.
HEADER_SEARCH_ROWS = 20


def locate_header(
    rows: Iterator[tuple[int, list[str]]],
    *,
    known: Callable[[str], bool],
    file: str | None = None,
) -> tuple[int, list[str], Iterator[tuple[int, list[str]]], list[LoadWarning]]:
    """The header among a file's first rows: the first, unless a later one names more fields.

    Titles above a table (a merged title cell of a workbook, an export's
    caption and date) are rows that name no field; the first row that names
    the most fields, among the first :data:`HEADER_SEARCH_ROWS`, is the header
    when it names more than the first row does. The rows above it are skipped,
    and the warning says which line the header is on.

    Parameters
    ----------
    rows
        The file's ``(line, cells)``, blank rows left out (an empty file has raised).
    known
        Whether a header cell names a field (one of its spellings, or a mapped header).
    file
        The file's name, for the warning.

    Returns
    -------
    tuple
        The header's line, its cells (stripped), the rows after it, and the
        warning when it is not the first row.
    """
    head = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
    if not head:
        return 1, [], iter(()), []
    scores = [sum(1 for cell in cells if cell.strip() and known(cell.strip())) for _, cells in head]
    best = max(range(len(head)), key=lambda i: (scores[i], -i))
    if scores[best] <= scores[0]:
        best = 0
    line, cells = head[best]
    rest = itertools.chain(head[best + 1 :], rows)
    if best == 0:
        return line, [c.strip() for c in cells], rest, []
    skipped = f"line {head[0][0]}" if best == 1 else f"lines {head[0][0]}-{head[best - 1][0]}"
    warning = LoadWarning(
        code=HEADER_NOT_FIRST,
        message=f"header found on line {line}; {skipped} above it skipped "
        "(a title, not a table row)",
        file=file,
    )
    return line, [c.strip() for c in cells], rest, [warning]
