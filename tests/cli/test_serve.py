"""``prm serve --workers N``: one listening socket per worker, restarts, clean stops (cli.serve)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.serve import reuse_port_socket, serve_workers
from core.errors import ConfigError

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

PRM = str(Path(sys.executable).with_name("prm"))  # the console script of the installed package
assert Path(PRM).exists(), PRM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


def _workers(pid: int, port: int) -> list[int]:
    """The supervisor's children listening on ``port`` (not multiprocessing's resource tracker)."""
    return [kid for kid in _children(pid) if _sockets(kid, port, "0A") == 1]


def _sockets(pid: int, port: int, state: str) -> int:
    """How many TCP sockets of ``pid`` on local ``port`` are in ``state`` (0A listen, 01 established)."""
    try:
        inodes = {
            os.readlink(fd)[8:-1]
            for fd in Path(f"/proc/{pid}/fd").iterdir()
            if os.readlink(fd).startswith("socket:[")
        }
        table = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:  # the process ended meanwhile
        return 0
    count = 0
    for line in table:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state and fields[9] in inodes:
            count += 1
    return count


def _get(conn: http.client.HTTPConnection, path: str = "/health") -> int:
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    return response.status


def _wait_until(check, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "PRM_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite'}",
        "PRM_VIEWER_API_KEY": "serve-viewer-key-0123456789",
        "PRM_ADMIN_API_KEY": "serve-admin-key-0123456789",
    }
    log = (tmp_path / "serve.log").open(
        "w"
    )  # a file, not a pipe nobody reads (it would fill and block)
    proc = subprocess.Popen(
        [PRM, "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until(lambda: len(_workers(proc.pid, port)) == 2)
        _wait_until(lambda: _get(http.client.HTTPConnection("127.0.0.1", port, timeout=5)) == 200)
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def test_each_worker_listens_on_its_own_socket_and_gets_connections(server) -> None:
    proc, port = server
    assert _sockets(proc.pid, port, "0A") == 0  # the supervisor keeps no listening socket
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(16)]
    assert [_get(c) for c in conns] == [200] * 16  # all 16 kept open
    held = [_sockets(kid, port, "01") for kid in _workers(proc.pid, port)]
    assert sum(held) == 16
    assert min(held) > 0  # both workers hold connections (all 16 on one: 2 in 65,536)
    for c in conns:
        c.close()


def test_a_killed_worker_is_replaced_and_a_signal_stops_everything(server) -> None:
    proc, port = server
    victim = _workers(proc.pid, port)[0]
    os.kill(victim, signal.SIGKILL)
    _wait_until(lambda: victim not in _children(proc.pid) and len(_workers(proc.pid, port)) == 2)
    # the dead worker's socket left with it: every new connection is answered
    assert [_get(http.client.HTTPConnection("127.0.0.1", port, timeout=10)) for _ in range(16)] == [
        200
    ] * 16
    kids = _workers(proc.pid, port)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert not any(Path(f"/proc/{kid}").exists() for kid in kids)


def test_workers_do_not_outlive_a_killed_supervisor(server) -> None:
    proc, port = server
    kids = _workers(proc.pid, port)
    proc.kill()  # SIGKILL: no chance to stop them itself
    proc.wait()
    _wait_until(lambda: not any(Path(f"/proc/{kid}").exists() for kid in kids))  # PR_SET_PDEATHSIG


def test_a_database_that_cannot_be_opened_stops_serve_before_any_worker(tmp_path) -> None:
    bad = tmp_path / "not-a-directory"
    bad.write_text("x")
    env = {
        **os.environ,
        "PRM_DATABASE_URL": f"sqlite:///{bad / 'db.sqlite'}",
    }  # its parent is a file
    proc = subprocess.run(
        [PRM, "serve", "--workers", "2", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "cannot open or migrate the database" in proc.stderr
    assert "Started server process" not in proc.stderr


def test_workers_that_cannot_start_stop_the_supervisor_with_status_3(tmp_path, monkeypatch) -> None:
    bad = tmp_path / "not-a-directory"
    bad.write_text("x")
    monkeypatch.setenv("PRM_DATABASE_URL", f"sqlite:///{bad / 'db.sqlite'}")  # read by every worker
    assert serve_workers(host="127.0.0.1", port=0, workers=2, log_level="critical") == 3


def test_sockets_share_a_port_and_workers_are_counted() -> None:
    first = reuse_port_socket("127.0.0.1", 0)
    second = reuse_port_socket("127.0.0.1", first.getsockname()[1])  # SO_REUSEPORT: no EADDRINUSE
    assert second.getsockname() == first.getsockname()
    assert _sockets(os.getpid(), first.getsockname()[1], "0A") == 0  # bound, not listening yet
    first.close()
    second.close()
    with pytest.raises(ConfigError, match="workers must be >= 1"):
        serve_workers(host="127.0.0.1", port=0, workers=0)
