"""Geocode by chunks of providers: the same rows whatever the chunk size, on both backends."""

from __future__ import annotations

from datetime import date, datetime

from service.linkage.resolve import resolve_providers
from service.placement.locate import geocode_providers
from tests.service.test_ingest import snapshot as every_row
from tests.service.test_pipeline import load_all


def snapshot(ctx) -> dict[str, list]:
    """Every row of every data table, without the times rows were written (``updated_at``)."""
    return {
        table: [tuple(v for v in row if not isinstance(v, datetime)) for row in rows]
        for table, rows in every_row(ctx).items()
    }


class Recording:
    """Checkpoints that remember what was marked (and skip what it is told)."""

    def __init__(self, skip: set[tuple[str, str]] = frozenset()) -> None:
        self.skip, self.marked = skip, []

    def done(self, stage: str, chunk: str) -> bool:
        return (stage, chunk) in self.skip

    def mark(self, session, stage: str, chunk: str) -> None:
        self.marked.append((stage, chunk))


def test_tiny_chunks_place_every_row_as_one_chunk_does(ctx) -> None:
    object.__setattr__(
        ctx, "settings", ctx.settings.model_copy(update={"as_of": date(2024, 6, 30)})
    )
    load_all(ctx)
    updates: list[tuple[str, int, int | None]] = []
    resolve_providers(
        ctx,
        chunk_records=5,
        progress=lambda stage, done, total: updates.append((stage, done, total)),
    )
    golden = [(d, t) for s, d, t in updates if s == "golden records"]
    assert golden[0] == (0, 12) and golden[-1] == (12, 12) and len(golden) >= 3  # per chunk
    tiny = Recording()
    report = geocode_providers(
        ctx,
        chunk_rows=2,
        checkpoints=tiny,
        progress=lambda stage, done, total: updates.append((stage, done, total)),
    )
    chunked = snapshot(ctx)
    whole = geocode_providers(ctx, chunk_rows=10**6)  # every row again, in one chunk
    assert snapshot(ctx) == chunked
    assert report.detail == whole.detail and report.detail["providers"] == 10
    providers = [c for s, c in tiny.marked if c.startswith("providers=")]
    assert len(providers) == 5 and providers[0].startswith("providers=[1,")
    assert any(c.startswith("organizations=") for _, c in tiny.marked)
    geocode = [(d, t) for s, d, t in updates if s == "geocode"]
    assert geocode == [(0, 10), (2, 10), (4, 10), (6, 10), (8, 10), (10, 10)]  # per chunk


def test_marked_chunks_are_skipped_and_a_rerun_of_missing_ones_finishes_the_job(ctx) -> None:
    load_all(ctx)
    resolve_providers(ctx)
    first = Recording()
    geocode_providers(ctx, chunk_rows=3, checkpoints=first)
    everything = snapshot(ctx)
    with ctx.engine.begin() as conn:  # as before any geocoding
        conn.exec_driver_sql(
            "UPDATE providers SET lat = NULL, lon = NULL, geom = NULL, geocode_precision = 'none' "
            "WHERE geocode_precision != 'source'"
        )
    skipped = Recording(skip=set(first.marked[:2]))  # two chunks "stored by a killed run"
    geocode_providers(ctx, chunk_rows=3, checkpoints=skipped)
    assert skipped.marked == first.marked[2:]
    assert snapshot(ctx) != everything  # the skipped chunks were not placed again ...
    geocode_providers(ctx, only_missing=True, chunk_rows=3)
    assert snapshot(ctx) == everything  # ... and a missing-only run places exactly them
