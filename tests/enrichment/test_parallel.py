"""Reading in a child process: what crosses the pipe is what an in-process read gives."""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

import pytest

from core.errors import SchemaError
from enrichment.nppes import iter_nppes
from enrichment.parallel import _widen, iter_stored_rows
from enrichment.records import StoredRows
from tests.paths import FIXTURES

DATA = FIXTURES
NPPES = DATA / "npidata_pfile_sample_first10_v2024layout.csv"


def _with_a_bad_row(tmp_path: Path) -> Path:
    with NPPES.open(newline="", encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    rows[4][0] = "1234567890"  # fails the NPI check digit
    out = tmp_path / "npidata_bad_row.csv"
    with out.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows([header, *rows])
    return out


def _summary(chunks) -> list[tuple]:
    return [
        (
            c.rows_read,
            [p.line for p in c.rejects],
            c.rows.keys,
            c.rows.lines,
            c.rows.npis,
            c.rows.payloads,
            c.rows.hashes,
            None if c.rows.codes is None else c.rows.codes.tolist(),
        )
        for c in chunks
    ]


def test_a_child_process_streams_exactly_what_an_in_process_read_gives(tmp_path) -> None:
    path = _with_a_bad_row(tmp_path)
    forked = _summary(iter_stored_rows(iter_nppes, path, chunk_rows=3))
    local = _summary(iter_stored_rows(iter_nppes, path, chunk_rows=3, in_process=True))
    assert forked == local
    assert [rows_read for rows_read, *_ in forked] == [3, 3, 3, 1]
    assert [line for _, rejects, *_ in forked for line in rejects] == [6]
    keys = [k for chunk in forked for k in chunk[2]]
    assert len(keys) == 9 and "1234567890" not in keys
    payloads = [p for chunk in forked for p in chunk[5]]
    hashes = [h for chunk in forked for h in chunk[6]]
    assert hashes == [hashlib.sha256(p.encode()).hexdigest() for p in payloads]


def test_an_error_in_the_child_is_raised_in_the_caller_with_its_problems(tmp_path) -> None:
    with NPPES.open(newline="", encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    i = header.index("Entity Type Code")
    bad = tmp_path / "npidata_no_entity_type.csv"
    with bad.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows(
            [r[:i] + r[i + 1 :] for r in [header, *rows]]
        )
    with pytest.raises(SchemaError) as info:
        list(iter_stored_rows(iter_nppes, bad, chunk_rows=3))
    assert any("Entity Type Code" in str(p) for p in info.value.problems)


def test_stored_rows_survive_the_ipc_round_trip_and_check_their_schema() -> None:
    rows = StoredRows.from_lists(
        keys=["a", "b"], lines=[2, 3], npis=["1234567893", None], payloads=['{"x":1}', '{"x":"é"}']
    )
    back = StoredRows.from_ipc(rows.to_ipc().to_pybytes())
    assert (back.keys, back.lines, back.npis, back.payloads) == (
        rows.keys,
        rows.lines,
        rows.npis,
        rows.payloads,
    )
    assert (
        back.hashes
        == rows.hashes
        == [hashlib.sha256(p.encode()).hexdigest() for p in rows.payloads]
    )
    assert StoredRows.from_lists(keys=[], lines=[], npis=[], payloads=[]).hashes == []
    with pytest.raises(TypeError):
        StoredRows(rows.table.drop_columns(["npi"]))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are a Linux feature")
def test_the_pipe_to_the_reader_is_widened() -> None:
    import fcntl
    import multiprocessing as mp

    if int(Path("/proc/sys/fs/pipe-max-size").read_text()) < 1 << 20:
        pytest.skip("this system caps pipes below 1 MB (the reader then keeps the default)")
    receive, send = mp.get_context("fork").Pipe(duplex=False)
    try:
        _widen(receive)
        assert fcntl.fcntl(receive.fileno(), fcntl.F_GETPIPE_SZ) >= 1 << 20
    finally:
        receive.close()
        send.close()
