"""Writing a site's scored prospects (the score stage and one provider's re-scoring).

Rows are upserted by (site, provider) within a range of provider ids and only
rewritten when a value changed; newly stored prospects are announced with the
``prospect.new_in_territory`` event in the transaction that stores them.
"""

from __future__ import annotations

import orjson
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from data.bulk import bulk_insert, bulk_update
from data.models import ClinicSite, Prospect
from service.context import AppContext
from service.events import emit
from service.prospecting.chunks import IdRange

#: At most this many new prospects are listed in one ``prospect.new_in_territory`` event.
EVENT_MAX_PROSPECTS = 500


def announce_new(
    ctx: AppContext, session: Session, site: ClinicSite, profile: str, new: list[dict]
) -> None:
    """Queue ``prospect.new_in_territory`` for the site's newly stored prospects, if any: the
    one event a score change sends, whether from a chunk of a full run or one provider's
    re-scoring (at most :data:`EVENT_MAX_PROSPECTS` listed, the best first; ``count`` is all
    of ``new``)."""
    if new:  # committed (and so sent) only with the scores themselves
        emit(
            ctx,
            "prospect.new_in_territory",
            _new_prospects_event(site, profile, new),
            session=session,
        )


def _new_prospects_event(site: ClinicSite, profile: str, new: list[dict]) -> dict:
    best = sorted(new, key=lambda r: -r["score"])[:EVENT_MAX_PROSPECTS]
    return {
        "site_code": site.site_code,
        "profile": profile,
        "count": len(new),
        "prospects": [
            {
                "provider_id": r["provider_id"],
                "score": round(r["score"], 1),
                "segment": r["segment"],
            }
            for r in best
        ],
    }


#: The prospect columns a score run writes (besides the site and provider keys).
PROSPECT_VALUES = (
    "profile",
    "score",
    "segment",
    "taxonomy_code",
    "classification",
    "drive_minutes",
    "distance_km",
    "proximity_estimated",
    "in_catchment",
    "components",
)
#: Rows per executemany batch when prospects are written.
WRITE_CHUNK = 5000


def _prospect_values(row: dict, profile: str) -> dict:
    dm = row["drive_minutes"]
    values = {
        "profile": profile,
        "score": float(row["score"]),
        "segment": row["segment"],
        "taxonomy_code": row.get("taxonomy_code"),
        "classification": row.get("classification"),
        "drive_minutes": None if pd.isna(dm) else round(float(dm), 2),
        "distance_km": round(float(row["distance_km"]), 3),
        "proximity_estimated": bool(row["proximity_estimated"]),
        "in_catchment": bool(row["in_catchment"]),
        "components": row["components"],
    }
    return {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in values.items()}


def _stored(keys: tuple, values: dict) -> tuple:
    """``keys`` then ``values``' :data:`PROSPECT_VALUES` as the bulk writers take them."""
    return (
        *keys,
        *(
            orjson.dumps(values[k], option=orjson.OPT_SERIALIZE_NUMPY).decode()
            if k == "components"
            else values[k]
            for k in PROSPECT_VALUES
        ),
    )


def store_prospects(
    session: Session,
    site_id: int,
    profile: str,
    scored: pd.DataFrame,
    *,
    rows: IdRange,
    providers: frozenset[int] | None = None,
) -> tuple[dict[str, int], list[dict]]:
    """Upsert a site's prospects with an id in ``rows`` (``providers``: only theirs, the rest
    untouched); returns the counts and the rows inserted (new prospects).

    ``scored`` holds the site's prospects of that range: a stored row of the range that it
    lacks is removed, rows outside the range are not read.

    The stored rows are read as plain tuples and written back in bulk (:mod:`data.bulk`: no
    ORM object or per-row statement, which cost more than the scoring itself).
    """
    table = Prospect.__table__
    cols = [table.c[k] for k in PROSPECT_VALUES]
    stmt = select(table.c.provider_id, table.c.id, *cols).where(table.c.site_id == site_id)
    stmt = stmt.where(rows.where(table.c.provider_id))
    have = {r[0]: (r[1], r[2:]) for r in session.execute(stmt)}
    if providers is not None:
        have = {pid: row for pid, row in have.items() if pid in providers}
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    inserts, updates = [], []
    for row in scored.to_dict("records") if len(scored) else []:
        pid = int(row["provider_id"])
        values = _prospect_values(row, profile)
        current = have.pop(pid, None)
        if current is None:
            inserts.append({"site_id": site_id, "provider_id": pid, **values})
            counts["inserted"] += 1
        elif any(old != values[k] for k, old in zip(PROSPECT_VALUES, current[1], strict=True)):
            updates.append({"_id": current[0], **values})
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    # staged in bulk (COPY / multi-row VALUES), components serialised once here
    bulk_update(
        session,
        table,
        key="id",
        columns=PROSPECT_VALUES,
        rows=(_stored((u["_id"],), u) for u in updates),
    )
    bulk_insert(
        session,
        table,
        ("site_id", "provider_id", *PROSPECT_VALUES),
        (_stored((site_id, row["provider_id"]), row) for row in inserts),
    )
    gone = [pk for pk, _ in have.values()]
    for i in range(0, len(gone), WRITE_CHUNK):
        session.execute(delete(table).where(table.c.id.in_(gone[i : i + WRITE_CHUNK])))
    counts["removed"] = len(have)
    return counts, inserts
