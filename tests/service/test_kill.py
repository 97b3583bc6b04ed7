"""A load killed mid-file (SIGKILL after chunk N) leaves the database as it was."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from core.identifiers import npi_check_digit
from data.models import LoadBatch
from service.ingest.ingest import ingest_records
from tests.service.test_ingest import NPPES, snapshot

pytestmark = pytest.mark.slow  # starts servers or processes, or fuzzes: see README


def bigger_nppes(dst: Path, copies: int) -> Path:
    """The 10 real rows repeated under fresh valid NPIs: ``10 * copies`` rows."""
    with NPPES.open(newline="", encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    out = []
    for c in range(copies):
        for i, row in enumerate(rows):
            first9 = f"{190000000 + c * 10 + i}"
            out.append([first9 + npi_check_digit(first9), *row[1:]])
    with dst.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows([header, *out])
    return dst


LOADER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from core.settings import Settings
    from service.context import open_context
    from service.ingest.ingest import ingest_records

    ctx = open_context(Settings(database_url=sys.argv[1], chunk_rows=100, max_reject_rate=1.0))
    kill_after = int(sys.argv[3])

    def progress(stage, done, total):
        if done >= kill_after * 100:  # chunk N written inside the open transaction
            os.kill(os.getpid(), signal.SIGKILL)

    ingest_records(ctx, Path(sys.argv[2]), source="nppes", progress=progress)
    """
)


def test_sigkill_after_chunk_two_changes_nothing(ctx, tmp_path) -> None:
    ingest_records(ctx, NPPES, source="nppes")  # something already stored
    before = snapshot(ctx)
    big = bigger_nppes(tmp_path / "npidata_big.csv", copies=50)  # 500 rows = 5 chunks
    proc = subprocess.run(
        [sys.executable, "-c", LOADER, ctx.settings.database_url, str(big), "2"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert snapshot(ctx) == before
    with ctx.sessions() as s:
        statuses = s.scalars(select(LoadBatch.status).order_by(LoadBatch.id)).all()
    assert statuses == ["committed", "running"]  # the killed load never committed

    # the same file loads completely afterwards
    report = ingest_records(ctx, big, source="nppes")
    assert report.inserted == 500 and report.rejected == 0
