"""File helpers shared by loaders and caches."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from core.errors import ServiceError


class HashStopped(ServiceError, RuntimeError):
    """A file hash was stopped before the end of the file."""


def file_sha256(path: Path, *, stop: threading.Event | None = None) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks.

    Parameters
    ----------
    path
        The file.
    stop
        When set (e.g. by another thread, the load having been interrupted),
        the hash stops at its next block and raises :class:`HashStopped`.
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            if stop is not None and stop.is_set():
                raise HashStopped(f"hash of {Path(path).name} stopped before the end of the file")
            digest.update(block)
    return digest.hexdigest()
