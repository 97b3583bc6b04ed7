"""What a registry load checks against stored data, and how it resolves what the file repeats.

The readers check each row alone; these rules need the database:

* **Unknown taxonomy codes** (:class:`TaxonomyCheck`): codes that are not in
  the NUCC version loaded (the newest) are stored as given and counted in a
  ``taxonomy_unknown`` warning. Without a NUCC version loaded nothing is checked.
* **Repeated keys** (:func:`resolve_duplicates`): a row whose key an earlier
  row of the file had is not a reject but a choice, named in a
  ``duplicate_keys`` warning: NPPES keeps the row with the newest *Last
  Update Date* (a tie keeps the first); every other source keeps the first.
* **Deactivated NPIs listed with blank fields** (:func:`keep_deactivated_values`):
  an NPPES file lists a deactivated NPI with nothing but its NPI and dates.
  Stored as such, the golden record would lose its name, address and
  taxonomy (kept only in history); instead the stored values are kept and
  the record is flagged inactive with the file's dates, counted in a
  ``deactivated_values_kept`` warning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pyarrow.compute as pc
from sqlalchemy import Integer, insert, literal, select, update
from sqlalchemy.orm import Session

from core.notices import (
    DEACTIVATED_VALUES_KEPT,
    DUPLICATE_KEYS,
    TAXONOMY_UNKNOWN,
    LoadWarning,
    Tally,
)
from core.sequences import chunked
from data.models import SourceRecord, SourceRecordHistory, Taxonomy
from enrichment.records import PAYLOAD_COLUMNS, StoredRows, record_payload_bytes
from service.ingest.taxonomy import current_version

__all__ = [
    "TaxonomyCheck",
    "keep_deactivated_values",
    "keep_history",
    "prefer_newest",
    "resolve_duplicates",
]

_KEY_CHUNK = 900  # stay under any backend's bound-parameter limit
#: Fields a deactivation states: taken from the file's row, never from what was stored.
_STATUS = ("deactivation_date", "reactivation_date", "is_active", "replacement_npi")
#: The column each source's key is read from, named in the warnings.
_KEY_COLUMN = {"nppes": "NPI", "cms_dac": "NPI", "rpps": "Identification nationale PP"}


def keep_history(session: Session, record_ids: list[int], *, replaced_by: int) -> None:
    """Copy the values a newer file is about to replace into ``source_record_history``."""
    cols = ("batch_id", "file_name", "line", "record_hash", "data")
    for part in chunked(record_ids, _KEY_CHUNK):
        session.execute(
            insert(SourceRecordHistory).from_select(
                ["source_record_id", *cols, "replaced_by_batch_id"],
                select(
                    SourceRecord.id,
                    *(getattr(SourceRecord, c) for c in cols),
                    literal(replaced_by, Integer),
                ).where(SourceRecord.id.in_(part)),
            )
        )


@dataclass
class TaxonomyCheck:
    """Counts the records of a load whose taxonomy codes the NUCC version loaded does not have.

    Parameters
    ----------
    version
        The NUCC version in force, or ``None`` (nothing loaded: nothing is checked).
    known
        Its codes.
    """

    version: str | None
    known: frozenset[str]
    unknown: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, session: Session) -> TaxonomyCheck:
        """The check against the newest NUCC version stored."""
        version = current_version(session)
        codes = (
            session.scalars(select(Taxonomy.code).where(Taxonomy.version == version)).all()
            if version
            else []
        )
        return cls(version=version, known=frozenset(codes))

    def add(self, rows: StoredRows) -> None:
        """Count the unknown codes of one chunk (read from the payloads a column at a time)."""
        if self.version is None or not len(rows):
            return
        found = pc.extract_regex(rows.table.column("payload"), r'"taxonomy_codes":"(?P<c>[^"]*)"')
        text = pc.struct_field(found, [0]).drop_null()
        if not len(text):
            return
        codes = pc.list_flatten(pc.split_pattern(text, ";"))
        counts = pc.value_counts(pc.utf8_trim_whitespace(codes))
        for entry in counts.to_pylist():
            code = entry["values"]
            if code and code not in self.known:
                self.unknown[code] = self.unknown.get(code, 0) + int(entry["counts"])

    def warnings(self, *, file: str) -> list[LoadWarning]:
        """One ``taxonomy_unknown`` warning naming the codes, most frequent first."""
        if not self.unknown:
            return []
        ranked = sorted(self.unknown, key=lambda c: (-self.unknown[c], c))
        return [
            LoadWarning(
                code=TAXONOMY_UNKNOWN,
                message=f"taxonomy codes not in NUCC version {self.version} (stored as given; "
                f"load the NUCC version that has them with `prm ingest nucc`): "
                + ", ".join(ranked[:20])
                + (f" and {len(ranked) - 20} more" if len(ranked) > 20 else ""),
                file=file,
                count=sum(self.unknown.values()),
                examples=tuple(ranked[:5]),
            )
        ]


def _stored(session: Session, source: str, keys: Sequence[str]) -> dict[str, Any]:
    """``source_key -> (id, batch_id, record_hash, data)`` of the stored records among ``keys``."""
    found: dict[str, Any] = {}
    for part in chunked(sorted(set(keys)), _KEY_CHUNK):
        query = select(
            SourceRecord.source_key,
            SourceRecord.id,
            SourceRecord.batch_id,
            SourceRecord.record_hash,
            SourceRecord.data,
        ).where(SourceRecord.source == source, SourceRecord.source_key.in_(part))
        found.update({row[0]: row[1:] for row in session.execute(query)})
    return found


def _newer(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    """Whether ``new``'s Last Update Date (ISO text) is later than ``old``'s (a missing one is oldest)."""
    return (new.get("last_update_date") or "") > (old.get("last_update_date") or "")


def resolve_duplicates(
    session: Session,
    rows: StoredRows,
    repeated: np.ndarray,
    *,
    source: str,
    batch_id: int,
    tally: Tally,
) -> dict[str, int]:
    """Resolve the rows of a chunk whose key the file had before; the change in counts.

    Called once the chunk's other rows are written, so the row kept so far is
    stored. NPPES: a repeat with a newer Last Update Date replaces it (its
    values before this batch go to history); any other source keeps the first.
    """
    counts = {"updated": 0, "unchanged": 0}
    if not len(repeated):
        return counts
    newest = source == "nppes"
    rule = (
        "the row with the newest Last Update Date kept (a tie: the first)"
        if newest
        else "the first row kept"
    )
    column = _KEY_COLUMN.get(source, "source_key")
    keys, lines, payloads = rows.keys, rows.lines, rows.payloads
    stored = _stored(session, source, [keys[i] for i in repeated]) if newest else {}
    for i in repeated.tolist():
        tally.add(
            DUPLICATE_KEYS,
            f"key repeated in the file: {rule}; the rows shown were set aside",
            column=column,
            value=f"line {lines[i]}: {keys[i]}",
        )
        have = stored.get(keys[i])
        data = orjson.loads(payloads[i]) if have is not None else None
        if have is None or not _newer(data, have[3]):
            continue
        record_id, kept_batch, _, _ = have
        if kept_batch != batch_id:  # kept as unchanged: its stored values go to history first
            keep_history(session, [record_id], replaced_by=batch_id)
            counts["unchanged"] -= 1
            counts["updated"] += 1
        values = {
            "batch_id": batch_id,
            "line": lines[i],
            "record_hash": rows.hashes[i],
            "npi": rows.npis[i],
            "data": data,
        }
        session.execute(update(SourceRecord).where(SourceRecord.id == record_id).values(**values))
        stored[keys[i]] = (record_id, batch_id, rows.hashes[i], data)
    return counts


def prefer_newest(rows: StoredRows, fresh: np.ndarray) -> np.ndarray:
    """``fresh`` with each key repeated inside the chunk written from its newest row (NPPES).

    :meth:`core.keyset.KeySet.add_new` marks a chunk's first row of a new key;
    when the chunk repeats that key, the row with the newest Last Update Date
    (a tie: the first) is written instead, so loading the same file again
    finds every record as it left it.
    """
    repeated = np.flatnonzero(~fresh)
    if not len(repeated):
        return fresh
    keys, payloads = rows.keys, rows.payloads
    again = {keys[i] for i in repeated.tolist()}
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if key in again:
            groups.setdefault(key, []).append(i)
    chosen = fresh.copy()
    for members in groups.values():
        first = next((i for i in members if fresh[i]), None)
        if first is None:  # the key's first row was in an earlier chunk
            continue
        data = {i: orjson.loads(payloads[i]) for i in members}
        best = first
        for i in members:
            if _newer(data[i], data[best]):
                best = i
        chosen[first], chosen[best] = False, True
    return chosen


def _is_shell(payload: str) -> bool:
    """Whether a payload is a deactivated NPI's with no entity type (NPPES blanks every field)."""
    return '"is_active":false' in payload and '"entity_type":null' in payload


