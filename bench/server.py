"""How the benchmarks start the API: ``prm serve``, as documented for production.

``prm serve --workers N`` gives each worker a listening socket of its own
(:mod:`cli.serve`); plain ``uvicorn --workers N`` shares one, and a run's
8 keep-alive clients could all land on one worker.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["serve_command"]


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
