"""Progress reporting shared by the CLI (rich) and the API (job records).

A :class:`ProgressSink` receives ``(stage, done, total)`` updates. Long jobs take
a sink argument; the CLI passes a rich-backed sink, the API a sink that writes
into the job table, tests pass nothing. A chunked stage calls its sink once per
chunk with the work done so far and the stage's total.

:class:`Rate` turns those updates into the time left in the stage (the one
estimate the CLI's bars and the API's job show), in constant memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class ProgressSink(Protocol):
    def __call__(self, stage: str, done: int, total: int | None) -> None: ...


def null_progress(stage: str, done: int, total: int | None) -> None:
    """A sink that ignores updates."""


class Rate:
    """The time left in the current stage at its rate since the stage's first update.

    O(1) state: the stage, its first update (time and done count) and its
    latest. A new stage, or ``done`` going back (a stage's second phase
    counting afresh), starts the measurement again.

    Parameters
    ----------
    clock
        Seconds from any origin (``time.monotonic``; tests pass their own).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._stage: str | None = None
        self._start = (0.0, 0)  # (time, done) of the stage's first update
        self._last = (0.0, 0)

    def update(self, stage: str, done: int, total: int | None) -> float | None:
        """Record an update; return the seconds left (None while unknown).

        Unknown: no total, nothing done since the stage began, or no time
        elapsed yet. Zero once ``done`` reaches ``total``.
        """
        now = self._clock()
        if stage != self._stage or done < self._last[1]:
            self._stage, self._start = stage, (now, done)
        self._last = (now, done)
        if total is None:
            return None
        if done >= total:
            return 0.0
        elapsed, progressed = now - self._start[0], done - self._start[1]
        if elapsed <= 0 or progressed <= 0:
            return None
        return (total - done) * elapsed / progressed
