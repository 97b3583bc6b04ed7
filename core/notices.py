"""Warnings of a load: what a batch accepted but a person should know.

A :class:`~core.errors.Problem` refuses a row or a file; a :class:`LoadWarning`
refuses nothing. Readers return warnings beside their rows and rejects, a
batch collects them (:class:`service.ingest.batches.BatchRun`), stores them
with the batch and puts them in its report, which the CLI prints and the API
returns. Each warning has a ``code`` naming its class, so a client can tell
classes apart; :data:`COLUMNS_IGNORED` is the first. The README's table
("What refuses a load, what warns") lists every class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "COLUMNS_IGNORED",
    "ENCODING_DETECTED",
    "HEADER_NOT_FIRST",
    "HEADER_ONLY",
    "LoadWarning",
]

#: A file's columns that no field takes (their values are not stored).
COLUMNS_IGNORED = "columns_ignored"

#: A file not in UTF-8 that loaded: read in the encoding its byte-order mark, its NUL bytes or
#: its first non-UTF-8 byte (Windows-1252) showed (:mod:`core.encodings`).
ENCODING_DETECTED = "encoding_detected"

#: A file with a header and no data row: the load changed nothing.
HEADER_ONLY = "header_only"

#: A clinic file whose header is below line 1 (a title above the table): the lines above skipped.
HEADER_NOT_FIRST = "header_not_first"


@dataclass(frozen=True, slots=True)
class LoadWarning:
    """Something a load did not refuse but should not pass unseen.

    Parameters
    ----------
    code
        The warning's class, e.g. :data:`COLUMNS_IGNORED`.
    message
        What happened, in words a user understands.
    file
        Name of the file (or upload) it concerns.
    columns
        The file's columns it concerns, as headed in the file.
    """

    code: str
    message: str
    file: str | None = None
    columns: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.file}: {self.message}" if self.file else self.message

    def to_dict(self) -> dict[str, Any]:
        """The warning as JSON stores it (``columns`` as a list)."""
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "columns": list(self.columns),
        }
