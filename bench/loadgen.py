"""A light HTTP/1.1 load generator for loopback benchmarks (asyncio, keep-alive, no dependencies).

A client library such as httpx spends around a millisecond of CPU per
request; on a 2-core machine that shares its cores with the server, a load
generator that heavy measures itself. This one writes the request bytes,
reads the status line and headers, then the body (``Content-Length`` or
chunked), on one persistent connection per client: tens of microseconds per
request. It understands only what a benchmark needs, and refuses anything
else loudly (no redirects, no compression, no TLS).

    from bench.loadgen import Request, run_load
    result = run_load("127.0.0.1", 8000, [Request("/health")] * 1000, clients=8,
                      headers={"X-API-Key": key})
    result.percentile(95), result.statuses
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

import numpy as np

__all__ = ["LoadResult", "Request", "run_load"]


@dataclass(frozen=True, slots=True)
class Request:
    """A GET request: a path and its query parameters."""

    path: str
    params: dict[str, object] = field(default_factory=dict)

    def target(self) -> str:
        return f"{self.path}?{urlencode(self.params)}" if self.params else self.path


@dataclass
class LoadResult:
    """Latencies (ms, in completion order), status counts, wall time and the first bad answers."""

    latencies_ms: np.ndarray
    statuses: Counter
    seconds: float
    failures: list[str]

    def percentile(self, q: float) -> float:
        return (
            float(np.percentile(self.latencies_ms, q)) if len(self.latencies_ms) else float("nan")
        )

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, bytes(body)
            body += chunk[:-2]
    if status in (204, 304):
        return status, b""
    raise RuntimeError(f"cannot delimit a response without Content-Length or chunking: {lines[0]}")


async def _client(
    host: str,
    port: int,
    work: list[bytes],
    out: list[float],
    statuses: Counter,
    failures: list[str],
    until: float | None,
    timeout: float | None,
    tail: bytes,
) -> None:
    """One keep-alive connection; a request unanswered within ``timeout`` counts as ``"timeout"``
    and the connection is replaced (as a client library would)."""
    writer = None
    try:
        while work and (until is None or time.monotonic() < until):
            if writer is None:
                try:
                    reader, writer = await asyncio.open_connection(host, port)
                except OSError:
                    statuses["connect error"] += 1
                    await asyncio.sleep(0.1)
                    continue
            request = work.pop() + tail
            t = time.perf_counter()
            try:
                writer.write(request)
                status, body = await asyncio.wait_for(_read_response(reader), timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                statuses["timeout" if isinstance(exc, TimeoutError) else "connection lost"] += 1
                writer.close()
                writer = None
                continue
            out.append((time.perf_counter() - t) * 1000)
            statuses[status] += 1
            if status >= 400 and len(failures) < 5:
                failures.append(
                    f"{request.decode('latin-1').split()[1]} -> {status} {body[:200]!r}"
                )
    finally:
        if writer is not None:
            writer.close()


def run_load(
    host: str,
    port: int,
    requests: list[Request],
    *,
    clients: int = 8,
    headers: dict[str, str] | list[dict[str, str]] | None = None,
    seconds: float | None = None,
    timeout: float | None = None,
) -> LoadResult:
    """Send ``requests`` (each once, from the end of the list) with ``clients`` concurrent connections.

    Parameters
    ----------
    host, port
        The server on loopback.
    requests
        The requests to send; a client takes the next one as soon as its last answer arrived.
    clients
        Concurrent keep-alive connections (each has at most one request in flight).
    headers
        Extra request headers (API key, ``Cache-Control``); a list gives client ``i`` the
        headers ``headers[i % len(headers)]`` (e.g. several keys).
    seconds
        Stop taking new requests after this long (None: send them all).
    timeout
        Seconds a request may wait for its answer; past it, it counts as ``"timeout"``.

    Returns
    -------
    LoadResult
        Latency of every answered request, counts by status, wall time.
    """
    if clients < 1:
        raise ValueError(f"clients must be >= 1, not {clients}")
    sets = headers if isinstance(headers, list) else [headers or {}]
    tails = [
        f" HTTP/1.1\r\nHost: {host}:{port}\r\n".encode("latin-1")
        + "".join(f"{k}: {v}\r\n" for k, v in h.items()).encode("latin-1")
        + b"\r\n"
        for h in sets
    ]
    # popped from the end: reversed so the first request goes first; line and headers in one write
    work = [b"GET " + r.target().encode() for r in reversed(requests)]
    latencies: list[float] = []
    statuses: Counter = Counter()
    failures: list[str] = []

    async def main() -> float:
        until = time.monotonic() + seconds if seconds else None
        start = time.perf_counter()
        await asyncio.gather(
            *(
                _client(
                    host,
                    port,
                    work,
                    latencies,
                    statuses,
                    failures,
                    until,
                    timeout,
                    tails[i % len(tails)],
                )
                for i in range(clients)
            )
        )
        return time.perf_counter() - start

    elapsed = asyncio.run(main())
    return LoadResult(np.asarray(latencies), statuses, elapsed, failures)
