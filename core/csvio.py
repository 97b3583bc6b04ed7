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
from typing import IO

from core.errors import EncodingError, InputError, Problem

#: Encoding tried when the caller names none; a UTF-8 BOM is stripped.
DEFAULT_ENCODING = "utf-8"

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
    source: Source, *, encoding: str | None = None, name: str | None = None
) -> Iterator[str]:
    """Yield the decoded physical lines of a text file or stream, line endings kept.

    Parameters
    ----------
    source
        File path, or an open binary stream (decoded here) or text stream
        (already decoded; open it with ``newline=""``).
    encoding
        Codec name; ``None`` means UTF-8. A leading UTF-8 BOM is always stripped.
    name
        Name used in problem reports; defaults to the file or stream name.

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
        When the input is empty (no bytes, or only blanks).
    """
    label = source_name(source, name)
    codec = codecs.lookup(encoding or DEFAULT_ENCODING).name
    if isinstance(source, (str, os.PathLike)):
        with Path(source).open("rb") as fh:
            yield from _decode_lines(fh, label=label, codec=codec, named=encoding is not None)
    else:
        yield from _decode_lines(source, label=label, codec=codec, named=encoding is not None)


def _decode_lines(
    stream: IO[bytes] | IO[str], *, label: str, codec: str, named: bool
) -> Iterator[str]:
    offset = 0
    seen_text = False
    for number, raw in enumerate(stream, start=1):
        if isinstance(raw, str):
            text = raw.removeprefix("\ufeff") if number == 1 else raw
        else:
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
                    "" if named else "; pass encoding='cp1252' or 'latin-1' if that is what it is"
                )
                raise EncodingError(
                    f"{label} is not valid {codec}: undecodable byte {bad!r} at line {number}, "
                    f"byte offset {at} (encodings tried: {codec}){hint}",
                    problems=[
                        Problem(
                            f"undecodable byte at byte offset {at} (encodings tried: {codec})",
                            file=label,
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
        raise InputError(f"{label} is empty", problems=[Problem("file is empty", file=label)])


def sniff_delimiter(first_line: str) -> str:
    """Pick the delimiter (``,``, ``;``, tab or ``|``) used most in a header line."""
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def iter_csv_rows(
    path: Source,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    name: str | None = None,
    line_offset: int = 0,
    keep_blank_rows: bool = False,
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
        Field separator; ``None`` sniffs it from the first line.
    line_offset
        Added to every line number (for a piece of a larger file).
    keep_blank_rows
        Yield records whose fields are all blank (``"",""``) too; only blank
        lines (no field, or one blank field) are skipped.

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
    lines = iter_decoded_lines(path, encoding=encoding, name=name)
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
