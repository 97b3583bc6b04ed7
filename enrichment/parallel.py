"""Reading a big file in a child process while the caller writes what it read.

A load has two halves that each want a core: parsing and checking the file
(Arrow, NumPy, hashing) and writing to the database. Threads share one
interpreter lock; a child process does not. :func:`iter_stored_rows` runs a
reader in a forked child and streams, per chunk, exactly what a load writes
(:class:`~enrichment.records.StoredRows`), its rejects, its row count and its warnings.
Errors raised in the child (e.g. a :class:`~core.errors.SchemaError` naming the
missing columns) are raised again in the caller with their problems. If the
caller stops early or dies, the child stops at its next send.

The child allocates Arrow memory from jemalloc rather than pyarrow's default
mimalloc: a load allocates and frees a block's worth of columns per block,
and where transparent huge pages are ``always`` (e.g. RHEL's default) each
fresh mimalloc segment is faulted in as zeroed 2 MB pages, which made parsing
the CSV about 1.5 times as costly (``bench/ingest.py``).
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from core.errors import Problem, ServiceError
from core.notices import LoadWarning
from enrichment.records import ReadResult, StoredRows


@dataclass(frozen=True)
class StoredChunk:
    """One chunk as a load writes it."""

    rows: StoredRows
    rejects: list[Problem]
    rows_read: int
    warnings: list[LoadWarning] = field(default_factory=list)

    @classmethod
    def of(cls, result: ReadResult) -> StoredChunk:
        return cls(
            rows=result.stored_rows(),
            rejects=list(result.rejects),
            rows_read=result.rows_read,
            warnings=list(result.warnings),
        )


def iter_stored_rows(
    factory: Callable[..., Iterable[ReadResult]],
    *args: Any,
    in_process: bool = False,
    **kwargs: Any,
) -> Iterator[StoredChunk]:
    """Run ``factory(*args, **kwargs)`` (a reader yielding chunks) and yield each chunk's stored rows.

    Parameters
    ----------
    factory
        Module-level callable returning the reader's chunks.
    in_process
        Read in this process instead (small files, or where ``fork`` is unavailable).
    """
    if in_process or "fork" not in mp.get_all_start_methods():
        for result in factory(*args, **kwargs):
            yield StoredChunk.of(result)
        return
    context = mp.get_context("fork")
    receive, send = context.Pipe(
        duplex=False
    )  # a chunk: a pickled header, then its rows as Arrow IPC bytes
    _widen(receive)
    child = context.Process(
        target=_child, args=(send, receive, factory, args, kwargs), daemon=True, name="prm-reader"
    )
    child.start()
    send.close()
    try:
        while True:
            try:
                kind, payload = receive.recv()
            except EOFError:
                raise RuntimeError("the reader process ended without a result") from None
            if kind == "chunk":
                rejects, rows_read, codes, warnings = payload
                try:
                    body = receive.recv_bytes()
                except EOFError:
                    raise RuntimeError(
                        "the reader process ended in the middle of a chunk"
                    ) from None
                yield StoredChunk(
                    rows=StoredRows.from_ipc(body, codes=codes),
                    rejects=rejects,
                    rows_read=rows_read,
                    warnings=warnings,
                )
            elif kind == "error":
                raise _rebuild(payload)
            else:
                return
    finally:
        receive.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _child(
    send: Any, receive: Any, factory: Callable[..., Iterable[ReadResult]], args: tuple, kwargs: dict
) -> None:
    receive.close()  # else the pipe outlives the caller and a send never fails
    gc.freeze()  # the heap inherited from the caller is never garbage here: do not scan it again and again
    _prefer_jemalloc()
    try:
        for result in factory(*args, **kwargs):
            chunk = StoredChunk.of(result)
            body = (
                chunk.rows.to_ipc()
            )  # before the header: an error here is sent as an error, not a body
            send.send(("chunk", (chunk.rejects, chunk.rows_read, chunk.rows.codes, chunk.warnings)))
            send.send_bytes(body)
        send.send(("done", None))
    except (BrokenPipeError, ConnectionResetError):  # the caller went away
        return
    except ServiceError as exc:
        send.send(("error", (type(exc), exc.detail, exc.problems, None)))
    except Exception as exc:
        send.send(("error", (None, f"{type(exc).__name__}: {exc}", [], traceback.format_exc())))
    finally:
        send.close()


def _widen(connection: Any) -> None:
    """Give the pipe the largest buffer Linux allows an unprivileged process (1 MB, not 64 KB).

    A chunk is tens of megabytes: with the default buffer the two processes
    wake each other for every 64 KB, which cost more CPU than the copying.
    Elsewhere (or if refused) the pipe keeps its size.
    """
    try:
        import fcntl
    except ImportError:  # Windows
        return
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if setsize is not None:
        with suppress(OSError):  # above the system's pipe-max-size: the pipe keeps its size
            fcntl.fcntl(connection.fileno(), setsize, 1 << 20)


def _prefer_jemalloc() -> None:
    """Make jemalloc this process's default Arrow memory pool, where pyarrow was built with it."""
    # pyarrow built without jemalloc (e.g. on Windows) keeps its default pool
    with suppress(NotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def _rebuild(payload: tuple) -> Exception:
    kind, message, problems, trace = payload
    if kind is not None:
        try:
            return kind(message, problems=problems)
        except TypeError:
            return kind(message)
    return RuntimeError(f"reader process failed: {message}\n{trace}")
