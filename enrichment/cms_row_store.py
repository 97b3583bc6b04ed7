"""The CMS reader's on-disk row store: rows grouped by NPI whatever the file's order.

The published Doctors and Clinicians file is not guaranteed sorted by NPI, so
:func:`enrichment.cms.iter_cms` keeps its parsed rows here (:class:`NpiRowStore`,
an SQLite database in a temporary directory, written a batch at a time) and
reads them back in NPI order: memory holds one batch, the disk the good rows
once until the read ends.
"""

from __future__ import annotations

import itertools
import os
import pickle
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["NpiRowStore"]


class NpiRowStore:
    """Parsed rows on disk, read back grouped by NPI: an external sort by (NPI, line).

    An SQLite table ``WITHOUT ROWID`` keyed by (NPI, line), in a temporary
    directory of its own, removed by :meth:`close`. Rows are written a batch
    at a time (:meth:`add` keeps at most one batch in memory) and come back in
    key order, so each NPI's rows come together whatever the file's order.

    Parameters
    ----------
    directory
        Where the temporary directory goes (default: the system's).
    batch_rows
        Rows kept in memory before they are written.
    """

    def __init__(self, *, directory: str | os.PathLike[str] | None = None, batch_rows: int) -> None:
        if directory is not None:
            Path(directory).mkdir(parents=True, exist_ok=True)
        self._dir = tempfile.TemporaryDirectory(prefix="prm-cms-", dir=directory)
        self._db = sqlite3.connect(Path(self._dir.name) / "rows.sqlite", isolation_level=None)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -16384"):
            self._db.execute("PRAGMA " + pragma)  # constants: no value of the file's in SQL
        self._db.execute(
            "CREATE TABLE rows (npi TEXT, line INTEGER, row BLOB, PRIMARY KEY (npi, line)) "
            "WITHOUT ROWID"
        )
        self._pending: list[tuple[str, int, bytes]] = []
        self._batch = batch_rows
        self._keys: tuple[str, ...] = ()

    def add(self, row: Mapping[str, Any]) -> None:
        """Keep one parsed row (from :func:`enrichment.cms.parse_cms_row`)."""
        if not self._keys:
            self._keys = tuple(row)
        values = tuple(row[k] for k in self._keys)
        self._pending.append((row["npi"], row["line"], pickle.dumps(values, protocol=5)))
        if len(self._pending) >= self._batch:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            with self._db:  # one transaction per batch
                self._db.execute("BEGIN")
                self._db.executemany("INSERT INTO rows VALUES (?, ?, ?)", self._pending)
            self._pending = []

    def groups(self) -> Iterator[list[dict[str, Any]]]:
        """Each NPI's rows, NPIs in order, an NPI's rows in line order."""
        self._flush()
        cursor = self._db.execute("SELECT npi, row FROM rows ORDER BY npi, line")
        for _, group in itertools.groupby(cursor, key=lambda r: r[0]):
            yield [dict(zip(self._keys, pickle.loads(blob))) for _, blob in group]

    def close(self) -> None:
        """Remove the store and its directory."""
        self._db.close()
        self._dir.cleanup()
