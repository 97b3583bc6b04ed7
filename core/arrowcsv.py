"""Columnar CSV reading: Arrow tables with the physical line of every row.

:func:`core.csvio.iter_csv_rows` gives exact line numbers and strict decoding
but goes row by row in Python; a 9-million-row registry file needs a columnar
parser. This module gets both: the byte stream is cut into blocks at record
boundaries (an even number of quotes before the cut), each block is checked
for encoding and parsed by :mod:`pyarrow.csv`, and rows are mapped to
physical lines. A block whose rows do not map one-to-one onto its lines
(quoted line breaks, blank lines, rows with the wrong number of fields, a
quote left open at the end) is parsed again by the row reader, so line
numbers, rejects of ragged rows and syntax errors are exactly those of
:func:`~core.csvio.iter_csv_rows` (``keep_blank_rows=True``: a record of
blank fields is a row; a blank line is not). The block
after the current one is parsed on a worker thread while the caller works.

Only the columns asked for are converted; all values are strings (``""`` for
an empty field, never null).
"""

from __future__ import annotations

import io
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from core.csvio import Source, iter_csv_rows, source_name
from core.encodings import TextDecoder, open_text_bytes
from core.errors import InputError, Problem
from core.notices import LoadWarning

T = TypeVar("T")
R = TypeVar("R")

#: Bytes read per block; a block always ends on a record boundary.
BLOCK_BYTES = 8 << 20


@dataclass(frozen=True)
class ArrowChunk:
    """Rows of one chunk: selected columns as strings, their lines, ragged-row rejects.

    Attributes
    ----------
    table
        One string column per requested column, in the order requested.
    lines
        1-based physical line each row of ``table`` starts on (int64).
    rejects
        Rows whose field count differs from the header's (not in ``table``).
    rows_read
        Data rows read: ``table.num_rows`` plus the rejected rows.
    """

    table: pa.Table
    lines: np.ndarray
    rejects: list[Problem] = field(default_factory=list)
    rows_read: int = 0


@dataclass
class _Block:
    data: bytes  # UTF-8, whole records, ends with a newline
    first_line: int  # physical line of the block's first byte
    lines: int = 0  # newlines in ``data``
    exact: bool = False  # parse with the row reader (e.g. a quote left open at the end)


