"""Source records read for the link stage: the linker's columns compactly, full records by chunk.

The dedupe engine needs a dozen text fields of every record; golden records
need every field, but only of one cluster at a time. So the stage reads the
linker's fields with the database doing the JSON extraction (SQLite
``json_extract``, PostgreSQL ``->>``, one SQLAlchemy expression for both) in
chunks, each column kept as a categorical (one small integer code per record,
each distinct value once), and reads full records later, chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.budget import records_per_chunk as records_per_chunk  # the link stage's rule too
from core.sequences import chunked
from data.models import SourceRecord
from enrichment.records import DATE_COLUMNS, SOURCE_RECORD_COLUMNS

#: Text fields of a stored record that :func:`enrichment.link_features.build_features` reads.
LINK_FIELDS: tuple[str, ...] = (
    "npi",
    "entity_type",
    "first_name",
    "last_name",
    "organization_name",
    "address_1",
    "address_2",
    "postal_code",
    "phone",
    "city",
    "state",
    "taxonomy_code",
    "specialty_text",
)

#: Ids per ``IN (...)`` list: below SQLite's and PostgreSQL's bound-parameter limits.
_IN_BATCH = 5000


def pairs_per_chunk(memory_budget_mb: int) -> int:
    """Candidate pairs compared per chunk for a memory budget (about 512 bytes each, transient)."""
    return max(1, memory_budget_mb * 2048)


@dataclass(frozen=True)
class LinkInput:
    """What the linker reads of every record, compactly.

    Attributes
    ----------
    frame
        :data:`LINK_FIELDS` (categoricals) and ``identifiers`` (dict or ``None``),
        indexed by record id, ascending.
    changed
        Per record: never linked, or content changed since it was linked.
    provider
        Per record: the golden record it is linked to (NaN when none).
    """

    frame: pd.DataFrame
    changed: np.ndarray
    provider: np.ndarray


def load_link_input(session: Session, *, chunk_rows: int) -> LinkInput:
    """Read :class:`LinkInput` in chunks of ``chunk_rows`` records."""
    stmt = (
        select(
            SourceRecord.id,
            SourceRecord.provider_id,
            or_(
                SourceRecord.provider_id.is_(None),
                SourceRecord.linked_hash.is_distinct_from(SourceRecord.record_hash),
            ),
            # as text, parsed here only where present (most records carry none)
            SourceRecord.data["identifiers"].as_string(),
            *(SourceRecord.data[f].as_string() for f in LINK_FIELDS),
        )
        .order_by(SourceRecord.id)
        .execution_options(yield_per=chunk_rows)
    )
    ids: list[np.ndarray] = []
    providers: list[np.ndarray] = []
    changed: list[np.ndarray] = []
    idents: list[np.ndarray] = []
    columns: list[list[pa.Array]] = [[] for _ in LINK_FIELDS]
    for part in session.execute(stmt).partitions():
        cols = list(zip(*part))
        ids.append(np.asarray(cols[0], dtype=np.int64))
        providers.append(np.array([np.nan if v is None else v for v in cols[1]], dtype=float))
        changed.append(np.asarray(cols[2], dtype=bool))
        # most records carry no identifier besides the NPI: keep None, not an empty dict each
        idents.append(np.array([_identifiers(t) for t in cols[3]], dtype=object))
        for k, values in enumerate(cols[4:]):
            columns[k].append(pa.array(values, pa.string()).dictionary_encode())
    if not ids:
        return LinkInput(pd.DataFrame(), np.zeros(0, bool), np.zeros(0))
    index = pd.Index(np.concatenate(ids), name="id")
    data: dict[str, Any] = {f: _categorical(parts, index) for f, parts in zip(LINK_FIELDS, columns)}
    data["identifiers"] = pd.Series(np.concatenate(idents), index=index, dtype=object)
    frame = pd.DataFrame(data)
    blank = [f for f in LINK_FIELDS if frame[f].isna().all()]
    if blank:
        # a field no record carries at all (hand-made records) is a missing column, which the
        # linker refuses for names; the database's text extraction cannot tell it from nulls
        sample = session.scalars(
            select(SourceRecord.data).order_by(SourceRecord.id).limit(chunk_rows)
        )
        seen = set().union(*(d.keys() for d in sample if d))
        frame = frame.drop(columns=[f for f in blank if f not in seen])
    return LinkInput(frame, np.concatenate(changed), np.concatenate(providers))


def _identifiers(text: str | None) -> dict[str, Any] | None:
    """A stored ``identifiers`` object, ``None`` when absent or empty."""
    return (orjson.loads(text) or None) if text else None


def _categorical(parts: list[pa.Array], index: pd.Index) -> pd.Series:
    """One categorical column from chunks with their own dictionaries."""
    values = pa.chunked_array(parts, type=pa.dictionary(pa.int32(), pa.string()))
    return pd.Series(values.unify_dictionaries().to_pandas().array, index=index)


def load_source_frame(
    session: Session, *, provider_id: int | None = None, ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """Source records as a standard source-record frame indexed by record id (ascending).

    Every record, only those linked to the golden record ``provider_id``, or
    only those with the given ``ids``.
    """
    stmt = select(
        SourceRecord.id,
        SourceRecord.source,
        SourceRecord.source_key,
        SourceRecord.line,
        SourceRecord.record_hash,
        SourceRecord.data,
    ).order_by(SourceRecord.id)
    if provider_id is not None:
        stmt = stmt.where(SourceRecord.provider_id == provider_id)
    if ids is None:
        rows = session.execute(stmt).all()
    else:
        rows = [
            row
            for part in chunked([int(i) for i in ids], _IN_BATCH)
            for row in session.execute(stmt.where(SourceRecord.id.in_(part)))
        ]
    frame = pd.DataFrame(
        [
            {"id": i, "source": s, "source_key": k, "line": ln, "record_hash": h, **d}
            for i, s, k, ln, h, d in rows
        ]
    )
    if frame.empty:
        return frame
    for col in DATE_COLUMNS:
        if col in frame:
            frame[col] = [date.fromisoformat(v) if isinstance(v, str) else None for v in frame[col]]
    return frame.set_index("id").sort_index()


def load_chunk(
    session: Session, ids: Sequence[int] | None, *, provider_id: int | None = None
) -> pd.DataFrame:
    """Full records (of ``ids``, or linked to ``provider_id``) with every standard column.

    A record may be stored with fewer fields than a reader makes today.
    """
    frame = load_source_frame(session, ids=ids, provider_id=provider_id)
    if frame.empty:
        return frame
    for col in SOURCE_RECORD_COLUMNS:
        if col not in frame:
            frame[col] = None
    return frame


def cluster_chunks(clusters: np.ndarray, *, size: int) -> Iterator[np.ndarray]:
    """Record positions in chunks of whole clusters, about ``size`` records each, by cluster id.

    Clusters come out in ascending id order whatever ``size`` is, so golden
    records are written in the same order (and get the same ids) either way.
    """
    order = np.argsort(clusters, kind="stable")
    ranked = clusters[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]]) if len(ranked) else []
    cut = 0
    while cut < len(order):
        nxt = int(np.searchsorted(starts, cut + max(size, 1)))
        end = int(starts[nxt]) if nxt < len(starts) else len(order)
        yield order[cut:end]
        cut = end
