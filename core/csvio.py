"""Streaming CSV access with physical line numbers and strict decoding.

The registry readers need three things the plain :mod:`csv` module does not
give: the *physical* line a record starts on (quoted fields may span lines),
an error that names the line and byte offset of undecodable bytes, and a clear
refusal of empty files. Everything here streams: nothing holds the file.

The encoding is decided by :mod:`core.encodings` (byte-order marks, UTF-16,
UTF-8 else Windows-1252, or the encoding named); a file whose header is split by
another delimiter than its layout's is refused in one problem
(:func:`delimiter_problem`).
"""

from __future__ import annotations

import csv
import io
import itertools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from core.encodings import TextDecoder, open_text_bytes
from core.errors import InputError, Problem, SchemaError
from core.notices import LoadWarning

_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SNIFF_LINES = 20  # lines looked at for the delimiter (titles above a table have none)

_DELIMITERS = (",", ";", "\t", "|")


#: A CSV source: a path, or an open binary or text stream (e.g. a zip member).
Source = str | os.PathLike[str] | IO[bytes] | IO[str]


def source_name(source: Source, name: str | None = None) -> str:
    """The name a source is reported under: ``name``, else the file or stream name.

    Raises
    ------
    TypeError
        When ``source`` is neither a path nor a readable stream.
    """
    if name is not None:
        return name
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    if not hasattr(source, "read"):
        raise TypeError(f"source must be a path or an open stream, not {type(source).__name__}")
    raw = getattr(source, "name", None)
    return Path(raw).name if isinstance(raw, str) and raw else "<stream>"


def iter_decoded_lines(
    source: Source,
    *,
    encoding: str | None = None,
    name: str | None = None,
    warnings: list[LoadWarning] | None = None,
) -> Iterator[str]:
    """Yield the decoded physical lines of a text file or stream, line endings kept.

    Parameters
    ----------
    source
        File path, or an open binary stream (decoded here) or text stream
        (already decoded; open it with ``newline=""``).
    encoding
        Codec name; ``None`` detects it (:mod:`core.encodings`: a byte-order
        mark, UTF-16, else UTF-8 or, from its first non-UTF-8 byte after ASCII
        only, Windows-1252). A byte-order mark is never part of the first line.
    name
        Name used in problem reports; defaults to the file or stream name.
    warnings
        Receives the warning of an encoding detected (not UTF-8).

    Yields
    ------
    str
        One physical line, with its ``\\n`` / ``\\r\\n`` ending.

    Raises
    ------
    EncodingError
        At the first undecodable byte, naming the file, the line, the byte
        offset and the encodings tried.
    InputError
        When the input is empty (no bytes, or only blanks), or the encoding
        named is none.
    """
    label = source_name(source, name)
    if isinstance(source, (str, os.PathLike)):
        with Path(source).open("rb") as fh:
            yield from _decode_lines(fh, label=label, encoding=encoding, warnings=warnings)
    else:
        yield from _decode_lines(source, label=label, encoding=encoding, warnings=warnings)


def _decode_lines(
    stream: IO[bytes] | IO[str],
    *,
    label: str,
    encoding: str | None,
    warnings: list[LoadWarning] | None,
) -> Iterator[str]:
    seen_text = False
    if isinstance(stream, io.TextIOBase):
        lines: Iterator[str] = (
            raw.removeprefix("\ufeff") if n == 1 else raw for n, raw in enumerate(stream, 1)
        )
    else:
        opened = open_text_bytes(stream, encoding=encoding, file=label, warnings=warnings)  # type: ignore[arg-type]
        lines = _decoded(opened.stream, opened.decoder, opened.offset)
    for text in lines:
        if not seen_text and text.strip():
            seen_text = True
        yield text
    if not seen_text:
        raise InputError(f"{label} is empty", problems=[Problem("file is empty", file=label)])


def _decoded(stream: IO[bytes], decoder: TextDecoder, offset: int) -> Iterator[str]:
    for number, raw in enumerate(stream, start=1):
        yield decoder.decode(raw, line=number, offset=offset)
        offset += len(raw)


def sniff_delimiter(lines: Sequence[str]) -> str:
    """Pick the delimiter (``,``, ``;``, tab or ``|``) of a file's first lines.

    The one found the same number of times on the most lines (a title above
    the table, or a note's commas, do not outvote the rows); ties go to the
    larger count, then to the order above. ``,`` when there is none.
    """
    best, best_key = ",", (0, 0)
    for delimiter in _DELIMITERS:
        counts = [n for n in (line.count(delimiter) for line in lines) if n]
        if not counts:
            continue
        mode = max(set(counts), key=lambda n: (counts.count(n), n))
        key = (counts.count(mode), mode)
        if key > best_key:
            best, best_key = delimiter, key
    return best