def keep_deactivated_values(
    session: Session,
    rows: StoredRows,
    candidates: Sequence[int],
    existing: Mapping[str, tuple[int, str]],
    *,
    tally: Tally,
) -> StoredRows:
    """The chunk's rows, each deactivated NPI listed with blank fields given its stored values.

    ``candidates``: positions of the rows about to be compared with stored
    records (``existing``: key -> (id, hash)). A shell keeps every stored
    field it leaves blank, and states its own deactivation (:data:`_STATUS`);
    its payload and hash are made again, so loading the same file twice
    changes nothing the second time.
    """
    keys, payloads = rows.keys, rows.payloads
    shells = [i for i in candidates if keys[i] in existing and _is_shell(payloads[i])]
    if not shells:
        return rows
    stored = _stored(session, "nppes", [keys[i] for i in shells])
    payloads = list(payloads)
    for i in shells:
        old = stored[keys[i]][3] or {}
        new = orjson.loads(payloads[i])
        merged = {
            c: new.get(c) if c in _STATUS or new.get(c) is not None else old.get(c)
            for c in PAYLOAD_COLUMNS
        }
        payloads[i] = record_payload_bytes(merged).decode("utf-8")
        tally.add(
            DEACTIVATED_VALUES_KEPT,
            "deactivated NPI listed with blank fields: its stored name, address and taxonomy "
            "kept, the record flagged inactive",
            column="NPI",
            value=keys[i],
        )
    # the hashes are made again from the payloads (StoredRows.hashes)
    return StoredRows.from_lists(
        keys=keys, lines=rows.lines, npis=rows.npis, payloads=payloads, codes=rows.codes
    )
