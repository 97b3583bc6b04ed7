"""Audit entries of served requests, written in batches by one background thread.

An API request used to write its audit entry in a transaction of its own once
the answer was sent: a thread hand-off, a session, an ``INSERT`` and a commit
per request, a third of the cost of a small read, and on SQLite every worker
process queueing for the one write lock. :class:`AuditBuffer` instead takes the
entry in memory (stamped with the time it was taken) and a background thread
writes what has gathered in one transaction every ``interval`` seconds, or as
soon as ``max_batch`` entries wait, and on :meth:`AuditBuffer.close`.

What is buffered: the entries the API writes *after* the answer was sent
(reads, bulk reads, changes, refusals); their write never decided the answer
anyway. Exports are still written synchronously before their first byte
(:func:`api.audit.audit_now`), and so are privacy actions and key management.
The price: a process killed with ``SIGKILL`` loses at most the last
``interval`` seconds of entries (a clean stop flushes them), and an entry is
readable up to ``interval`` seconds after its request (the audit reads of this
process flush first). A batch that cannot be written is kept and retried on the
next tick; past ``max_pending`` waiting entries the oldest are dropped, each
drop logged as an error (``prm.audit``).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert

from data.models.security import AuditEntry
from service.context import AppContext
from service.security.audit import entry_values

__all__ = ["AuditBuffer"]

logger = logging.getLogger("prm.audit")

_COLUMNS = frozenset(c.key for c in AuditEntry.__table__.columns if c.key != "id")


class AuditBuffer:
    """Collect audit entries from any thread; one daemon thread writes them in batches.

    Parameters
    ----------
    ctx
        Application context (its session factory writes the batches).
    interval
        Seconds between writes while entries wait.
    max_batch
        Entries that trigger a write before ``interval`` is up.
    max_pending
        Entries kept while the database refuses writes; older ones are dropped (logged).
    background
        Run the writer thread; without it only :meth:`flush` and :meth:`close` write.
    """

    def __init__(
        self,
        ctx: AppContext,
        *,
        interval: float = 0.2,
        max_batch: int = 500,
        max_pending: int = 100_000,
        background: bool = True,
    ) -> None:
        if interval <= 0 or max_batch < 1 or max_pending < max_batch:
            raise ValueError("need interval > 0, max_batch >= 1 and max_pending >= max_batch")
        self._ctx = ctx
        self._interval = interval
        self._max_batch = max_batch
        self._pending: deque[dict[str, Any]] = deque()
        self._max_pending = max_pending
        self._write_lock = threading.Lock()  # one batch written at a time (thread or flush())
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prm-audit-writer", daemon=True)
        if background:
            self._thread.start()

    def submit(self, *, actor: str, action: str, **fields: Any) -> None:
        """Take an entry (never blocks on the database); ``at`` is now unless given."""
        if self._stopped.is_set():
            raise RuntimeError("the audit buffer is closed")
        fields.setdefault("at", datetime.now(UTC))
        values = entry_values(actor=actor, action=action, **fields)
        unknown = values.keys() - _COLUMNS
        if unknown:
            raise TypeError(
                f"not columns of {AuditEntry.__tablename__}: {', '.join(sorted(unknown))}"
            )
        # every column named in every entry: one executemany takes its columns from the first
        self._pending.append({name: values.get(name) for name in _COLUMNS})
        while len(self._pending) > self._max_pending:
            dropped = self._pending.popleft()
            logger.error(
                "audit buffer full: dropped the entry of %s %s at %s",
                dropped.get("method"),
                dropped.get("path"),
                dropped.get("at"),
            )
        if len(self._pending) >= self._max_batch:
            self._wake.set()

    @property
    def pending(self) -> int:
        """Entries not written yet."""
        return len(self._pending)

    def flush(self) -> int:
        """Write every entry taken so far, now, in this thread; the number written.

        Raises whatever the database raised (the entries stay pending).
        """
        written = 0
        with self._write_lock:
            while self._pending:
                batch = [
                    self._pending.popleft() for _ in range(min(self._max_batch, len(self._pending)))
                ]
                try:
                    with self._ctx.sessions.begin() as session:
                        session.execute(insert(AuditEntry.__table__), batch)
                except BaseException:
                    self._pending.extendleft(reversed(batch))  # back in front, in order
                    raise
                written += len(batch)
        return written

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # keep them and try again on the next tick
                logger.exception("could not write %d audit entries; will retry", self.pending)

    def close(self, *, timeout: float = 10.0) -> None:
        """Stop the writer thread after a last write of everything pending."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        try:
            self.flush()
        except Exception:
            logger.exception("could not write the last %d audit entries at shutdown", self.pending)