def delimiter_name(delimiter: str) -> str:
    """``';' (semicolon)``: a delimiter as messages show it."""
    return f"{delimiter!r} ({_DELIMITER_NAMES.get(delimiter, 'character')})"


def delimiter_problem(
    header: Sequence[str], *, delimiter: str, file: str, line: int = 1, layout: str = "its layout"
) -> Problem | None:
    """The one problem of a header split by another delimiter than ``delimiter``, or ``None``.

    A header read with the wrong delimiter is one long cell (or a few): when
    another of ``,`` ``;`` tab ``|`` occurs in it at least as often as it has
    cells, that one separates the fields, and one problem names it (not one
    "missing column" per column of the layout).

    Parameters
    ----------
    header
        The header's cells, split by ``delimiter``.
    delimiter
        The delimiter the layout expects.
    file, line
        Where the header is.
    layout
        What expects ``delimiter`` (e.g. ``"an NPPES file"``), for the message.
    """
    text = delimiter.join(header)
    others = {d: text.count(d) for d in _DELIMITERS if d != delimiter}
    found = max(others, key=lambda d: others[d])
    if others[found] < max(len(header), 1) or others[found] <= text.count(delimiter):
        return None
    return Problem(
        f"fields are separated by {delimiter_name(found)}, not {delimiter_name(delimiter)} "
        f"as {layout} expects",
        file=file,
        line=line,
        field="delimiter",
        value=found,
    )


def check_delimiter(
    header: Sequence[str], *, delimiter: str, file: str, line: int = 1, layout: str = "its layout"
) -> None:
    """Refuse a header split by another delimiter (:func:`delimiter_problem`) in one problem.

    Raises
    ------
    SchemaError
        Naming the delimiter found and the one expected.
    """
    problem = delimiter_problem(header, delimiter=delimiter, file=file, line=line, layout=layout)
    if problem is not None:
        raise SchemaError(f"{file}: {problem.message}", problems=[problem])


def iter_csv_rows(
    path: Source,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    name: str | None = None,
    line_offset: int = 0,
    keep_blank_rows: bool = False,
    warnings: list[LoadWarning] | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line, fields)`` for every non-blank CSV record, header included.

    Parameters
    ----------
    path
        CSV file, or an open binary or text stream.
    encoding
        As in :func:`iter_decoded_lines`.
    name
        Name used in problem reports (default: the file or stream name).
    delimiter
        Field separator; ``None`` sniffs it from the first 20 lines
        (:func:`sniff_delimiter`: a title above the table does not decide it).
    line_offset
        Added to every line number (for a piece of a larger file).
    keep_blank_rows
        Yield records whose fields are all blank (``"",""``) too; only blank
        lines (no field, or one blank field) are skipped.
    warnings
        Receives the warning of an encoding detected (:func:`iter_decoded_lines`).

    Yields
    ------
    tuple of (int, list of str)
        The 1-based physical line the record *starts* on, and its raw fields.

    Raises
    ------
    EncodingError, InputError
        As in :func:`iter_decoded_lines`; a CSV syntax error (e.g. a quote left
        open at end of file) is an ``InputError`` naming the line.
    """
    name = source_name(path, name)
    lines = iter_decoded_lines(path, encoding=encoding, name=name, warnings=warnings)
    if delimiter is None:
        head = list(itertools.islice(lines, _SNIFF_LINES))
        delimiter = sniff_delimiter(head)
        lines = itertools.chain(head, lines)
    yield from _records(lines, delimiter, name, line_offset, keep_blank_rows)


def _records(
    lines: Iterator[str], delimiter: str, name: str, line_offset: int, keep_blank_rows: bool
) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    last_end = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(
                f"{name}: CSV syntax error after line {last_end + line_offset}: {exc}",
                problems=[
                    Problem(f"CSV syntax error: {exc}", file=name, line=last_end + 1 + line_offset)
                ],
            ) from exc
        start = last_end + 1
        last_end = reader.line_num
        if not row or (
            (len(row) == 1 or not keep_blank_rows) and all(not cell.strip() for cell in row)
        ):
            continue
        yield start + line_offset, row
