"""Vectorised cleaners for registry text columns (Arrow in, Arrow or NumPy out).

Whole columns at a time with :mod:`pyarrow.compute` and NumPy, for the
columnar registry readers (:mod:`enrichment.nppes_columns`): trimming exactly
as :meth:`str.strip` does with blanks as null, NPI check digits, ``MM/DD/YYYY``
dates checked against the calendar, phone numbers (E.164) and US ZIP codes.
"""

from __future__ import annotations

import sys
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.country import normalize_phone
from core.identifiers import NPI_PREFIX

__all__ = [
    "blank_to_null",
    "clean",
    "normalize_phones",
    "parse_dates",
    "us_postal_codes",
    "valid_npis",
]

#: Every character :meth:`str.strip` removes, so Arrow trims exactly as Python does.
_WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
_DATE = r"^(?P<m>[0-9]{1,2})/(?P<d>[0-9]{1,2})/(?P<y>[0-9]{4})$"
_EXTENSION = r"(?i)\s*(?:x|ext\.?|extension|#)\s*[0-9]+\s*$"
_PHONE_TEXT = r"(?i)^[0-9 ()./+\-]+(?:\s*(?:x|ext\.?|extension|#)\s*[0-9]+)?$"


def clean(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Strip like :meth:`str.strip`; blank becomes null."""
    if (
        isinstance(column, pa.Array)
        and pa.types.is_string(column.type)
        and not _holds_bytes(column)
    ):
        return pa.nulls(len(column), pa.string())  # every cell empty (most slots of most rows)
    trimmed = pc.utf8_trim(column, characters=_WHITESPACE)
    if isinstance(trimmed, pa.ChunkedArray):
        trimmed = trimmed.combine_chunks()
    return blank_to_null(trimmed)


def _holds_bytes(text: pa.Array) -> bool:
    """Whether any string of a string array is longer than zero bytes."""
    offsets = text.buffers()[1]
    if offsets is None or not len(text):
        return False
    first, last = np.frombuffer(offsets, dtype=np.int32)[[text.offset, text.offset + len(text)]]
    return bool(last > first)


def blank_to_null(text: pa.Array) -> pa.Array:
    """``""`` becomes null; the strings themselves are not copied (a new validity bitmap only)."""
    if not pa.types.is_string(text.type):
        return pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)
    n, start = len(text), text.offset
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[start : start + n + 1]
    valid = np.zeros(start + n, dtype=bool)
    valid[start:] = np.diff(offsets) > 0
    if text.null_count:
        valid[start:] &= pc.is_valid(text).to_numpy(zero_copy_only=False)
    nulls = n - int(np.count_nonzero(valid[start:]))
    if not nulls:
        return text
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        pa.string(),
        n,
        [bitmap, text.buffers()[1], text.buffers()[2]],
        null_count=nulls,
        offset=start,
    )


def valid_npis(column: pa.Array) -> np.ndarray:
    """Whether each (cleaned) value is ten ASCII digits with a valid NPI check digit."""
    shaped = pc.fill_null(pc.match_substring_regex(column, r"^[0-9]{10}$"), False).to_numpy(
        zero_copy_only=False
    )
    ok = np.zeros(len(column), dtype=bool)
    idx = np.flatnonzero(shaped)
    if len(idx):
        text = pc.take(column, pa.array(idx)).to_numpy(zero_copy_only=False).astype("S10")
        digits = np.frombuffer(text.tobytes(), dtype=np.uint8).reshape(-1, 10).astype(np.int64) - 48
        full = np.concatenate(
            [
                np.tile(np.frombuffer(NPI_PREFIX.encode(), dtype=np.uint8) - 48, (len(idx), 1)),
                digits,
            ],
            axis=1,
        )
        # Luhn: double every second digit from the right
        doubled = full[:, -2::-2] * 2
        total = full[:, -1::-2].sum(axis=1) + (doubled - 9 * (doubled > 9)).sum(axis=1)
        ok[idx] = total % 10 == 0
    return ok


def parse_dates(column: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """``MM/DD/YYYY`` values (cleaned) as a date32 array, and a mask of malformed ones."""
    parts = pc.extract_regex(column, _DATE)
    n = len(column)
    present = pc.is_valid(column).to_numpy(zero_copy_only=False)
    matched = pc.is_valid(parts).to_numpy(zero_copy_only=False)
    days = np.zeros(n, dtype=np.int32)
    good = np.zeros(n, dtype=bool)
    if matched.any():
        m, d, y = (
            pc.cast(pc.fill_null(pc.struct_field(parts, i), "0"), pa.int64()).to_numpy(
                zero_copy_only=False
            )
            for i in (0, 1, 2)
        )
        leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
        month_len = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 0, 12)]
        month_len = month_len + ((m == 2) & leap)
        good = matched & (y >= 1) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= month_len)
        days = _days_from_civil(y, m, d).astype(np.int32)
    dates = pa.array(days, type=pa.int32(), mask=~good).cast(pa.date32())
    return dates, present & ~good


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def normalize_phones(column: pa.Array, countries: pa.Array | None = None) -> pa.Array:
    """Vector form of :func:`core.country.normalize_phone` (cleaned input): E.164 or null.

    ``countries`` holds each row's country (``None``: every row is a US one).
    A US row written as ten digits (after an optional ``+1``/``1``) is read
    here a column at a time; libphonenumber decides a US number's validity by
    its first six digits (area code and exchange), so each distinct six-digit
    prefix is checked once (:func:`_us_prefix_valid`, cached). Every other
    present value (a foreign number, an unusual shape) goes through
    :func:`~core.country.normalize_phone` one by one, with its row's country.
    """
    n = len(column)
    text_ok = _mask(pc.match_substring_regex(column, _PHONE_TEXT))
    digits = pc.replace_substring_regex(
        pc.replace_substring_regex(column, _EXTENSION, ""), r"[^0-9]", ""
    )
    eleven = pc.and_(pc.equal(pc.utf8_length(digits), 11), pc.starts_with(digits, "1"))
    # written internationally ("+..."), a number is US only with its country code 1
    foreign = _mask(pc.starts_with(column, "+")) & ~_mask(eleven)
    digits = pc.if_else(eleven, pc.utf8_slice_codeunits(digits, 1), digits)
    shaped = text_ok & ~foreign
    shaped &= _mask(pc.match_substring_regex(digits, r"^[2-9][0-9]{2}[2-9][0-9]{6}$"))
    us = np.ones(n, dtype=bool) if countries is None else _mask(pc.equal(countries, "US"))
    fast = shaped & us
    out = np.full(n, None, dtype=object)
    if fast.any():
        picked = pc.filter(digits, pa.array(fast))
        prefixes = pc.utf8_slice_codeunits(picked, 0, 6)
        valid = [p for p in pc.unique(prefixes).to_pylist() if _us_prefix_valid(p)]
        ok = _mask(pc.is_in(prefixes, pa.array(valid, pa.string())))
        where = np.flatnonzero(fast)
        out[where[ok]] = ["+1" + d for d in pc.filter(picked, pa.array(ok)).to_pylist()]
    slow = np.flatnonzero(_mask(pc.is_valid(column)) & ~fast)
    if len(slow):
        values = pc.take(column, pa.array(slow)).to_pylist()
        places = (
            [None] * len(slow)
            if countries is None
            else pc.take(countries, pa.array(slow)).to_pylist()
        )
        out[slow] = [
            normalize_phone(v, country=c if countries is not None else "US")
            for v, c in zip(values, places, strict=True)
        ]
    return pa.array(out, pa.string())


@cache  # at most 800 x 800 area code and exchange pairs
def _us_prefix_valid(prefix: str) -> bool:
    """Whether US numbers starting with these six digits (area code, exchange) are valid."""
    return normalize_phone(prefix + "2345", country="US") is not None


def _mask(values: pa.Array) -> np.ndarray:
    return pc.fill_null(values, False).to_numpy(zero_copy_only=False).astype(bool)


def us_postal_codes(column: pa.Array) -> pa.Array:
    """Five-digit ZIP of a ZIP / ZIP+4 (cleaned input), else null."""
    ok = pc.match_substring_regex(column, r"^[0-9]{5}(?:-?[0-9]{4})?$")
    return pc.if_else(ok, pc.utf8_slice_codeunits(column, 0, 5), pa.scalar(None, pa.string()))
