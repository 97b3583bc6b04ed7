"""Request limits enforced before routing: body size (413), body time (408), NUL characters (400),
credentials in URLs (401).

Every limit is checked while the bytes arrive, before any authentication or
handler work, and answered with a problem document.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote_plus

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response
from core.errors import BodyTimeoutError, PayloadTooLargeError, RateLimitError
from service.wire import string_schemas

__all__ = [
    "UPLOAD_PREFIX",
    "NoCredentialsInUrls",
    "NoNulCharacters",
    "RequestBodyGuard",
    "document_no_nul",
]

#: Multipart framing around an uploaded file.
_OVERHEAD = 64 * 1024

UPLOAD_PREFIX = "/v1/uploads/"
"""Paths whose bodies are files: streamed to the handler (which authenticates first)."""

MIN_UPLOAD_RATE = 64 * 1024
"""Bytes per second an upload must average, beyond its first ``PRM_BODY_TIMEOUT_S``: a 50 MB
file may take about 13 minutes (a slow clinic uplink), a trickle is cut off."""


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
      them, and the same count raises :class:`~core.errors.PayloadTooLargeError`
      inside it. Their time starts when the handler starts reading and grows
      with what arrived (``timeout_s`` plus one second per
      :data:`MIN_UPLOAD_RATE` bytes): an upload that trickles slower raises
      :class:`~core.errors.BodyTimeoutError` (problem documents from the one
      handler).

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

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int, timeout_s: float
    ) -> None:
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
            await self._refuse(
                scope,
                receive,
                send,
                413,
                f"request body of {int(length):,} bytes exceeds the limit of {limit:,}",
            )
            return
        if upload:
            metered = _Metered(
                receive, limit=limit, timeout_s=self.timeout_s, min_rate=MIN_UPLOAD_RATE
            )
            await self.app(scope, metered, send)
            return
        body, problem = await self._read(receive, limit=limit)
        if problem is not None:
            await self._refuse(scope, receive, send, *problem)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive, *, limit: int) -> tuple[bytes, tuple[int, str] | None]:
        metered = _Metered(receive, limit=limit, timeout_s=self.timeout_s)
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
        response = problem_response(
            status=status, detail=detail, instance=scope["path"], headers={"Connection": "close"}
        )
        await response(scope, receive, send)


class _Metered:
    """A ``receive`` that counts body bytes and keeps to a deadline.

    The deadline runs from the first read: ``timeout_s``, plus one second per
    ``min_rate`` bytes received when a rate is given.
    """

    def __init__(
        self, receive: Receive, *, limit: int, timeout_s: float, min_rate: float | None = None
    ) -> None:
        self._receive = receive
        self.limit = limit
        self.timeout_s = timeout_s
        self.min_rate = min_rate
        self.started: float | None = None
        self.size = 0

    @property
    def deadline(self) -> float:
        allowed = self.timeout_s + (self.size / self.min_rate if self.min_rate else 0.0)
        return (self.started if self.started is not None else time.monotonic()) + allowed

    async def __call__(self) -> Message:
        if self.started is None:
            self.started = time.monotonic()
        with anyio.move_on_after(max(0.0, self.deadline - time.monotonic())) as waited:
            message = await self._receive()
        if waited.cancelled_caught:
            raise BodyTimeoutError(
                "the request body did not arrive within the time allowed; send it at once"
            )
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            if self.size > self.limit:
                raise PayloadTooLargeError(
                    f"request body larger than the limit of {self.limit:,} bytes"
                )
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
                    status=400,
                    title="Bad request",
                    detail="the request line holds a NUL character (%00), which no parameter may contain",
                    instance=scope["path"].replace("\x00", "\\x00"),
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def document_no_nul(openapi: dict[str, Any]) -> None:
    """Say in ``openapi`` what :class:`NoNulCharacters` enforces: no text parameter (path, query,
    header, cookie) holds a NUL character. A text parameter without a pattern gets one."""
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                for text in string_schemas(parameter.get("schema", {})):
                    text.setdefault("pattern", _NO_NUL)


_NO_NUL = "^[^\\x00]*$"


class NoCredentialsInUrls:
    """Refuse any request whose URL carries an API key (``?api_key=``, any case or encoding): 401.

    On every path, public ones included: a key in a URL ends up in access logs,
    browser history and ``Referer`` headers, so it is refused whatever else
    the request carries, and the refusal draws from the address's bucket of
    refused credentials (:func:`api.deps.throttle_refused`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            names = (
                unquote_plus(pair.split("=", 1)[0]).strip().lower()
                for pair in scope["query_string"].decode("latin-1").split("&")
            )
            if any(name in _URL_KEY_NAMES for name in names):
                limiter = getattr(scope["app"].state, "rate_limiter", None)
                client = scope.get("client")
                status, detail = (
                    401,
                    (
                        "API keys are not accepted in URLs (?api_key=): send the key in the X-API-Key "
                        "header, or sign in (POST /v1/session) and let the browser send its session cookie"
                    ),
                )
                if limiter is not None:
                    try:
                        limiter.take(f"ip:{client[0] if client else 'unknown'}")
                    except RateLimitError as exc:
                        status, detail = 429, exc.detail
                response = problem_response(
                    status=status,
                    detail=detail,
                    instance=scope["path"],
                    headers={"Retry-After": "1"} if status == 429 else None,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


#: Query parameter names that would carry an API key.
_URL_KEY_NAMES = frozenset({"api_key", "apikey", "api-key", "key"})