class ArrowCsvReader:
    """Read a delimited text file or stream as Arrow chunks.

    Use as a context manager; :attr:`header` is read on entry.

    Parameters
    ----------
    source
        Path, or an open binary stream (e.g. a zip member).
    delimiter
        Field separator.
    encoding
        Codec of the bytes; ``None`` detects it (:mod:`core.encodings`). Other
        codecs than UTF-8 are transcoded block by block.
    name
        Name used in problem reports; defaults to the file or stream name.
    block_bytes
        Bytes read per block.

    Attributes
    ----------
    warnings
        The warning of an encoding detected (not UTF-8), once known.
    """

    def __init__(
        self,
        source: Source,
        *,
        delimiter: str = ",",
        encoding: str | None = None,
        name: str | None = None,
        block_bytes: int = BLOCK_BYTES,
    ) -> None:
        self.name = source_name(source, name)
        if isinstance(source, io.TextIOBase):  # already decoded: re-encode as UTF-8
            source, encoding = _Utf8Stream(source), "utf-8"
        self._source = source
        self._encoding = encoding
        self._delimiter = delimiter
        self._block_bytes = max(int(block_bytes), 1 << 10)
        self._stream: IO[bytes] | None = None
        self._owned: IO[bytes] | None = None
        self._decoder: TextDecoder | None = None
        self.header: list[str] = []
        self.header_line = 1
        self.warnings: list[LoadWarning] = []
        self._offset = 0  # bytes of the source consumed (for error messages)
        self._line = 1  # physical line the next unread byte is on

    # -- context -----------------------------------------------------------------
    def __enter__(self) -> ArrowCsvReader:
        if isinstance(self._source, (str, os.PathLike)):
            self._owned = raw = Path(self._source).open("rb")
        else:
            raw = self._source  # type: ignore[assignment]
        try:
            opened = open_text_bytes(
                raw, encoding=self._encoding, file=self.name, warnings=self.warnings
            )
            self._stream, self._decoder, self._offset = opened.stream, opened.decoder, opened.offset
            self._read_header()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned is not None:
            self._owned.close()

    # -- header ------------------------------------------------------------------
    def _read_header(self) -> None:
        assert self._stream is not None and self._decoder is not None
        while True:
            raw = self._stream.readline()
            if not raw:
                raise InputError(
                    f"{self.name} is empty", problems=[Problem("file is empty", file=self.name)]
                )
            text = self._decoder.decode(raw, line=self._line, offset=self._offset)
            self._offset += len(raw)
            self._line += 1
            if text.strip():
                break
        self.header_line = self._line - 1
        rows = [
            r
            for _, r in iter_csv_rows(io.StringIO(text), delimiter=self._delimiter, name=self.name)
        ]
        self.header = [h.strip() for h in rows[0]] if rows else []

    # -- blocks ------------------------------------------------------------------
    def _blocks(self) -> Iterator[_Block]:
        """Whole-record UTF-8 blocks, each ending with a newline."""
        assert self._stream is not None
        carry = b""
        while True:
            raw = self._stream.read(self._block_bytes)
            data = carry + raw
            if not raw:
                if data.strip():
                    block = self._block(data if data.endswith(b"\n") else data + b"\n", len(data))
                    block.exact = data.count(b'"') % 2 == 1
                    yield block
                return
            cut = _record_boundary(data)
            if cut < 0:  # no complete record yet: read on
                carry = data
                continue
            carry = data[cut:]
            yield self._block(data[:cut], cut)

    def _block(self, data: bytes, consumed: int) -> _Block:
        assert self._decoder is not None
        first_line, offset = self._line, self._offset
        if self._decoder.codec == "utf-8" and (data.isascii() or _valid_utf8(data)):
            self._decoder.seen(data, line=first_line)  # ASCII (most registry files): checked fast
        else:  # transcoded, or the first byte that is not UTF-8 (refused, or read as cp1252)
            data = self._decoder.decode(data, line=first_line, offset=offset).encode("utf-8")
        lines = _count_byte(data, 0x0A)
        self._line += lines
        self._offset += consumed
        return _Block(data=data, first_line=first_line, lines=lines)

    # -- chunks ------------------------------------------------------------------
    def chunks(self, columns: Sequence[str], *, chunk_rows: int) -> Iterator[ArrowChunk]:
        """Yield chunks of ``chunk_rows`` data rows (the last may be shorter).

        Parameters
        ----------
        columns
            Header names to convert, each present in :attr:`header`.
        chunk_rows
            Data rows read per chunk (rejected rows count).

        Raises
        ------
        KeyError
            A requested column is not in the header.
        EncodingError, InputError
            Undecodable bytes; a CSV syntax error such as an unclosed quote.
        """
        missing = [c for c in columns if c not in self.header]
        if missing:
            raise KeyError(f"columns not in the header: {missing}")
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be positive")
        parse = _BlockParser(self.header, list(columns), self._delimiter, self.name)
        pending: list[ArrowChunk] = []
        pending_rows = 0
        yielded = False
        # parse as many blocks ahead as a chunk takes, else the parser idles while a chunk is assembled
        for parsed in map_ahead(
            parse, self._blocks(), name="csv-parse", depth=self._depth(chunk_rows)
        ):
            pending.append(parsed)
            pending_rows += parsed.rows_read
            while pending_rows >= chunk_rows:
                chunk, pending = _take(pending, chunk_rows)
                pending_rows -= chunk.rows_read
                yielded = True
                yield chunk
        if pending_rows or not yielded:
            yield _concat(pending, columns)

    def _depth(self, chunk_rows: int) -> int:
        """Blocks to parse ahead: enough for a chunk of ``chunk_rows`` rows (sized by the header), at most 8."""
        row_bytes = max(64, 3 * len(self.header))  # at least the quotes and commas of empty fields
        return max(1, min(8, -(-chunk_rows * row_bytes // self._block_bytes) + 1))


class _Utf8Stream(io.RawIOBase):
    """A text stream read as UTF-8 bytes."""

    def __init__(self, text: IO[str]) -> None:
        self._text, self._buffer = text, b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while len(self._buffer) < len(target):
            piece = self._text.read(1 << 16)
            if not piece:
                break
            self._buffer += piece.encode("utf-8")
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def map_ahead(
    fn: Callable[[T], R], items: Iterable[T], *, name: str = "ahead", depth: int = 1
) -> Iterator[R]:
    """``map(fn, items)``, with ``fn`` of the next ``depth`` items running on a worker thread.

    While the caller works on result k, the worker computes results k+1 ..
    k+depth (pulling the items from ``items`` itself, in order). Arrow
    kernels, file reads and SQLite release the GIL, so two cores share the
    work of a load. A caller that consumes several results per step of its
    own (e.g. a few blocks per chunk) needs a ``depth`` of that many, or the
    worker idles while the caller waits for it.
    """
    if depth < 1:
        raise ValueError("depth must be positive")
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) as pool:
        source = iter(items)
        sentinel = object()

        def step() -> Any:
            item = next(source, sentinel)
            return sentinel if item is sentinel else fn(item)  # type: ignore[arg-type]

        ahead: deque[Future[R]] = deque(pool.submit(step) for _ in range(depth))
        try:
            while (result := ahead.popleft().result()) is not sentinel:
                ahead.append(pool.submit(step))
                yield result
        finally:
            for future in ahead:  # the end, an error, or the caller left: run no further steps
                future.cancel()


def _record_boundary(data: bytes) -> int:
    """Offset just past the last newline outside quotes, or -1 when there is none."""
    end = len(data)
    quotes = _count_byte(data, 0x22)
    while True:
        nl = data.rfind(b"\n", 0, end)
        if nl < 0:
            return -1
        quotes -= data.count(b'"', nl + 1, end)
        if quotes % 2 == 0:
            return nl + 1
        end = nl


def _count_byte(data: bytes, byte: int) -> int:
    """``data.count(bytes([byte]))``, with a vectorised compare (several times faster on a block)."""
    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == byte))


