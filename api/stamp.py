"""``PRM-Data-Stamp`` on every ``/v1`` and map answer: registry versions and as-of dates.

ASGI middleware. The stamp (:func:`service.stamp.data_stamp`) is read from
the database off the request path: a response never waits for it. The value
is kept per worker and refreshed by a thread of its own when older than
``ttl`` seconds, while answers go on carrying the previous value, so a load
finished a moment ago may take that long to show up in the header. Only the
very first read of a worker (the lifespan makes it at start-up) is awaited.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import anyio
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.stamp import data_stamp, stamp_header

__all__ = ["STAMP_HEADER", "DataStampMiddleware", "StampCache"]

STAMP_HEADER = "PRM-Data-Stamp"

logger = logging.getLogger("prm.api")


class StampCache:
    """The current stamp, refreshed in the background; reading it never blocks.

    Parameters
    ----------
    read
        Reads the stamp from the database (run in a thread of the cache's own).
    ttl
        Seconds after which a value is refreshed.
    """

    def __init__(self, read: Callable[[], str], *, ttl: float = 10.0) -> None:
        self._read = read
        self.ttl = ttl
        self._value: tuple[float, str] | None = None
        self._tried = float(
            "-inf"
        )  # last attempt, failed or not: a database down is asked once a ttl
        self._failing = False
        self._refreshing = threading.Lock()

    def refresh(self) -> str | None:
        """Read the stamp now, in this thread; the previous value is kept if the read fails."""
        if not self._refreshing.acquire(blocking=False):
            return self.value  # another thread is reading it
        self._tried = time.monotonic()
        try:
            self._value = (self._tried, self._read())
            self._failing = False
        except Exception:  # a busy or unreachable database: keep the last stamp, say why, once
            if not self._failing:
                logger.exception("could not refresh the data stamp (answers keep the last one)")
            self._failing = True
        finally:
            self._refreshing.release()
        return self.value

    @property
    def value(self) -> str | None:
        return self._value[1] if self._value is not None else None

    async def get(self) -> str | None:
        """The stamp; starts a background refresh when it is stale."""
        current = self._value
        if current is None:
            # first use in this worker (no lifespan ran): read it once, off the handlers' threads
            # (a limiter of its own: never a token of the handlers' thread pool)
            return await anyio.to_thread.run_sync(self.refresh, limiter=anyio.CapacityLimiter(1))
        if time.monotonic() - self._tried > self.ttl and not self._refreshing.locked():
            threading.Thread(target=self.refresh, name="prm-data-stamp", daemon=True).start()
        return current[1]


def context_stamp_reader(app_state: object) -> Callable[[], str]:
    """A reader of the stamp through the application context on ``app_state``."""

    def read() -> str:
        ctx = app_state.context  # type: ignore[attr-defined]
        with ctx.sessions() as session:
            return stamp_header(data_stamp(session))

    return read


class DataStampMiddleware:
    """Add the data stamp to successful GET answers under ``/v1`` and ``/map``."""

    def __init__(self, app: ASGIApp, *, cache: StampCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not ((path.startswith("/v1/") and path != "/v1/health") or path == "/map")
        ):
            await self.app(scope, receive, send)
            return
        first = True

        async def wrapped(message: Message) -> None:
            nonlocal first
            if (
                first
                and message["type"] == "http.response.start"
                and message["status"] in (200, 304)
            ):
                first = False
                stamp = await self.cache.get()
                if stamp:
                    MutableHeaders(scope=message)[STAMP_HEADER] = stamp
            await send(message)

        await self.app(scope, receive, wrapped)
