"""The one rule for text that may be stored, on single values and on whole Arrow columns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.safetext import (
    faulty_rows,
    fit_key,
    fit_text,
    shown,
    text_fault,
    value_faults,
    value_problems,
)


@pytest.mark.parametrize("char", [chr(c) for c in range(0x20)])
def test_every_c0_control_character_is_refused_and_only_tab_lf_cr_in_free_text(char) -> None:
    assert text_fault(f"ab{char}c") == f"contains the control character U+{ord(char):04X} " + (
        "(NUL)" if char == "\x00" else f"({repr(char)[1:-1]})"
    )
    assert (text_fault(f"ab{char}c", free_text=True) is None) == (char in "\t\n\r")


def test_lone_surrogates_are_refused_and_lengths_count_characters() -> None:
    assert "lone surrogate U+D800" in text_fault("a\ud800")
    assert "lone surrogate U+DCFF" in text_fault("\udcff", free_text=True)
    assert (
        text_fault("😀" * 5, max_length=5) is None
    )  # code points, as varchar(n) and SQLite's length()
    assert text_fault("é" * 6, max_length=5) == "is 6 characters long; at most 5 can be stored"
    assert text_fault("Ünïcødé ßtraße, 北京", max_length=100) is None
    assert text_fault("\u00a0\u200b\u2028") is None  # not printable, yet not control characters


_any = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)
_cells = st.one_of(
    st.none(), _any, st.sampled_from(["\x00", "a\tb", "\r\n", "é" * 7, "x" * 9, "\x1f", ""])
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_cells, max_size=12),
    st.integers(0, 3),
    st.one_of(st.none(), st.integers(0, 8)),
    st.booleans(),
)
def test_the_column_scan_is_the_scalar_rule(values, start, limit, free) -> None:
    column = pa.array(values, pa.string()).slice(min(start, len(values)))
    expect = [
        i
        for i, v in enumerate(values[min(start, len(values)) :])
        if v is not None and text_fault(v, max_length=limit, free_text=free) is not None
    ]
    assert faulty_rows(column, max_length=limit, free_text=free).tolist() == expect
    chunked = (
        pa.chunked_array([column.slice(0, 1), column.slice(1)], pa.string())
        if len(column)
        else column
    )
    assert faulty_rows(chunked, max_length=limit, free_text=free).tolist() == expect


def test_the_column_scan_finds_surrogate_bytes_in_a_column_viewed_from_raw_bytes() -> None:
    raw = pa.array([b"ok", b"a\xed\xa0\x80b", b"\xed\x9f\xbf", None], pa.binary())  # U+D7FF is fine
    assert faulty_rows(raw.view(pa.string())).tolist() == [1]


def test_nested_values_are_walked_with_their_paths_and_problems_name_the_files_column() -> None:
    found = list(
        value_faults({"other": [{"issuer": "x\x00"}], "ok\x01": "y" * 3}, max_length=2, path="ids")
    )
    assert found == [
        ("ids.other[0].issuer", "contains the control character U+0000 (NUL)", "x\x00"),
        ("ids.ok\x01", "key contains the control character U+0001 (\\x01)", "ok\x01"),
        ("ids.ok\x01", "is 3 characters long; at most 2 can be stored", "yyy"),
    ]
    (problem,) = value_problems(
        {"last_name": "a\x00", "line": 7, "gender": "F"},
        file="f.csv",
        line=7,
        limits={"last_name": 100, "gender": 1},
        headers={"last_name": "Last Name"},
    )
    assert (problem.file, problem.line, problem.field, problem.value) == (
        "f.csv",
        7,
        "Last Name",
        "a\\x00",
    )
    assert problem.message == "value contains the control character U+0000 (NUL)"
    note = {"note": "line one\nline two"}
    assert value_problems(note, file=None, line=None, limits={}, free_text={"note"}) == []
    assert value_problems(note, file=None, line=None, limits={}) != []


def test_a_shown_value_carries_no_control_character_and_is_cut() -> None:
    assert shown("a\x00\ud800b") == "a\\x00\\ud800b"
    assert shown("x" * 100_000) == "x" * 80 + "... (100000 characters)"
    assert shown(" é ") == " é "


@given(st.lists(st.text(max_size=40), min_size=2, max_size=6, unique=True), st.integers(18, 30))
def test_fitted_keys_fit_and_stay_distinct(keys, limit) -> None:
    fitted = [fit_key(k, limit) for k in keys]
    assert all(len(f) <= limit for f in fitted) and len(set(fitted)) == len(keys)
    assert [f for k, f in zip(keys, fitted) if len(k) <= limit] == [
        k for k in keys if len(k) <= limit
    ]


def test_fitted_text_fits() -> None:
    assert (
        fit_text(None, 3) is None and fit_text("abc", 3) == "abc" and fit_text("abcd", 3) == "ab…"
    )
    assert np.all([len(fit_text("x" * n, 5)) <= 5 for n in range(12)])
