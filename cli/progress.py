"""A rich-backed progress sink for long CLI jobs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.progress import ProgressSink, Rate


def _left(seconds: float | None) -> str:
    """The time-remaining column's text: ``h:mm:ss left``, or ``-:--:--`` while unknown."""
    if seconds is None:
        return "-:--:-- left"
    return f"{timedelta(seconds=round(seconds))} left"


@contextmanager
def rich_progress(*, enabled: bool = True) -> Iterator[ProgressSink]:
    """Yield a sink drawing one bar per stage on stderr, with the time left in the stage.

    The time left is :class:`core.progress.Rate`'s (the API job's ``eta_seconds``).
    """
    if not enabled:
        yield lambda stage, done, total: None
        return
    bars = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[left]}"),
        transient=False,
    )
    tasks: dict[str, int] = {}
    rate = Rate()

    def sink(stage: str, done: int, total: int | None) -> None:
        left = _left(rate.update(stage, done, total))
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total, left=left)
        bars.update(tasks[stage], completed=done, total=total, left=left)

    with bars:
        yield sink
