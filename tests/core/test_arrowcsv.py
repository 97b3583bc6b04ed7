"""Columnar CSV reading: rows, physical lines and rejects agree with the row reader."""

from __future__ import annotations

import csv
import io
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.arrowcsv import ArrowCsvReader, map_ahead
from core.csvio import iter_csv_rows
from core.errors import EncodingError, InputError
from core.keyset import KeySet, key_codes

HEADER = ["id", "name", "note"]


def _csv_bytes(rows: list[list[str]], *, newline: str = "\n") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator=newline)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _read(data: bytes, *, chunk_rows: int, block_bytes: int, columns=("note", "id")):
    with ArrowCsvReader(io.BytesIO(data), name="t.csv", block_bytes=block_bytes) as reader:
        chunks = list(reader.chunks(list(columns), chunk_rows=chunk_rows))
    return reader.header, chunks


def _reference(data: bytes):
    good, bad = [], []
    for line, row in list(
        iter_csv_rows(io.BytesIO(data), delimiter=",", name="t.csv", keep_blank_rows=True)
    )[1:]:
        (good if len(row) == len(HEADER) else bad).append((line, row))
    return good, bad


_cell = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"),
    max_size=12,
)
_row = st.one_of(
    st.lists(_cell, min_size=3, max_size=3),
    st.lists(_cell, min_size=1, max_size=5),  # sometimes ragged
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(_row, max_size=30),
    chunk_rows=st.integers(1, 7),
    block_bytes=st.integers(1024, 1400),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_rows_lines_and_rejects_match_the_row_reader(rows, chunk_rows, block_bytes, newline):
    data = _csv_bytes(rows, newline=newline)
    header, chunks = _read(data, chunk_rows=chunk_rows, block_bytes=block_bytes)
    good, bad = _reference(data)
    assert header == HEADER
    got_rows = [
        (int(line), note, ident)
        for c in chunks
        for line, note, ident in zip(
            c.lines, c.table.column("note").to_pylist(), c.table.column("id").to_pylist()
        )
    ]
    assert got_rows == [(line, row[2], row[0]) for line, row in good]
    assert sorted(p.line for c in chunks for p in c.rejects) == [line for line, _ in bad]
    assert all(
        "fields, header has 3" in p.message and p.file == "t.csv" for c in chunks for p in c.rejects
    )
    sizes = [c.rows_read for c in chunks]
    assert sum(sizes) == len(good) + len(bad)
    assert all(s == chunk_rows for s in sizes[:-1]) and 0 <= sizes[-1] <= chunk_rows


def test_quoted_newlines_and_blank_lines_keep_physical_lines():
    data = b'"id","name","note"\n"1","a","x\ny"\n\n"2","b","z"\n"3","c",""'
    _, chunks = _read(data, chunk_rows=10, block_bytes=1 << 20)
    (chunk,) = chunks
    assert chunk.lines.tolist() == [2, 5, 6]
    assert chunk.table.column("note").to_pylist() == ["x\ny", "z", ""]


def test_big_file_takes_the_fast_path_across_blocks():
    rows = [[str(i), f"name {i}", "note"] for i in range(5000)]
    data = _csv_bytes(rows)
    _, chunks = _read(data, chunk_rows=1234, block_bytes=4096)
    lines = [int(x) for c in chunks for x in c.lines]
    assert lines == list(range(2, 5002))
    assert [c.rows_read for c in chunks] == [1234, 1234, 1234, 1234, 64]


def test_bad_utf8_after_utf8_text_names_line_and_offset():
    data = _csv_bytes([["1", "ZO\u00cb", "b"], ["2", "JOS\u00c9", "c"]]).replace(
        "JOSÉ".encode(), "JOS\xc9".encode("latin-1")
    )
    with pytest.raises(EncodingError) as err:
        _read(data, chunk_rows=10, block_bytes=1 << 20)
    (problem,) = err.value.problems
    assert (problem.file, problem.line, problem.value) == ("t.csv", 3, "c9")
    assert f"byte offset {data.index(b'JOS') + 3}" in str(err.value)
    assert "UTF-8 text on line 2" in str(err.value) and "--encoding" in str(err.value)


def test_a_non_utf8_byte_after_ascii_reads_as_cp1252_with_a_warning():
    data = _csv_bytes([["1", "a", "b"], ["2", "JOS\u00c9", "c"]]).replace(
        "JOSÉ".encode(), "JOS\xc9".encode("cp1252")
    )
    with ArrowCsvReader(io.BytesIO(data), name="t.csv", block_bytes=1 << 20) as reader:
        (chunk,) = reader.chunks(["name"], chunk_rows=5)
    assert chunk.table.column("name").to_pylist() == ["a", "JOSÉ"]
    (warning,) = reader.warnings
    assert warning.code == "encoding_detected" and "Windows-1252" in warning.message


def test_named_encoding_is_transcoded():
    data = '"id","name","note"\n"1","JOSÉ","x"\n'.encode("cp1252")
    with ArrowCsvReader(io.BytesIO(data), encoding="cp1252") as reader:
        (chunk,) = reader.chunks(["name"], chunk_rows=5)
    assert chunk.table.column("name").to_pylist() == ["JOSÉ"]


def test_empty_input_is_an_input_error():
    with pytest.raises(InputError):
        _read(b"", chunk_rows=5, block_bytes=1 << 20)


def test_quote_left_open_at_the_end_reads_as_the_row_reader_does():
    data = b'"id","name","note"\n"1","a","b\n"2","c","d"\n'
    _, chunks = _read(data, chunk_rows=5, block_bytes=1 << 20)
    good, _ = _reference(data)
    assert [r for c in chunks for r in c.table.column("note").to_pylist()] == [
        row[2] for _, row in good
    ]
    assert [int(x) for c in chunks for x in c.lines] == [line for line, _ in good]


def test_text_streams_and_unknown_columns():
    text = io.StringIO('"id","name","note"\n"1","é","x"\n', newline="")
    with ArrowCsvReader(text) as reader:
        (chunk,) = reader.chunks(["name"], chunk_rows=5)
        assert chunk.table.column("name").to_pylist() == ["é"]
    with ArrowCsvReader(io.BytesIO(b"a,b\n1,2\n")) as reader, pytest.raises(KeyError):
        list(reader.chunks(["c"], chunk_rows=5))


def test_map_ahead_keeps_order_and_raises():
    assert list(map_ahead(lambda x: x * 2, range(5))) == [0, 2, 4, 6, 8]
    assert list(map_ahead(lambda x: x, [])) == []

    def boom(x: int) -> int:
        if x == 3:
            raise ValueError("three")
        return x

    with pytest.raises(ValueError, match="three"):
        list(map_ahead(boom, range(5)))


@given(st.integers(0, 12), st.integers(1, 6))
def test_map_ahead_at_any_depth_is_map(n, depth):
    assert list(map_ahead(lambda x: x * 2, range(n), depth=depth)) == [2 * x for x in range(n)]


def test_map_ahead_runs_depth_items_ahead_and_no_further_once_stopped():
    pulled: list[int] = []

    def items():
        for i in range(100):
            pulled.append(i)
            yield i

    results = map_ahead(lambda x: x, items(), depth=4)
    assert next(results) == 0
    deadline = time.monotonic() + 5
    while len(pulled) < 5 and time.monotonic() < deadline:  # item 0 and the four after it
        time.sleep(0.01)
    assert len(pulled) == 5
    results.close()  # the caller stops: nothing more is read
    assert len(pulled) <= 6


@given(
    st.lists(
        st.one_of(st.from_regex(r"[0-9]{1,20}", fullmatch=True), st.text(max_size=6)), max_size=60
    ),
    st.integers(1, 9),
)
def test_key_set_is_a_set(keys, step):
    seen, ks = set(), KeySet()
    for i in range(0, len(keys), step):
        part = keys[i : i + step]
        fresh = ks.add_new(part)
        expect = []
        for k in part:
            expect.append(k not in seen)
            seen.add(k)
        assert fresh.tolist() == expect
    assert ks.size == len(seen)


def test_key_codes_keep_leading_zeros_apart():
    a, b, c = key_codes(["0123", "123", "abc"])
    assert a != b and c < 0 <= min(a, b)


@given(
    st.one_of(
        st.integers(1, 17).flatmap(
            lambda w: st.lists(st.from_regex(rf"[0-9]{{{w}}}", fullmatch=True), max_size=30)
        ),
        st.lists(
            st.one_of(st.from_regex(r"[0-9]{1,20}", fullmatch=True), st.text(max_size=6)),
            max_size=30,
        ),
    )
)
def test_key_codes_of_an_arrow_array_are_key_codes(keys):
    import pyarrow as pa

    from core.keyset import key_codes_of_array

    array = pa.array(keys, pa.string())
    assert key_codes_of_array(array).tolist() == key_codes(keys).tolist()
    if len(keys) > 2:
        assert key_codes_of_array(array.slice(1)).tolist() == key_codes(keys[1:]).tolist()


@given(st.lists(st.from_regex(r"[0-9]{3}", fullmatch=True), max_size=60), st.integers(1, 9))
def test_key_set_with_given_codes_is_a_set(keys, step):
    seen, ks = set(), KeySet()
    for i in range(0, len(keys), step):
        part = keys[i : i + step]
        fresh = ks.add_new(part, key_codes(part))
        assert fresh.tolist() == [k not in seen and k not in part[:j] for j, k in enumerate(part)]
        seen.update(part)
    assert ks.size == len(seen)
