"""The one decoding rule (core.encodings), through the reader every text file goes through.

Property tests: whatever the text, a file written in UTF-8 (with or without a mark), UTF-16 or
UTF-32 with a mark, UTF-16 without one, or Windows-1252 after ASCII, reads back as written, with
a warning exactly when it was not UTF-8; a named encoding contradicted by the mark is refused.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.csvio import iter_decoded_lines
from core.encodings import sniff_encoding
from core.errors import EncodingError
from core.notices import ENCODING_DETECTED, LoadWarning

#: A CSV-like line: no NUL, no line break inside (lines are what the reader yields).
_CELL = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters="\n\r\u2028\u2029\x85"
    ),
    max_size=12,
)
_LINES = st.lists(
    st.lists(_CELL, min_size=1, max_size=4).map(",".join), min_size=1, max_size=6
).filter(lambda lines: any(line.strip() for line in lines))  # an all-blank file is refused


def _read(data: bytes, encoding: str | None = None) -> tuple[list[str], list[LoadWarning]]:
    warnings: list[LoadWarning] = []
    lines = list(
        iter_decoded_lines(io.BytesIO(data), encoding=encoding, name="f.csv", warnings=warnings)
    )
    return lines, warnings


def _text(lines: list[str]) -> str:
    return "".join(line + "\r\n" for line in lines)


@settings(max_examples=60, deadline=None)
@given(lines=_LINES, codec=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"]))
def test_a_file_with_or_without_its_mark_reads_back_as_written(lines, codec):
    text = _text(lines)
    read, warnings = _read(text.encode(codec))  # Python's utf-16/utf-32 write a mark
    assert "".join(read) == text
    detected = [w for w in warnings if w.code == ENCODING_DETECTED]
    assert bool(detected) == codec.startswith(("utf-16", "utf-32"))


# UTF-16 without a mark is told by its NULs: every character's other byte is NUL
_LATIN1_LINES = st.lists(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), min_size=1),
    min_size=1,
    max_size=5,
).filter(lambda lines: any(line.strip() for line in lines))


@settings(max_examples=40, deadline=None)
@given(lines=_LATIN1_LINES, order=st.sampled_from(["utf-16-le", "utf-16-be"]))
def test_utf16_without_a_mark_is_found_by_its_nuls(lines, order):
    text = _text(lines)
    read, warnings = _read(text.encode(order))
    assert "".join(read) == text
    assert [w.code for w in warnings] == [ENCODING_DETECTED]


# Windows-1252 after ASCII: a lead byte of UTF-8 (0xC0-0xFF) followed by no continuation byte
_CP1252_LINES = st.lists(
    st.text(
        alphabet=st.sampled_from(list("abc XYZ,;09\"'") + [chr(c) for c in range(0xC0, 0x100)]),
        min_size=1,
        max_size=20,
    ),
    min_size=1,
    max_size=5,
).filter(lambda lines: any(ord(ch) >= 0xC0 for line in lines for ch in line))


@settings(max_examples=40, deadline=None)
@given(ascii_first=st.lists(st.text(alphabet="abc ,;09", max_size=10), max_size=3),
       lines=_CP1252_LINES)  # fmt: skip
def test_windows_1252_after_ascii_reads_back_with_a_warning(ascii_first, lines):
    text = _text(["header,a", *ascii_first, *lines])
    read, warnings = _read(text.encode("cp1252"))
    assert "".join(read) == text
    assert [w.code for w in warnings] == [ENCODING_DETECTED]
    assert "Windows-1252" in warnings[0].message


def test_non_utf8_after_utf8_text_is_refused_naming_line_and_byte():
    data = "name\r\nZoë\r\n".encode() + "Zoë\r\n".encode("cp1252")
    with pytest.raises(EncodingError) as caught:
        _read(data)
    problem = caught.value.problems[0]
    assert (problem.file, problem.line) == ("f.csv", 3)


@pytest.mark.parametrize(
    ("mark_codec", "named"), [("utf-16", "utf-8"), ("utf-8-sig", "utf-16"), ("utf-32", "utf-16")]
)
def test_a_mark_contradicting_the_named_encoding_is_refused(mark_codec, named):
    head = "a,b\r\n".encode(mark_codec)
    with pytest.raises(EncodingError, match="byte-order mark"):
        sniff_encoding(head, encoding=named, file="f.csv")


def test_a_named_encoding_is_read_as_named_with_no_warning():
    text = "name\r\nZoë\r\n"
    read, warnings = _read(text.encode("cp1252"), encoding="cp1252")
    assert "".join(read) == text and warnings == []
