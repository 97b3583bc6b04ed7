"""Streaming CSV access with physical line numbers and strict decoding.

The registry readers need three things the plain :mod:`csv` module does not
give: the *physical* line a record starts on (quoted fields may span lines),
an error that names the line and byte offset of undecodable bytes, and a clear
refusal of empty files. Everything here streams: nothing holds the file.

Only ASCII-compatible, byte-oriented encodings are supported (UTF-8, Latin-1,
cp1252, ...); UTF-16 files are not handled yet.
"""

from __future__ import annotations

import codecs
import csv
import os
from collections.abc import Iterator
from pathlib import Path

from core.errors import EncodingError, InputError, Problem

#: Encoding tried when the caller names none; a UTF-8 BOM is stripped.
DEFAULT_ENCODING = "utf-8"

_DELIMITERS = (",", ";", "\t", "|")


def _check_path(path: str | os.PathLike[str]) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be str or os.PathLike, not {type(path).__name__}")
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such file: {p}", problems=[Problem("file not found", file=str(p))])
    return p


def iter_decoded_lines(
    path: str | os.PathLike[str], *, encoding: str | None = None
) -> Iterator[str]:
    """Yield the decoded physical lines of a text file, line endings kept.

    Parameters
    ----------
    path
        File to read.
    encoding
        Codec name; ``None`` means UTF-8. A leading UTF-8 BOM is always stripped.

    Yields
    ------
    str
        One physical line, with its ``\\n`` / ``\\r\\n`` ending.

    Raises
    ------
    EncodingError
        At the first undecodable byte, naming the file, the line, the byte
        offset in the file and the encodings tried.
    InputError
        When the file is empty (no bytes, or only blanks).
    """
    p = _check_path(path)
    codec = codecs.lookup(encoding or DEFAULT_ENCODING).name
    offset = 0
    seen_text = False
    with p.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            chunk = raw
            if number == 1 and chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8) :]
                offset += len(codecs.BOM_UTF8)
            try:
                text = chunk.decode(codec)
            except UnicodeDecodeError as exc:
                at = offset + exc.start
                bad = chunk[exc.start : exc.end]
                hint = (
                    ""
                    if encoding
                    else "; pass encoding='cp1252' or 'latin-1' if that is what it is"
                )
                raise EncodingError(
                    f"{p.name} is not valid {codec}: undecodable byte {bad!r} at line {number}, "
                    f"byte offset {at} (encodings tried: {codec}){hint}",
                    problems=[
                        Problem(
                            f"undecodable byte at byte offset {at} (encodings tried: {codec})",
                            file=p.name,
                            line=number,
                            value=bad.hex(),
                        )
                    ],
                ) from exc
            offset += len(chunk)
            if not seen_text and text.strip():
                seen_text = True
            yield text
    if not seen_text:
        raise InputError(f"{p.name} is empty", problems=[Problem("file is empty", file=p.name)])


def sniff_delimiter(first_line: str) -> str:
    """Pick the delimiter (``,``, ``;``, tab or ``|``) used most in a header line."""
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def iter_csv_rows(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line, fields)`` for every non-blank CSV record, header included.

    Parameters
    ----------
    path
        CSV file.
    encoding
        As in :func:`iter_decoded_lines`.
    delimiter
        Field separator; ``None`` sniffs it from the first line.

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
    lines = iter_decoded_lines(path, encoding=encoding)
    name = Path(path).name
    if delimiter is None:
        first = next(lines, None)
        if first is None:  # pragma: no cover - iter_decoded_lines raises first
            return
        delimiter = sniff_delimiter(first)

        def _chain(head: str = first) -> Iterator[str]:
            yield head
            yield from lines

        source: Iterator[str] = _chain()
    else:
        source = lines
    reader = csv.reader(source, delimiter=delimiter, strict=False)
    last_end = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(
                f"{name}: CSV syntax error after line {last_end}: {exc}",
                problems=[Problem(f"CSV syntax error: {exc}", file=name, line=last_end + 1)],
            ) from exc
        start = last_end + 1
        last_end = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        yield start, row
