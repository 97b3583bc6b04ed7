"""The data stamp is read off the request path: an answer never waits for it."""

from __future__ import annotations

import logging
import threading

import anyio
import pytest

from api.stamp import StampCache


def test_a_stale_stamp_is_served_at_once_while_a_thread_reads_the_new_one() -> None:
    reads, release = [], threading.Event()

    def read() -> str:
        reads.append(1)
        if len(reads) > 1:
            release.wait(30)  # the database is slow now
        return f"stamp-{len(reads)}"

    cache = StampCache(read, ttl=0.0)
    assert cache.refresh() == "stamp-1"
    for _ in range(5):  # stale every time: each answer gets the last value without waiting
        assert anyio.run(cache.get) == "stamp-1"
    release.set()


def test_a_failing_read_keeps_the_last_stamp_logs_once_and_waits_a_ttl(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = []

    def read() -> str:
        calls.append(1)
        if len(calls) > 1:
            raise OSError("database unreachable")
        return "stamp"

    cache = StampCache(read, ttl=3600)
    cache.refresh()
    with caplog.at_level(logging.ERROR, logger="prm.api"):
        assert cache.refresh() == "stamp" and cache.refresh() == "stamp"
    assert len([r for r in caplog.records if "data stamp" in r.getMessage()]) == 1
    assert anyio.run(cache.get) == "stamp" and len(calls) == 3  # not stale: no new attempt