def _valid_utf8(data: bytes) -> bool:
    arr = pa.Array.from_buffers(
        pa.large_binary(),
        1,
        [None, pa.py_buffer(np.array([0, len(data)], dtype=np.int64)), pa.py_buffer(data)],
    )
    try:
        arr.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


class _BlockParser:
    """Parse one block: Arrow when rows map one-to-one onto lines, else the row reader."""

    def __init__(self, header: list[str], columns: list[str], delimiter: str, name: str) -> None:
        self.header, self.columns, self.name = header, columns, name
        self.delimiter = delimiter
        self.index = [header.index(c) for c in columns]
        self.read = pacsv.ReadOptions(
            column_names=[f"c{i}" for i in range(len(header))],
            use_threads=False,
            block_size=1 << 26,
        )
        self.convert = pacsv.ConvertOptions(
            include_columns=[f"c{i}" for i in self.index],
            # read as bytes and viewed as text (no copy): every block is valid UTF-8 already (checked or
            # transcoded in _block), and Arrow converts binary columns faster than string ones
            column_types={f"c{i}": pa.binary() for i in self.index},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )

    def __call__(self, block: _Block) -> ArrowChunk:
        if block.exact:
            return self._slow(block)
        lines = block.lines
        ragged: list[int] = []

        def skip(_row: object) -> str:
            ragged.append(1)
            return "skip"

        try:
            table = pacsv.read_csv(
                pa.BufferReader(block.data),
                read_options=self.read,
                convert_options=self.convert,
                parse_options=pacsv.ParseOptions(
                    delimiter=self.delimiter, invalid_row_handler=skip, newlines_in_values=True
                ),
            )
        except pa.ArrowInvalid:
            return self._slow(block)
        if ragged or table.num_rows != lines:
            return self._slow(block)
        table = pa.Table.from_arrays(
            [_as_text(column) for column in table.columns], names=self.columns
        )
        starts = np.arange(block.first_line, block.first_line + lines, dtype=np.int64)
        return ArrowChunk(table=table, lines=starts, rows_read=lines)

    def _slow(self, block: _Block) -> ArrowChunk:
        width = len(self.header)
        text = block.data.decode("utf-8")
        if not text.strip():  # only blank lines
            return _concat([], self.columns)
        cells: list[list[str]] = []
        lines: list[int] = []
        rejects: list[Problem] = []
        shift = block.first_line - 1
        for line, row in iter_csv_rows(
            io.StringIO(text),
            delimiter=self.delimiter,
            name=self.name,
            line_offset=shift,
            keep_blank_rows=True,
        ):
            if len(row) != width:
                rejects.append(
                    Problem(
                        f"row has {len(row)} fields, header has {width}",
                        file=self.name,
                        line=line,
                        value=self.delimiter.join(row)[:60],
                    )
                )
                continue
            cells.append(row)
            lines.append(line)
        table = pa.table(
            {
                c: pa.array([r[i] for r in cells], type=pa.string())
                for c, i in zip(self.columns, self.index)
            }
        )
        return ArrowChunk(
            table=table,
            lines=np.array(lines, dtype=np.int64),
            rejects=rejects,
            rows_read=len(cells) + len({p.line for p in rejects}),
        )


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A binary column of valid UTF-8 as a string column, sharing its buffers."""
    return pa.chunked_array([chunk.view(pa.string()) for chunk in column.chunks], pa.string())


def _take(parts: list[ArrowChunk], n: int) -> tuple[ArrowChunk, list[ArrowChunk]]:
    """The first ``n`` rows read of ``parts`` as one chunk, and what is left."""
    taken: list[ArrowChunk] = []
    got = 0
    rest = list(parts)
    while rest and got < n:
        part = rest.pop(0)
        if got + part.rows_read <= n:
            taken.append(part)
            got += part.rows_read
            continue
        head, tail = _split(part, n - got)
        taken.append(head)
        rest.insert(0, tail)
        got = n
    return _concat(taken, taken[0].table.column_names if taken else []), rest


def _split(part: ArrowChunk, k: int) -> tuple[ArrowChunk, ArrowChunk]:
    """Split a chunk after its first ``k`` rows read (rejected rows count, by line)."""
    reject_lines = sorted({p.line for p in part.rejects if p.line is not None})
    # the line of the k-th row read, counting table rows and rejected rows in line order
    events = np.sort(np.concatenate([part.lines, np.array(reject_lines, dtype=np.int64)]))
    cut_line = events[k - 1] if k > 0 else -1
    keep = int(np.searchsorted(part.lines, cut_line, side="right"))
    head_rej = [p for p in part.rejects if p.line is not None and p.line <= cut_line]
    tail_rej = [p for p in part.rejects if p not in head_rej]
    head = ArrowChunk(part.table.slice(0, keep), part.lines[:keep], head_rej, k)
    tail = ArrowChunk(part.table.slice(keep), part.lines[keep:], tail_rej, part.rows_read - k)
    return head, tail


def _concat(parts: list[ArrowChunk], columns: Sequence[str]) -> ArrowChunk:
    if not parts:
        empty = pa.table({c: pa.array([], type=pa.string()) for c in columns})
        return ArrowChunk(empty, np.zeros(0, dtype=np.int64), [], 0)
    if len(parts) == 1:
        return parts[0]
    return ArrowChunk(
        table=pa.concat_tables([p.table for p in parts]),
        lines=np.concatenate([p.lines for p in parts]),
        rejects=[r for p in parts for r in p.rejects],
        rows_read=sum(p.rows_read for p in parts),
    )
