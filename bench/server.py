"""How the benchmarks start the API: ``prm serve``, as documented for production.

``prm serve --workers N`` gives each worker a listening socket of its own
(:mod:`cli.serve`); plain ``uvicorn --workers N`` shares one, and a run's
8 keep-alive clients could all land on one worker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

__all__ = ["free_port", "serve_command", "serving"]

REPO = Path(__file__).resolve().parent.parent


def serve_command(port: int, workers: int, *, access_log: bool = False) -> list[str]:
    """The command line serving the API on 127.0.0.1:``port`` (settings from the environment)."""
    prm = Path(sys.executable).with_name("prm")  # the package's console script
    return [
        str(prm),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--access-log" if access_log else "--no-access-log",
    ]


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(
    env: dict[str, str], *, port: int, workers: int = 1, tree: Path | None = None
) -> Iterator[str]:
    """``prm serve`` running with ``env`` added to ours until the block ends; yields its base URL.

    ``tree`` serves the code of another checkout of the project (e.g. a ``git worktree`` of
    the base branch) with this interpreter and its packages: the before and after of a
    change measured in one run, on the same database, under the same load.
    """
    cmd = serve_command(port, workers)
    extra: dict[str, str] = {}
    if tree is not None:  # the checkout's packages come first on the path, before our own
        cmd = [sys.executable, "-c", "from cli.main import app; app()", *cmd[1:]]
        extra["PYTHONPATH"] = str(tree)
    server = subprocess.Popen(cmd, cwd=tree or REPO, env=os.environ | env | extra)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"the server on port {port} did not start")
            time.sleep(0.3)
        yield base
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
