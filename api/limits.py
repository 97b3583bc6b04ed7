"""Request limits enforced before routing: body size (413), body time (408), NUL characters (400).

Every limit is checked while the bytes arrive, before any authentication or
handler work, and answered with a problem document.
"""

from __future__ import annotations

import time

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response
from core.errors import BodyTimeoutError, PayloadTooLargeError

__all__ = ["UPLOAD_PREFIX", "NoNulCharacters", "RequestBodyGuard"]

#: Multipart framing around an uploaded file.
_OVERHEAD = 64 * 1024

UPLOAD_PREFIX = "/v1/uploads/"
"""Paths whose bodies are files: streamed to the handler (which authenticates first)."""


class RequestBodyGuard:
    """Bound every request body by size and by the time it takes to arrive.

    * A declared ``Content-Length`` over the limit is refused at once (413).
    * Any other body (JSON, forms) may hold ``max_body_bytes``: it is read
      here, before authentication, counting bytes as they stream (a chunked
      body without a length is cut off at the limit, 413) against a deadline
      of ``timeout_s`` (a body that trickles is cut off, 408); the handler
      then reads it from memory.
    * Uploads (:data:`UPLOAD_PREFIX`) may hold ``max_upload_bytes``: they
      stream through to the handler, which checks the key before reading
      them, and the same count and deadline raise
      :class:`~core.errors.PayloadTooLargeError` or
      :class:`~core.errors.BodyTimeoutError` inside it (problem documents
      from the one handler).

    Parameters
    ----------
    app
        The application.
    max_body_bytes
        ``PRM_MAX_JSON_BYTES``.
    max_upload_bytes
        ``PRM_MAX_UPLOAD_BYTES`` (the multipart framing comes on top).
    timeout_s
        ``PRM_BODY_TIMEOUT_S``: from the request's start to the body's last byte.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int,
                 timeout_s: float) -> None:  # fmt: skip
        self.app = app
        self.max_body = max_body_bytes
        self.max_upload = max_upload_bytes + _OVERHEAD
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"].startswith(UPLOAD_PREFIX)
        limit = self.max_upload if upload else self.max_body
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(scope, receive, send, 413,
                               f"request body of {int(length):,} bytes exceeds the limit of {limit:,}")
            return
        deadline = time.monotonic() + self.timeout_s
        if upload:
            await self.app(scope, _Metered(receive, limit=limit, deadline=deadline), send)
            return
        body, problem = await self._read(receive, limit=limit, deadline=deadline)
        if problem is not None:
            await self._refuse(scope, receive, send, *problem)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive, *, limit: int, deadline: float
                    ) -> tuple[bytes, tuple[int, str] | None]:  # fmt: skip
        metered = _Metered(receive, limit=limit, deadline=deadline)
        chunks: list[bytes] = []
        try:
            while True:
                message = await metered()
                if message["type"] != "http.request":
                    break  # the client went away: the handler will see the disconnect
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except PayloadTooLargeError as exc:
            return b"", (413, exc.detail)
        except BodyTimeoutError as exc:
            return b"", (408, exc.detail)
        return b"".join(chunks), None

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
        response = problem_response(status=status, detail=detail, instance=scope["path"],
                                    headers={"Connection": "close"})
        await response(scope, receive, send)


class _Metered:
    """A ``receive`` that counts body bytes and keeps to a deadline."""

    def __init__(self, receive: Receive, *, limit: int, deadline: float) -> None:
        self._receive = receive
        self.limit = limit
        self.deadline = deadline
        self.size = 0

    async def __call__(self) -> Message:
        with anyio.move_on_after(max(0.0, self.deadline - time.monotonic())) as waited:
            message = await self._receive()
        if waited.cancelled_caught:
            raise BodyTimeoutError("the request body did not arrive within the time allowed; "
                                   "send it at once")  # fmt: skip
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            if self.size > self.limit:
                raise PayloadTooLargeError(
                    f"request body larger than the limit of {self.limit:,} bytes")
        return message


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands out ``body`` once, then waits on the client (disconnects)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


class NoNulCharacters:
    """Refuse a path or query string holding a NUL character (raw or ``%00``): 400 problem.

    No filter value legitimately holds one, PostgreSQL text cannot store or
    compare one (a driver error, so a 500, deep in any query), and C-string
    tools downstream would cut the value at it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string") or b""
            path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            if any(b"\x00" in part or b"%00" in part.lower() for part in (query, path)):
                response = problem_response(
                    status=400, title="Bad request",
                    detail="the request line holds a NUL character (%00), which no parameter may contain",
                    instance=scope["path"].replace("\x00", "\\x00"),
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
