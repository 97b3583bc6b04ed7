"""Progress reporting shared by the CLI (rich) and the API (job records).

A :class:`ProgressSink` receives ``(stage, done, total)`` updates. Long jobs take
a sink argument; the CLI passes a rich-backed sink, the API a sink that writes
into the job table, tests pass nothing.
"""

from __future__ import annotations

from typing import Protocol


class ProgressSink(Protocol):
    def __call__(self, stage: str, done: int, total: int | None) -> None: ...


def null_progress(stage: str, done: int, total: int | None) -> None:
    """A sink that ignores updates."""
