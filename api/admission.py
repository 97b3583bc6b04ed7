"""Admission control: a worker runs a bounded number of requests; the rest wait, briefly.

Handlers run in a small thread pool (``PRM_API_THREADS``) and each holds a
pooled database connection while it works. Without a bound, a burst of
requests all start, each takes a connection, and the pool runs dry while the
threads that would give the connections back wait for one themselves: the
worker wedges. :class:`AdmissionGate` lets at most ``max_active`` requests in
at once (:attr:`core.settings.Settings.max_active_requests`); up to
``max_queued`` more wait in arrival order; a request that waited
``timeout_s`` (``PRM_QUEUE_TIMEOUT_S``), or that finds the queue full, is
answered ``503`` with ``Retry-After`` (a problem document), never left
hanging. A request holds its slot until its answer starts: sending the
answer (to a slow reader, a streamed export) holds none, so slow clients
cannot fill the worker. Health checks skip the gate: they have a connection
of their own.
"""

from __future__ import annotations

import math

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response

__all__ = ["EXEMPT_PATHS", "AdmissionGate"]

EXEMPT_PATHS = frozenset({"/health", "/v1/health"})
"""Paths never queued (probes must answer while the worker is saturated)."""


class AdmissionGate:
    """ASGI middleware bounding the requests a worker runs and queues.

    Parameters
    ----------
    app
        The application to protect.
    max_active
        Requests running at once.
    max_queued
        Requests waiting at once; one more is refused at once.
    timeout_s
        Longest wait for a slot before a 503.
    """

    def __init__(self, app: ASGIApp, *, max_active: int, max_queued: int, timeout_s: float) -> None:
        if max_active < 1 or max_queued < 0 or timeout_s <= 0:
            raise ValueError("need max_active >= 1, max_queued >= 0 and timeout_s > 0")
        self.app = app
        self.max_active = max_active
        self.max_queued = max_queued
        self.timeout_s = timeout_s
        self._slots: anyio.Semaphore | None = None  # made in the event loop, on first use
        self.waiting = 0

    @property
    def active(self) -> int:
        """Requests admitted whose answer has not started yet."""
        return self.max_active - (self._slots.value if self._slots is not None else self.max_active)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = anyio.Semaphore(self.max_active)
        slots = self._slots
        if slots.value == 0 and self.waiting >= self.max_queued:
            await self._refuse(scope, receive, send, f"{self.waiting} requests are already waiting")
            return
        self.waiting += 1
        try:
            with anyio.move_on_after(self.timeout_s) as waited:
                await slots.acquire()
        finally:
            self.waiting -= 1
        if waited.cancelled_caught:
            await self._refuse(
                scope, receive, send, f"no request slot became free within {self.timeout_s:g} s"
            )
            return
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                slots.release()

        async def send_then_free(message: Message) -> None:
            # the answer is built: sending it (a slow reader, a long export) holds no slot
            if message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            await self.app(scope, receive, send_then_free)
        finally:
            release()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, why: str) -> None:
        response = problem_response(
            status=503,
            title="Service busy",
            detail=f"the server is at capacity ({why}); retry after the time in Retry-After",
            instance=scope["path"],
            headers={"Retry-After": str(max(1, math.ceil(self.timeout_s / 4)))},
        )
        await response(scope, receive, send)
