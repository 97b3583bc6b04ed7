"""Load batches: the file hash beside the load, failures and interruptions recorded."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.files import HashStopped, file_sha256
from data.models import LoadBatch
from service.ingest.batches import run_batch


def _batches(ctx) -> list[LoadBatch]:
    with ctx.sessions() as s:
        return s.scalars(select(LoadBatch).order_by(LoadBatch.id)).all()


def test_an_interrupted_load_is_recorded_interrupted_at_once(ctx, tmp_path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * (8 << 20))
    with pytest.raises(KeyboardInterrupt), run_batch(ctx, source="nppes", path=path):
        raise KeyboardInterrupt
    (batch,) = _batches(ctx)
    assert batch.status == "interrupted" and batch.report["error"] == "KeyboardInterrupt"
    assert batch.finished_at is not None


def test_a_failed_load_records_the_hash_of_the_file(ctx, tmp_path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,2\n")
    with pytest.raises(ValueError, match="boom"), run_batch(ctx, source="nppes", path=path):
        raise ValueError("boom")
    (batch,) = _batches(ctx)
    assert (
        batch.status == "failed"
        and batch.file_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    )


def test_a_missing_file_records_no_batch(ctx, tmp_path) -> None:
    with (
        pytest.raises(FileNotFoundError),
        run_batch(ctx, source="nppes", path=tmp_path / "nope.csv"),
    ):
        pass
    with ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(LoadBatch)) == 0


def test_a_file_hash_stops_when_asked(tmp_path) -> None:
    path = Path(tmp_path / "f.bin")
    path.write_bytes(b"y" * (3 << 20))
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    stop = threading.Event()
    stop.set()
    with pytest.raises(HashStopped):
        file_sha256(path, stop=stop)
