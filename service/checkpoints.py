"""Chunk checkpoints: how a killed pipeline run resumes from its last completed chunk.

A stage that works in chunks asks :meth:`Checkpoints.done` before a chunk and
calls :meth:`Checkpoints.mark` in the *same transaction* as the chunk's writes,
so a chunk is either stored and marked or neither. A chunk key names what the
chunk covers (e.g. ``"site=OSU-EAST providers=[0,65536)"``), so a resumed run
whose chunking changed (another memory budget) recomputes rather than skips.

:data:`no_checkpoints` is the default for a stage run on its own: nothing is
skipped and nothing is recorded.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session


class Checkpoints(Protocol):
    def done(self, stage: str, chunk: str) -> bool:
        """Whether this run already stored that chunk of that stage."""
        ...

    def mark(self, session: Session, stage: str, chunk: str) -> None:
        """Record the chunk as stored, in the transaction that stores it."""
        ...


class _NoCheckpoints:
    def done(self, stage: str, chunk: str) -> bool:
        return False

    def mark(self, session: Session, stage: str, chunk: str) -> None:
        return None


#: Nothing skipped, nothing recorded (a stage run outside a resumable pipeline run).
no_checkpoints: Checkpoints = _NoCheckpoints()
