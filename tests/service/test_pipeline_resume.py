"""A pipeline run killed (SIGKILL) after a stored chunk resumes and ends as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from core.errors import ConflictError
from core.settings import Settings
from data.models import Provider
from data.models.runs import PipelineChunk, PipelineRun
from service.context import open_context
from service.pipeline import run_pipeline
from tests.conftest import database_url
from tests.paths import FIXTURES
from tests.service.test_geocode_chunks import snapshot
from tests.service.test_pipeline import load_all

pytestmark = pytest.mark.slow  # starts a process and kills it: see README

SETTINGS = {"as_of": date(2024, 6, 30), "radius_km": 60.0, "catchment_resolution": 7}

#: Runs the pipeline with 2 providers per geocode, tiers and score chunk and kills itself (SIGKILL)
#: while the transaction of mark number N of stage S (argv[2] = "S:N") is open: marks before it
#: are committed, it is not.
KILLED = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import date
    from pathlib import Path
    from core.settings import Settings
    from service import checkpoints
    from service.context import open_context
    from service.pipeline import run_pipeline
    import service.placement.locate as locate

    fixtures = Path(sys.argv[3])
    ctx = open_context(Settings(
        database_url=sys.argv[1], osm_file=fixtures / "osm" / "aguascalientes.osm.bz2",
        cache_dir=Path(sys.argv[4]), nucc_file=fixtures / "nucc_taxonomy_220.csv",
        as_of=date(2024, 6, 30), radius_km=60.0, catchment_resolution=7,
    ))
    import service.prospecting.referrals as referrals
    import service.prospecting.scoring as scoring

    locate.records_per_chunk = lambda budget: 2
    referrals.providers_per_chunk = scoring.providers_per_chunk = lambda budget, override=None: 2
    kill_stage, kill_at = sys.argv[2].split(":")
    marks = []
    original = checkpoints.RunCheckpoints.mark

    def mark(self, session, stage, chunk):
        original(self, session, stage, chunk)
        marks.append((stage, chunk))
        if sum(s == kill_stage for s, _ in marks) == int(kill_at):
            print(marks, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    checkpoints.RunCheckpoints.mark = mark
    run_pipeline(ctx)
    """
)


def _context(url: str, tmp_path):
    settings = Settings(
        database_url=url,
        osm_file=FIXTURES / "osm" / "aguascalientes.osm.bz2",
        cache_dir=tmp_path / "cache",
        nucc_file=FIXTURES / "nucc_taxonomy_220.csv",
        **SETTINGS,
    )
    return open_context(settings)


def _uninterrupted_then_loaded(backend_url: str, tmp_path):
    """The uninterrupted run's tables, and a second database (its URL and context) holding
    the same loads and no run yet (PostGIS: the first database is dropped and made afresh)."""
    backend = "sqlite" if backend_url.startswith("sqlite") else "postgis"
    ctx = _context(backend_url, tmp_path)
    load_all(ctx)
    run_pipeline(ctx)
    expected = snapshot(ctx)
    ctx.close()
    (tmp_path / "second").mkdir()
    url = database_url(backend, tmp_path / "second")
    ctx = _context(url, tmp_path)
    load_all(ctx)
    return expected, url, ctx


def _lease_gone(ctx, run_id: int) -> None:
    """As after the lease's duration: the killed owner's lease expired (no waiting in a test)."""
    with ctx.sessions.begin() as s:
        s.execute(
            update(PipelineRun)
            .where(PipelineRun.id == run_id)
            .values(lease_expires_at=datetime.now(UTC) - timedelta(hours=1))
        )


def test_a_run_killed_mid_geocode_resumes_and_ends_as_an_uninterrupted_run(
    backend_url, tmp_path, monkeypatch
) -> None:
    import service.placement.locate as locate

    monkeypatch.setattr(locate, "records_per_chunk", lambda budget: 2)
    expected, url, ctx = _uninterrupted_then_loaded(backend_url, tmp_path)
    try:
        # marks: link (whole stage), then geocode's chunks of 2 providers; killed in the third
        killed = subprocess.run(
            [
                sys.executable,
                "-c",
                KILLED,
                url,
                "geocode:3",
                str(FIXTURES),
                str(tmp_path / "cache"),
            ],
            capture_output=True,
            text=True,
            cwd=os.getcwd(),
            timeout=600,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        with ctx.sessions() as s:
            run = s.scalars(select(PipelineRun)).one()
            stored = s.execute(select(PipelineChunk.stage, PipelineChunk.chunk)).all()
            placed = s.scalar(select(func.count(Provider.id)).where(Provider.lat.is_not(None)))
        assert run.status == "running"
        assert sorted(stored) == [
            ("geocode", "providers=[1,2]"),
            ("geocode", "providers=[3,4]"),
            ("link", "*"),
        ]
        assert placed == 4  # two chunks committed, the third rolled back with the kill
        assert snapshot(ctx) != expected

        with pytest.raises(ConflictError, match="still running"):
            run_pipeline(ctx)  # its lease has not expired yet: it may be alive elsewhere
        _lease_gone(ctx, run.id)
        notes: list[str] = []
        reports = {r.stage: r.detail for r in run_pipeline(ctx, notify=notes.append)}
        assert notes[0].startswith(f"resuming interrupted pipeline run {run.id}: stages done link")
        assert reports["link"] == {"skipped": f"completed earlier by pipeline run {run.id}"}
        assert reports["geocode"]["providers"] == 6  # the four placed before were not redone
        assert snapshot(ctx) == expected
        with ctx.sessions() as s:
            assert s.scalars(select(PipelineRun.status)).all() == ["done"]
        again = {r.stage: r.detail for r in run_pipeline(ctx, notify=notes.append)}
        assert notes[-1].startswith("starting pipeline run")  # a done run is not resumed
        assert "skipped" not in again["link"]
    finally:
        ctx.close()


def _by_content(tables: dict[str, list]) -> dict[str, list]:
    """Prospect rows without their surrogate id: PostgreSQL spends sequence values in the
    transaction the kill rolled back, so the resumed run's new rows get later ids."""
    return {**tables, "prospects": sorted(row[1:] for row in tables["prospects"])}


def test_a_run_killed_mid_score_resumes_and_ends_as_an_uninterrupted_run(
    backend_url, tmp_path
) -> None:
    expected, url, ctx = _uninterrupted_then_loaded(backend_url, tmp_path)
    try:
        killed = subprocess.run(
            [sys.executable, "-c", KILLED, url, "score:3", str(FIXTURES), str(tmp_path / "cache")],
            capture_output=True,
            text=True,
            cwd=os.getcwd(),
            timeout=600,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        with ctx.sessions() as s:
            run = s.scalars(select(PipelineRun)).one()
            stored = s.execute(select(PipelineChunk.stage, PipelineChunk.chunk)).all()
        scored = sorted(chunk for stage, chunk in stored if stage == "score")
        assert len(scored) == 2  # the third chunk's transaction died with the process
        assert {stage for stage, _ in stored} >= {"link", "geocode", "catchments", "tiers"}
        _lease_gone(ctx, run.id)
        reports = {r.stage: r.detail for r in run_pipeline(ctx)}
        for stage in ("link", "geocode", "catchments", "tiers"):
            assert "skipped" in reports[stage], stage
        assert _by_content(snapshot(ctx)) == _by_content(expected)
    finally:
        ctx.close()
