"""Serve the API with several worker processes, each on a listening socket of its own.

uvicorn's and gunicorn's ``--workers`` share one listening socket, and
whichever worker wakes first accepts every connection waiting. Clients that
keep their connections open (a CRM's HTTP pool, a reverse proxy's upstream
keep-alive, a load generator) then stay on the worker that won the race:
with 8 keep-alive clients and 2 workers, ``bench.prospecting`` saw half of
its runs put all 8 on one worker, which served everything while the other
idled (prospect-list p95 51-62 ms against 38 ms when they were spread).

Here each worker gets its own socket bound to the same address with
``SO_REUSEPORT`` (Linux, the BSDs, macOS), and the kernel spreads new
connections over them. The supervisor restarts a worker that dies (with a
new socket: a dead worker's socket leaves the group with it, so no
connection is routed to a socket nobody accepts on), stops when a worker
cannot start at all, and stops every worker on SIGINT or SIGTERM (each ends
its requests in flight, as uvicorn does).

    serve_workers(host="127.0.0.1", port=8000, workers=4)

The application is built in each worker by :func:`api.main.create_app`
from the environment's settings, as under ``uvicorn --factory``.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess

import uvicorn
from uvicorn.config import STARTUP_FAILURE

__all__ = ["APP", "reuse_port_socket", "serve_workers"]

APP = "api.main:create_app"
"""The application factory each worker imports."""

_log = logging.getLogger("uvicorn.error")  # configured by uvicorn.Config, as the workers' lines


def reuse_port_socket(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on ``(host, port)`` that other sockets may bind too (SO_REUSEPORT).

    Raises
    ------
    OSError
        When the platform has no ``SO_REUSEPORT`` or the address cannot be bound.
    """
    if not hasattr(socket, "SO_REUSEPORT"):
        raise OSError("this platform has no SO_REUSEPORT: serve with one worker")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _worker(config: uvicorn.Config, sock: socket.socket) -> None:  # runs in the child
    config.configure_logging()
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str = "info",
    proxy_headers: bool = False,
    access_log: bool = True,
    ready: threading.Event | None = None,
) -> int:
    """Run ``workers`` uvicorn processes on ``(host, port)`` until SIGINT or SIGTERM.

    Parameters
    ----------
    host, port
        Address to listen on (port 0: one free port, shared by every worker).
    workers
        Worker processes (at least 1).
    log_level, proxy_headers, access_log
        As uvicorn's options of the same names.
    ready
        Set once every worker process has been started (for callers that wait on it).

    Returns
    -------
    int
        The exit status: 0 after a signal, ``3`` when a worker failed at start-up
        (the application, its settings or its database are broken: restarting
        it would fail the same way).
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, not {workers}")
    config = uvicorn.Config(APP, factory=True, log_level=log_level, proxy_headers=proxy_headers,
                            access_log=access_log)  # fmt: skip
    first = reuse_port_socket(host, port)
    port = first.getsockname()[1]
    spawn = multiprocessing.get_context("spawn")
    stop = threading.Event()

    def start(sock: socket.socket | None = None) -> BaseProcess:
        sock = sock or reuse_port_socket(host, port)
        try:
            process = spawn.Process(target=_worker, args=(config, sock), name="prm-api-worker")
            process.start()
        finally:
            sock.close()  # the child has its own copy; the parent's must not stay in the group
        return process

    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [start(first)] + [start() for _ in range(workers - 1)]
    _log.info("serving on http://%s:%d with %d workers (one socket each)", host, port, workers)
    if ready is not None:
        ready.set()
    status = 0
    try:
        while not stop.wait(0.5):
            for i, process in enumerate(processes):
                if process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    _log.error("worker %s failed to start: stopping", process.pid)
                    status = STARTUP_FAILURE
                    stop.set()
                    break
                _log.warning("worker %s exited (%s): starting another", process.pid, process.exitcode)
                processes[i] = start()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        deadline = time.monotonic() + 30
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
