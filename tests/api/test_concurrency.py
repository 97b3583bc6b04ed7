"""A real server under 50 concurrent keep-alive connections: answered, never wedged, stoppable.

Outcome classes only (200 or 503, never a 5xx other than 503, every request
answered within 60 s, health OK during and after, a request made 2 s after
the load answered 200, SIGTERM under load honoured): nothing here depends on
how fast the machine is.
"""

from __future__ import annotations

import http.client
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import MARKETING_KEY, VIEWER_KEY, SeededDB, serve_process

pytestmark = pytest.mark.slow

CONNECTIONS = 50
PATHS = [
    "/v1/sites",
    "/v1/prospects?limit=20",
    "/v1/providers?limit=20",
    "/v1/specialty-groups",
    "/v1/catchments?site=AGS-N",
]


def _get(conn: http.client.HTTPConnection, path: str, key: str | None = None) -> int:
    conn.request("GET", path, headers={"X-API-Key": key} if key else {})
    response = conn.getresponse()
    response.read()
    return response.status


@pytest.fixture
def served(api_db: SeededDB, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    """``prm serve`` (one worker) on the seeded database, in a process of its own."""
    with serve_process(
        api_db, tmp_path, env={"PRM_QUEUE_TIMEOUT_S": "5", "PRM_SHUTDOWN_GRACE_S": "2"}
    ) as (proc, port, _):
        yield proc, port


def _load(
    port: int, *, requests_each: int, outcomes: Counter, stop: threading.Event
) -> list[threading.Thread]:
    """One thread per connection, each sending ``requests_each`` requests on one keep-alive connection."""

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        key = (
            MARKETING_KEY if i % 5 == 0 else VIEWER_KEY
        )  # stored keys are looked up in the database
        for n in range(requests_each):
            if stop.is_set():
                break
            try:
                outcomes[_get(conn, PATHS[(i + n) % len(PATHS)], key)] += 1
            except (OSError, http.client.HTTPException) as exc:
                outcomes[type(exc).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CONNECTIONS)]
    for t in threads:
        t.start()
    return threads


def test_fifty_connections_are_answered_and_health_stays_up(served) -> None:
    proc, port = served
    outcomes: Counter = Counter()
    threads = _load(port, requests_each=20, outcomes=outcomes, stop=threading.Event())
    health = [
        _get(http.client.HTTPConnection("127.0.0.1", port, timeout=10), "/v1/health")
        for _ in range(3)
    ]
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), f"requests still unanswered: {outcomes}"
    assert set(outcomes) <= {200, 503}, outcomes
    assert sum(outcomes.values()) == CONNECTIONS * 20
    assert outcomes[200] > 0
    assert health == [200, 200, 200]
    time.sleep(2)  # the load has stopped: the next request is served normally
    assert (
        _get(http.client.HTTPConnection("127.0.0.1", port, timeout=10), "/v1/sites", VIEWER_KEY)
        == 200
    )
    assert proc.poll() is None


def test_sigterm_under_load_stops_the_server(served) -> None:
    proc, port = served
    outcomes: Counter = Counter()
    stop = threading.Event()
    threads = _load(port, requests_each=10_000, outcomes=outcomes, stop=stop)
    deadline = time.monotonic() + 60
    while sum(outcomes.values()) < CONNECTIONS and time.monotonic() < deadline:
        time.sleep(0.1)  # the load is under way
    proc.send_signal(signal.SIGTERM)
    try:
        # PRM_SHUTDOWN_GRACE_S=2: requests in flight get 2 s. The outcome class only (it exits,
        # it is not wedged): how soon depends on how busy the machine is, so the 10 s target
        # is measured by bench/api_sweep.py. uvicorn re-raises the signal once it has shut down.
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert outcomes[200] > 0
    assert not {k for k in outcomes if isinstance(k, int) and k >= 500 and k != 503}, outcomes
