"""Serve the API with several worker processes, each on a listening socket of its own.

uvicorn's and gunicorn's ``--workers`` share one listening socket, and
whichever worker wakes first accepts every connection waiting. Clients that
keep their connections open (a CRM's HTTP pool, a reverse proxy's upstream
keep-alive, a load generator) then stay on the worker that won the race:
with 8 keep-alive clients and 2 workers, half of the prospect-list runs
put all 8 on one worker, which served everything while the other idled
(p95 51-62 ms); with a socket per worker the same load measured p95
26-42 ms (``bench.prospecting``, SQLite, 1M prospects, 2 cores).

Here each worker gets its own socket bound to the same address with
``SO_REUSEPORT`` (Linux: other systems accept the option but do not spread
connections), and the kernel spreads new connections over them by a hash of
their addresses: a few long-lived connections can still split unevenly (5
and 3 of 8), but no accept race puts them all on one worker. A socket starts
listening only once its worker's application is up. The supervisor restarts
a worker that dies, with a new socket (the dead worker's socket left the
group with it) and a growing delay while replacements keep dying young; it
stops when a worker of the first generation cannot start at all (status 3),
and stops every worker on SIGINT or SIGTERM, giving each ``PRM_SHUTDOWN_GRACE_S``
to finish its requests in flight. Workers die with the supervisor (``PR_SET_PDEATHSIG``).

    serve_workers(host="127.0.0.1", port=8000, workers=4)

The application is built in each worker by :func:`api.main.create_app`
from the environment's settings, as under ``uvicorn --factory``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from core.errors import ConfigError

__all__ = ["APP", "reuse_port_socket", "serve_workers", "uvicorn_options"]

APP = "api.main:create_app"
"""The application factory each worker imports."""

_log = logging.getLogger("uvicorn.error")  # configured by uvicorn.Config, as the workers' lines

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_YOUNG_S = 10.0  # a worker dying this soon after its start is restarted with a growing delay
_MAX_DELAY_S = 30.0
_KILL_AFTER_S = 3.0  # past the workers' own grace period, a worker still running is killed


def uvicorn_options(
    *,
    log_level: str = "info",
    proxy_headers: bool = False,
    access_log: bool = True,
    shutdown_grace_s: float = 5.0,
) -> dict[str, object]:
    """Keyword arguments of :class:`uvicorn.Config` shared by every way the API is served.

    On SIGTERM uvicorn stops accepting, lets requests in flight finish for
    ``shutdown_grace_s`` (``PRM_SHUTDOWN_GRACE_S``), then cancels them, so a
    stop under load takes bounded time; every log line goes through
    :class:`core.redact.RedactSecretsFilter` (no credential in a logged URL).
    """
    from uvicorn.config import LOGGING_CONFIG

    from core.redact import log_config

    return {
        "log_level": log_level,
        "proxy_headers": proxy_headers,
        "access_log": access_log,
        "timeout_graceful_shutdown": shutdown_grace_s,
        "log_config": log_config(LOGGING_CONFIG),
    }


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``(host, port)`` that other sockets may bind too (SO_REUSEPORT).

    Bound, not listening: the worker's server calls ``listen()`` once its
    application has started, so the kernel routes no connection to a worker
    still starting.

    Parameters
    ----------
    host, port
        The address (port 0: a free one, which the next sockets then reuse).

    Returns
    -------
    socket.socket
        The bound socket, inheritable by a child process.

    Raises
    ------
    core.errors.ConfigError
        On a platform whose ``SO_REUSEPORT`` does not spread connections (only Linux does).
    OSError
        When the address cannot be bound.
    """
    if not sys.platform.startswith("linux") or not hasattr(socket, "SO_REUSEPORT"):
        # macOS and the BSDs accept SO_REUSEPORT but hand every connection to the last socket bound
        raise ConfigError(
            f"serving with several workers needs Linux (SO_REUSEPORT); on {sys.platform} "
            "serve with one worker"
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _die_with_parent() -> None:
    """Ask the kernel to SIGTERM this process when its parent dies (no orphaned workers)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _worker(
    config: uvicorn.Config, sock: socket.socket, env: dict[str, str]
) -> None:  # in the child
    _die_with_parent()
    os.environ.update(env)
    config.configure_logging()
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except Exception:
        _log.exception("worker failed to start")
        sys.exit(STARTUP_FAILURE)
    if not server.started:  # a failed lifespan returns here on some uvicorn versions
        sys.exit(STARTUP_FAILURE)


def serve_workers(
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str = "info",
    proxy_headers: bool = False,
    access_log: bool = True,
    shutdown_grace_s: float = 5.0,
    env: dict[str, str] | None = None,
) -> int:
    """Run ``workers`` uvicorn processes on ``(host, port)`` until SIGINT or SIGTERM.

    Parameters
    ----------
    host, port
        Address to listen on (port 0: one free port, shared by every worker).
    workers
        Worker processes (at least 1).
    log_level, proxy_headers, access_log, shutdown_grace_s
        As :func:`uvicorn_options`; a worker still running ``shutdown_grace_s``
        plus 3 s after SIGTERM is killed.
    env
        Environment variables set in each worker (on top of this process's).

    Returns
    -------
    int
        The exit status: 0 after a signal; ``3`` when a worker of the first
        generation failed at start-up (the application, its settings or its
        database are broken: restarting it would fail the same way).

    Raises
    ------
    core.errors.ConfigError
        For fewer than one worker, or a platform without a balancing SO_REUSEPORT.
    """
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, not {workers}")
    config = uvicorn.Config(
        APP,
        factory=True,
        **uvicorn_options(
            log_level=log_level,
            proxy_headers=proxy_headers,
            access_log=access_log,
            shutdown_grace_s=shutdown_grace_s,
        ),
    )
    first = reuse_port_socket(host, port)
    port = first.getsockname()[1]
    spawn = multiprocessing.get_context("spawn")
    stopping: list[int] = []  # a signal handler only appends: no lock it could deadlock on

    def start(sock: socket.socket | None = None) -> tuple[BaseProcess, float]:
        sock = sock or reuse_port_socket(host, port)
        try:
            process = spawn.Process(
                target=_worker, args=(config, sock, dict(env or {})), name="prm-api-worker"
            )
            process.start()
        finally:
            sock.close()  # the child has its own copy
        return process, time.monotonic()

    previous = {
        sig: signal.signal(sig, lambda signum, _frame: stopping.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    slots: list[tuple[BaseProcess, float]] = []
    delays = [0.0] * workers  # restart back-off per slot, doubled while a worker keeps dying young
    status = 0
    try:
        slots.append(start(first))
        slots += [start() for _ in range(workers - 1)]
        _log.info("serving on http://%s:%d with %d workers (one socket each)", host, port, workers)
        first_generation = set(range(workers))
        while not stopping:
            time.sleep(0.5)
            for i, (process, started) in enumerate(slots):
                if stopping or process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE and i in first_generation:
                    _log.error("worker %s failed to start: stopping", process.pid)
                    status = STARTUP_FAILURE
                    stopping.append(0)
                    break
                first_generation.discard(i)
                young = time.monotonic() - started < _YOUNG_S
                delays[i] = min(_MAX_DELAY_S, max(1.0, 2 * delays[i])) if young else 0.0
                _log.warning(
                    "worker %s exited (%s): starting another in %.0f s",
                    process.pid,
                    process.exitcode,
                    delays[i],
                )
                time.sleep(delays[i])
                if not stopping:
                    slots[i] = start()
    finally:
        for process, _ in slots:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        deadline = time.monotonic() + shutdown_grace_s + _KILL_AFTER_S
        for process, _ in slots:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
