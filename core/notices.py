"""Warnings of a load: what a batch accepted but a person should know.

A :class:`~core.errors.Problem` refuses a row or a file; a :class:`LoadWarning`
refuses nothing. Readers return warnings beside their rows and rejects, a
batch collects them (:class:`service.ingest.batches.BatchRun`), stores them
with the batch and puts them in its report, which the CLI prints and the API
returns. Each warning has a ``code`` naming its class, so a client can tell
classes apart; :data:`COLUMNS_IGNORED` is the first. The README's table
("What refuses a load, what warns") lists every class.

A warning about values (not columns) says how many rows it concerns
(``count``) and shows a few of them (``examples``); a file read in chunks
raises one per chunk, and the batch adds them up (:func:`merged`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "COLUMNS_IGNORED",
    "DEACTIVATED_VALUES_KEPT",
    "DUPLICATE_KEYS",
    "ENCODING_DETECTED",
    "HEADER_NOT_FIRST",
    "HEADER_ONLY",
    "LAYOUT_DRIFT",
    "PRIMARY_TAXONOMY_GUESSED",
    "ROWS_REMOVED",
    "TAXONOMY_UNKNOWN",
    "VALUES_DROPPED",
    "VALUE_OUT_OF_RANGE",
    "LoadWarning",
    "Tally",
    "merged",
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

# -- values read as their registries define them (issue 20) ---------------------------------------
#: Taxonomy codes that are not in the NUCC version loaded (stored as given).
TAXONOMY_UNKNOWN = "taxonomy_unknown"
#: Values that could not be read as their field's kind and were left blank (the row loaded).
VALUES_DROPPED = "values_dropped"
#: NPPES rows without exactly one primary taxonomy switch ``Y``: the primary code was chosen by rule.
PRIMARY_TAXONOMY_GUESSED = "primary_taxonomy_guessed"
#: Rows repeating a key read before in the file: one kept, by the rule the message names.
DUPLICATE_KEYS = "duplicate_keys"
#: A number (a year, a count) outside the range its field can hold: left blank.
VALUE_OUT_OF_RANGE = "value_out_of_range"
#: A registry file of an older or newer layout: columns missing or new, named.
LAYOUT_DRIFT = "layout_drift"
#: A list a load replaces (competitors): stored rows absent from the new file were removed.
ROWS_REMOVED = "rows_removed"
#: Deactivated NPIs listed with blank fields: their stored values were kept, flagged inactive.
DEACTIVATED_VALUES_KEPT = "deactivated_values_kept"


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
    count
        How many rows (or values) it concerns, when it concerns values.
    examples
        A few of them (at most five), as read.
    """

    code: str
    message: str
    file: str | None = None
    columns: tuple[str, ...] = ()
    count: int | None = None
    examples: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = self.message
        if self.count is not None:
            text = f"{text} ({self.count} row{'s' if self.count != 1 else ''}"
            shown = ", ".join(repr(e) for e in self.examples)
            text += f"; e.g. {shown})" if shown else ")"
        return f"{self.file}: {text}" if self.file else text

    def to_dict(self) -> dict[str, Any]:
        """The warning as JSON stores it (``columns`` as a list)."""
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "columns": list(self.columns),
            "count": self.count,
            "examples": list(self.examples),
        }


def merged(warnings: list[LoadWarning], new: LoadWarning) -> list[LoadWarning]:
    """``warnings`` with ``new`` added: a warning of the same code, file, columns and message
    (the same warning from another chunk) has its count added and its examples joined."""
    for i, have in enumerate(warnings):
        same = (have.code, have.file, have.columns, have.message) == (
            new.code,
            new.file,
            new.columns,
            new.message,
        )
        if not same:
            continue
        if have.count is None or new.count is None:
            return warnings
        examples = tuple(dict.fromkeys((*have.examples, *new.examples)))[:5]
        warnings[i] = replace(have, count=have.count + new.count, examples=examples)
        return warnings
    warnings.append(new)
    return warnings


@dataclass
class Tally:
    """Warnings about values, counted while a file is read, made once at the end (or per chunk).

    Examples
    --------
    >>> tally = Tally()
    >>> tally.add(VALUES_DROPPED, "not a phone number (left blank)", column="Phone", value="12")
    >>> [str(w) for w in tally.warnings(file="list.csv")]
    ["list.csv: Phone: not a phone number (left blank) (1 row; e.g. '12')"]
    """

    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    shown: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)

    def add(self, code: str, message: str, *, column: str, value: object) -> None:
        """Count one value of ``column`` that a warning of ``code`` and ``message`` concerns."""
        key = (code, message, column)
        self.counts[key] = self.counts.get(key, 0) + 1
        examples = self.shown.setdefault(key, [])
        text = str(value)[:60]
        if len(examples) < 5 and text not in examples:
            examples.append(text)

    def warnings(self, *, file: str | None) -> list[LoadWarning]:
        """One warning per (code, message, column) counted, then the tally starts again."""
        out = [
            LoadWarning(
                code=code,
                message=f"{column}: {message}",
                file=file,
                columns=(column,),
                count=count,
                examples=tuple(self.shown[(code, message, column)]),
            )
            for (code, message, column), count in self.counts.items()
        ]
        self.counts, self.shown = {}, {}
        return out
