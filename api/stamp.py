"""``PRM-Data-Stamp`` on every ``/v1`` and map answer: registry versions and as-of dates.

ASGI middleware. The stamp (:func:`service.stamp.data_stamp`) is read at most
once every ``ttl`` seconds per worker, so a load finished a moment ago may take
that long to show up in the header.
"""

from __future__ import annotations

import time

import anyio
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.stamp import data_stamp, stamp_header

__all__ = ["STAMP_HEADER", "DataStampMiddleware"]

STAMP_HEADER = "PRM-Data-Stamp"


class DataStampMiddleware:
    """Add the data stamp to successful GET answers under ``/v1`` and ``/map``."""

    def __init__(self, app: ASGIApp, *, ttl: float = 10.0) -> None:
        self.app = app
        self.ttl = ttl
        self._cached: tuple[float, str] | None = None

    def _read(self, scope: Scope) -> str | None:
        ctx = getattr(scope["app"].state, "context", None)
        if ctx is None:
            return None
        with ctx.sessions() as session:
            return stamp_header(data_stamp(session))

    async def _stamp(self, scope: Scope) -> str | None:
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > self.ttl:
            value = await anyio.to_thread.run_sync(self._read, scope)
            if value is None:
                return None
            self._cached = (now, value)
        return self._cached[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if scope["type"] != "http" or scope["method"] != "GET" or not (
            path.startswith("/v1/") and path != "/v1/health" or path == "/map"
        ):
            await self.app(scope, receive, send)
            return
        stamp: str | None = None
        first = True

        async def wrapped(message: Message) -> None:
            nonlocal stamp, first
            if first and message["type"] == "http.response.start" and message["status"] in (200, 304):
                first = False
                stamp = await self._stamp(scope)
                if stamp:
                    MutableHeaders(scope=message)[STAMP_HEADER] = stamp
            await send(message)

        await self.app(scope, receive, wrapped)
