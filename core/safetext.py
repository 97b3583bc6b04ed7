"""What text may be stored: the one rule every reader applies before a value reaches the database.

A value is refused when it holds

* a C0 control character (U+0000 to U+001F): PostgreSQL cannot store NUL at
  all (``text fields cannot contain NUL (0x00) bytes``), and none of them is
  ever part of a name, code, identifier or address. TAB, LF and CR are
  allowed in free-text fields only (a note may have lines);
* a lone surrogate (U+D800 to U+DFFF): it has no UTF-8 form, so no driver can
  send it (text decoded strictly never holds one; JSON ``"\\ud800"`` does);
* more characters than the column it is stored in holds: PostgreSQL refuses
  it (``value too long for type character varying(n)``) and so do SQLite's
  length triggers (:mod:`data.lengths`). Lengths count code points, as
  PostgreSQL's ``varchar(n)``, SQLite's ``length()`` and :func:`len` do.

:func:`text_fault` judges one value; :func:`faulty_rows` judges a whole Arrow
string column with byte scans (a registry file has millions of cells), and
:func:`value_faults` walks the strings nested in a JSON value. The limits
themselves come from the storage models (``data.models``), never from here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import Problem

#: Control characters a free-text field may hold (lines and tabs of a note).
FREE_TEXT_CONTROLS = frozenset("\t\n\r")
_FREE_BYTES = np.array(sorted(ord(c) for c in FREE_TEXT_CONTROLS), dtype=np.uint8)


def text_fault(value: str, *, max_length: int | None = None, free_text: bool = False) -> str | None:
    """Why ``value`` may not be stored, or ``None`` when it may.

    Parameters
    ----------
    value
        The text as it would be stored.
    max_length
        Characters the column holds; ``None`` for no limit.
    free_text
        Allow TAB, LF and CR (notes); every other field refuses them.

    Examples
    --------
    >>> text_fault("Smith"), text_fault("Sm\\x00ith"), text_fault("abc", max_length=2)
    (None, 'contains the control character U+0000 (NUL)', 'is 3 characters long; at most 2 can be stored')
    """
    if max_length is not None and len(value) > max_length:
        return f"is {len(value)} characters long; at most {max_length} can be stored"
    if value.isprintable():  # the common case: no control character, no surrogate, one C-level scan
        return None
    for char in value:
        code = ord(char)
        if code < 0x20 and not (free_text and char in FREE_TEXT_CONTROLS):
            name = "NUL" if code == 0 else repr(char)[1:-1]
            return f"contains the control character U+{code:04X} ({name})"
        if 0xD800 <= code <= 0xDFFF:
            return f"contains a lone surrogate U+{code:04X} (not valid Unicode text)"
    return None


def fit_text(value: str | None, max_length: int) -> str | None:
    """A text made from stored values (a display name), cut to ``max_length`` characters with ``…``.

    For values the service composes itself: a value read from a file is
    refused when too long (:func:`text_fault`), never cut.

    Examples
    --------
    >>> fit_text("Ann Lee, MD", 20), fit_text("abcdef", 4)
    ('Ann Lee, MD', 'abc…')
    """
    if value is None or len(value) <= max_length:
        return value
    return value[: max_length - 1] + "…"


def fit_key(key: str, max_length: int) -> str:
    """A key the service composes, made to fit ``max_length`` characters and stay distinct.

    A longer key keeps its start and ends with a hash of the whole, so two keys
    cut to the same start still differ.

    Examples
    --------
    >>> fit_key("short", 30), len(fit_key("x" * 500, 30))
    ('short', 30)
    """
    if len(key) <= max_length:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{key[: max_length - 17]}#{digest}"


def shown(value: str, *, limit: int = 80) -> str:
    """``value`` as a problem report shows it: control characters and surrogates escaped, cut to ``limit``.

    Reject files and load reports are stored and displayed; the very bytes a
    value was refused for must not get into them.

    Examples
    --------
    >>> shown("Sm\\x00ith"), shown("x" * 100, limit=5)
    ('Sm\\\\x00ith', 'xxxxx... (100 characters)')
    """
    head = value[:limit]
    if not head.isprintable():
        head = "".join(map(_escaped, head))
    return head if len(value) <= limit else f"{head}... ({len(value)} characters)"


def _escaped(char: str) -> str:
    if char.isprintable() or char == " ":
        return char
    code = ord(char)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def value_faults(
    value: Any, *, max_length: int | None = None, path: str = ""
) -> Iterator[tuple[str, str, str]]:
    """``(path, reason, text)`` of every string :func:`text_fault` refuses inside a JSON-like value.

    Dict keys are judged too (without a length limit); ``path`` names the
    place, e.g. ``identifiers.other[2].issuer``.
    """
    if isinstance(value, str):
        reason = text_fault(value, max_length=max_length)
        if reason is not None:
            yield path, reason, value
    elif isinstance(value, dict):
        for key, item in value.items():
            at = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and (reason := text_fault(key)) is not None:
                yield at, f"key {reason}", key
            yield from value_faults(item, max_length=max_length, path=at)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from value_faults(item, max_length=max_length, path=f"{path}[{i}]")


def value_problems(
    values: Mapping[str, Any],
    *,
    file: str | None,
    line: int | None,
    limits: Mapping[str, int],
    default_limit: int | None = None,
    headers: Mapping[str, str] | None = None,
    free_text: Collection[str] = (),
) -> list[Problem]:
    """One problem per value of a row that may not be stored (:func:`text_fault`).

    Parameters
    ----------
    values
        The values a row stores, by field; strings are judged, and the strings
        nested in lists and dicts (JSON values) too.
    file, line
        Where the row is, for the problems.
    limits
        Longest text per field; a field not listed, and every nested string,
        is held to ``default_limit``.
    headers
        Field (or nested path, e.g. ``identifiers.siret``) -> the file's column
        it came from, named in the problems; a field not listed is named as is.
    free_text
        Fields that may hold TAB, LF and CR.
    """
    headers = headers or {}
    problems: list[Problem] = []
    for key, value in values.items():
        if isinstance(value, str):
            reason = text_fault(
                value, max_length=limits.get(key, default_limit), free_text=key in free_text
            )
            if reason is not None:
                problems.append(
                    refused(value, reason, file=file, line=line, field=headers.get(key, key))
                )
        elif isinstance(value, dict | list | tuple):
            for path, reason, text in value_faults(value, max_length=default_limit, path=key):
                problems.append(
                    refused(text, reason, file=file, line=line, field=headers.get(path, path))
                )
    return problems


def refused(
    value: str, reason: str, *, file: str | None, line: int | None, field: str | None
) -> Problem:
    """The problem of a value :func:`text_fault` refuses (the value shown escaped and cut)."""
    return Problem(f"value {reason}", file=file, line=line, field=field, value=shown(value))


def faulty_rows(
    column: pa.Array | pa.ChunkedArray, *, max_length: int | None = None, free_text: bool = False
) -> np.ndarray:
    """Positions (ascending) of the values of a string column :func:`text_fault` refuses.

    Works on the column's bytes: a UTF-8 byte below 0x20 is always a control
    character (multi-byte sequences use bytes from 0x80), a lone surrogate
    can only be the bytes ``ED A0..BF`` (which Arrow's own UTF-8 check would
    refuse, but a column viewed from raw bytes may hold), and a value no
    longer in bytes than ``max_length`` cannot be longer in characters; only
    the few values longer in bytes are counted in characters. Null counts as
    no value.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not pa.types.is_string(column.type):
        column = column.cast(pa.string())
    n = len(column)
    if not n or column.null_count == n:
        return np.zeros(0, dtype=np.int64)
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[
        column.offset : column.offset + n + 1
    ]
    start = int(offsets[0])
    data = np.frombuffer(column.buffers()[2] or b"", dtype=np.uint8)[start : int(offsets[-1])]
    bad = data < 0x20
    if free_text:
        bad &= ~np.isin(data, _FREE_BYTES)
    lead = np.flatnonzero(data[:-1] == 0xED)
    hits = [np.flatnonzero(bad), lead[data[lead + 1] >= 0xA0]]
    rows = [np.searchsorted(offsets, np.concatenate(hits) + start, side="right") - 1]
    if max_length is not None:
        long = np.flatnonzero(np.diff(offsets) > max_length)
        if len(long):
            chars = pc.utf8_length(pc.take(column, pa.array(long))).to_numpy(zero_copy_only=False)
            rows.append(long[chars > max_length])
    found = np.unique(np.concatenate(rows)).astype(np.int64)
    if column.null_count and len(found):  # a null's bytes (if any) are not a value
        found = found[pc.is_valid(pc.take(column, pa.array(found))).to_numpy(zero_copy_only=False)]
    return found
