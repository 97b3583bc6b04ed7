"""What the link stage writes, a chunk of clusters at a time: golden providers, links, the queue.

Each writer reads back only the rows of its chunk and compares plain column
values, so a re-run over unchanged data only reads. Practices
(:mod:`enrichment.organizations`) group providers across chunks: they are
inferred once from a narrow projection of every golden record and assigned
after the last chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import orjson
import pandas as pd
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from core.safetext import fit_text
from core.sequences import chunked
from core.values import plain
from data.bulk import bulk_insert, bulk_update, geometry_value
from data.lengths import string_lengths
from data.models import (
    H3_RESOLUTIONS,
    Organization,
    Prospect,
    Provider,
    ProviderOverride,
    ReferralEvent,
    ReferrerStat,
    SourceRecord,
    h3_column,
)
from data.models.matching import MatchDecision, ReviewPair
from data.models.security import DataObjection

PROVIDER_FIELDS = (
    "npi",
    "entity_type",
    "first_name",
    "middle_name",
    "last_name",
    "credential",
    "organization_name",
    "display_name",
    "taxonomy_code",
    "taxonomy_codes",
    "classification",
    "specialty_text",
    "address_1",
    "address_2",
    "city",
    "state",
    "postal_code",
    "country",
    "phone",
    "gender",
    "is_active",
    "deactivation_date",
    "lineage",
    "organization_id",
)
LOCATION_FIELDS = ("address_1", "postal_code", "country")
#: Golden columns practices are inferred from (:func:`enrichment.organizations.infer_organizations`).
PRACTICE_COLUMNS = (
    "cluster_key",
    "entity_type",
    "npi",
    "organization_name",
    "address_1",
    "city",
    "state",
    "postal_code",
    "phone",
)
#: Ids per ``IN (...)`` list: below SQLite's and PostgreSQL's bound-parameter limits.
_IN_BATCH = 5000


def cluster_keys(frame: pd.DataFrame, clusters: pd.Series) -> pd.Series:
    """A stable key per cluster: its NPPES record if any, else its smallest source key."""
    keys = (frame["source"] + ":" + frame["source_key"].astype(str)).rename("key")
    table = pd.DataFrame(
        {"cluster": clusters.reindex(frame.index), "key": keys, "nppes": frame["source"] != "nppes"}
    )
    table = table.sort_values(["cluster", "nppes", "key"])
    return table.groupby("cluster")["key"].first()


def load_overrides(session: Session) -> dict[str, list[tuple[int, str, Any]]]:
    """Manual edits by cluster key: ``(override id, field, value)`` in id order."""
    out: dict[str, list[tuple[int, str, Any]]] = {}
    for cluster_key, override_id, field, value in session.execute(
        select(
            Provider.cluster_key,
            ProviderOverride.id,
            ProviderOverride.field,
            ProviderOverride.value,
        )
        .join(Provider, Provider.id == ProviderOverride.provider_id)
        .order_by(ProviderOverride.id)
    ):
        out.setdefault(cluster_key, []).append((override_id, field, value))
    return out


def apply_overrides(
    golden: pd.DataFrame, overrides: Mapping[str, list[tuple[int, str, Any]]]
) -> None:
    """Manual edits win over registry values (lineage ``manual:<id>``)."""
    from enrichment.golden import display_name

    if not overrides:
        return
    touched = set()
    for i, key in enumerate(golden["cluster_key"]):
        for override_id, field, value in overrides.get(key, ()):
            golden.iat[i, golden.columns.get_loc(field)] = value
            lineage = dict(golden.iat[i, golden.columns.get_loc("lineage")] or {})
            lineage[field] = f"manual:{override_id}"
            golden.iat[i, golden.columns.get_loc("lineage")] = lineage
            touched.add(i)
    col = golden.columns.get_loc("display_name")
    for i in touched:
        golden.iat[i, col] = display_name(golden.iloc[i].to_dict()) or golden.iat[i, col]


def write_organizations(session: Session, orgs: pd.DataFrame) -> dict[str, int]:
    """Insert, update or delete practices; org key -> id of those kept."""
    have = {o.org_key: o for o in session.scalars(select(Organization))}
    cols = [c for c in orgs.columns if c != "org_key"]
    name_length = string_lengths(Organization)["name"]
    for row in orgs.to_dict("records"):
        values = {c: plain(row[c]) for c in cols}
        values["name"] = fit_text(
            values["name"], name_length
        )  # "Practice at <address>" may be longer
        org = have.get(row["org_key"])
        if org is None:
            org = Organization(org_key=row["org_key"], **values)
            session.add(org)
            have[row["org_key"]] = org
        else:
            for c, v in values.items():
                if getattr(org, c) != v:
                    setattr(org, c, v)
    stale = set(have) - set(orgs["org_key"])
    if stale:
        stale_ids = [have[k].id for k in stale]
        for part in chunked(stale_ids, _IN_BATCH):
            session.execute(
                update(Provider)
                .where(Provider.organization_id.in_(part))
                .values(organization_id=None)
            )
            session.execute(delete(Organization).where(Organization.id.in_(part)))
    session.flush()
    return {k: o.id for k, o in have.items() if k not in stale}


def assign_organizations(
    session: Session, membership: pd.Series, org_ids: Mapping[str, int], *, chunk_rows: int
) -> int:
    """Point each provider at its practice (or none); returns how many changed."""
    wanted = membership.map(org_ids)
    stmt = select(Provider.id, Provider.cluster_key, Provider.organization_id).execution_options(
        yield_per=chunk_rows
    )
    # collected as integer arrays, written once the read is over (never update what is being read)
    ids: list[np.ndarray] = []
    orgs: list[np.ndarray] = []
    for part in session.execute(stmt).partitions():
        pid, new = [], []
        for provider_id, key, org in part:
            want = wanted.get(key)
            want = None if want is None or pd.isna(want) else int(want)
            if want != org:
                pid.append(provider_id)
                new.append(-1 if want is None else want)
        ids.append(np.asarray(pid, dtype=np.int64))
        orgs.append(np.asarray(new, dtype=np.int64))
    changed_ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    changed_orgs = np.concatenate(orgs) if orgs else np.zeros(0, np.int64)
    bulk_update(
        session,
        Provider.__table__,
        key="id",
        columns=("organization_id",),
        rows=(
            (int(i), None if o < 0 else int(o))
            for i, o in zip(changed_ids, changed_orgs, strict=True)
        ),
    )
    return len(changed_ids)


#: Provider columns stored as JSON (written as text by the bulk writers).
_JSON_FIELDS = frozenset({"lineage"})


def _stored_value(dialect: Any, column: str, value: Any) -> Any:
    """A golden value as :func:`data.bulk.bulk_insert` takes it for that provider column."""
    if column in _JSON_FIELDS:
        return None if value is None else orjson.dumps(value).decode()
    if column == "geom":
        return geometry_value(dialect, value)
    return value


def write_providers(
    session: Session, golden: pd.DataFrame
) -> tuple[dict[str, int], dict[str, int]]:
    """Insert, update or leave each golden provider of one chunk, comparing plain column values.

    The practice (``organization_id``) is left alone here: see :func:`assign_organizations`.

    Returns
    -------
    counts, ids
        Inserted / updated / unchanged counts, and cluster key -> provider id.
    """
    fields = [f for f in PROVIDER_FIELDS if f != "organization_id"]
    columns = [Provider.id, Provider.cluster_key, *(getattr(Provider, f) for f in fields)]
    keys = [str(k) for k in golden["cluster_key"]]
    have = {
        row.cluster_key: row
        for part in chunked(keys, _IN_BATCH)
        for row in session.execute(select(*columns).where(Provider.cluster_key.in_(part)))
    }
    counts = {"providers_inserted": 0, "providers_updated": 0, "providers_unchanged": 0}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for row in golden.to_dict("records"):
        values = golden_values(row)
        del values["organization_id"]
        old = have.get(row["cluster_key"])
        source_point = (plain(row.get("lat")), plain(row.get("lon")))
        if old is None:
            # one key set for every row: a Core executemany in one statement, not row by row
            located = source_location(*source_point) if None not in source_point else UNPLACED
            inserts.append({"cluster_key": row["cluster_key"], **values, **located})
            continue
        changed = {f: v for f, v in values.items() if getattr(old, f) != v}
        if not changed:
            counts["providers_unchanged"] += 1
            continue
        if changed.keys() & set(LOCATION_FIELDS):
            # a registry location wins; otherwise the geocode stage places the new address
            changed.update(source_location(*source_point) if None not in source_point else UNPLACED)
        updates.append({"id": old.id, **changed})
    if inserts:
        columns = tuple(inserts[0])  # one key set: cluster_key, the fields, the location
        dialect = session.connection().dialect
        bulk_insert(
            session,
            Provider.__table__,
            columns,
            (tuple(_stored_value(dialect, c, row[c]) for c in columns) for row in inserts),
        )
    for part in chunked(updates, 5000):
        session.execute(update(Provider), part)
    counts["providers_inserted"], counts["providers_updated"] = len(inserts), len(updates)
    ids = {
        key: pid
        for part in chunked(keys, _IN_BATCH)
        for key, pid in session.execute(
            select(Provider.cluster_key, Provider.id).where(Provider.cluster_key.in_(part))
        )
    }
    return counts, ids


def delete_stale_providers(session: Session, kept: np.ndarray) -> int:
    """Delete golden providers no cluster produced (``kept`` holds the ids of those written).

    An erased person's row stays even when no record is left: it carries the
    objection that keeps them out if the clinic's list names them again (same
    cluster key, same id).
    """
    every = np.fromiter(session.scalars(select(Provider.id)), dtype=np.int64)
    erased = np.fromiter(
        session.scalars(
            select(DataObjection.provider_id).where(DataObjection.erased_at.is_not(None))
        ),
        dtype=np.int64,
    )
    stale = [int(i) for i in np.setdiff1d(every, np.concatenate([kept, erased]))]
    for part in chunked(stale, _IN_BATCH):
        session.execute(
            update(ReferralEvent)
            .where(ReferralEvent.provider_id.in_(part))
            .values(provider_id=None)
        )
        session.execute(delete(Prospect).where(Prospect.provider_id.in_(part)))
        session.execute(delete(ReferrerStat).where(ReferrerStat.provider_id.in_(part)))
        session.execute(
            update(SourceRecord).where(SourceRecord.provider_id.in_(part)).values(provider_id=None)
        )
        session.execute(delete(Provider).where(Provider.id.in_(part)))
    return len(stale)


_DISPLAY_LENGTH = string_lengths(Provider)["display_name"]


def golden_values(row: dict[str, Any]) -> dict[str, Any]:
    """The provider columns of one golden row (:data:`PROVIDER_FIELDS`), as stored."""
    # every stored field fits its column (refused at ingest otherwise); the display name is made of
    # several of them ("First Middle Last, Credential") and may not
    values = {f: plain(row.get(f)) for f in PROVIDER_FIELDS}
    # deactivated NPIs come with every other field blank in real NPPES files
    values["entity_type"] = values["entity_type"] or "unknown"
    values["display_name"] = fit_text(values["display_name"], _DISPLAY_LENGTH) or (
        f"(NPI {values['npi']}, deactivated)" if values["npi"] else "(no name)"
    )
    values["is_active"] = bool(values["is_active"]) if values["is_active"] is not None else True
    return values


#: Columns of a provider whose address changed and that the geocode stage must place again.
UNPLACED: dict[str, Any] = {
    "lat": None,
    "lon": None,
    "geom": None,
    "geocode_precision": "none",
    **{h3_column(Provider, res).key: None for res in H3_RESOLUTIONS},
}


def source_location(lat: float, lon: float) -> dict[str, Any]:
    """The location columns of a provider placed where the registry itself says (FINESS)."""
    from service.placement.locate import place_point

    point = Provider()
    place_point(point, float(lat), float(lon))
    return {
        "lat": point.lat,
        "lon": point.lon,
        "geom": point.geom,
        "geocode_precision": "source",
        **{
            h3_column(Provider, res).key: getattr(point, h3_column(Provider, res).key)
            for res in H3_RESOLUTIONS
        },
    }


def best_merges(pairs: pd.DataFrame, n_records: int) -> tuple[np.ndarray, np.ndarray]:
    """Per record position: the row of its most probable merge pair (-1: none) and its probability.

    Ties go to the earlier pair, a record's left-side pairs before its right-side ones.
    """
    merged = np.flatnonzero((pairs["decision"] == "merge").to_numpy())
    p = pairs["match_probability"].to_numpy()[merged]
    rec = np.concatenate(
        [pairs["left_pos"].to_numpy()[merged], pairs["right_pos"].to_numpy()[merged]]
    )
    rows = np.concatenate([merged, merged])
    prob = np.concatenate([p, p])
    order = np.argsort(-prob, kind="stable")
    rec, rows, prob = rec[order], rows[order], prob[order]
    first = np.unique(rec, return_index=True)[1]
    best_row = np.full(n_records, -1, dtype=np.int64)
    best_p = np.full(n_records, np.nan)
    best_row[rec[first]] = rows[first]
    best_p[rec[first]] = prob[first]
    return best_row, best_p


def write_links(
    session: Session,
    frame: pd.DataFrame,
    positions: np.ndarray,
    provider_of: Mapping[Any, int],
    best: tuple[np.ndarray, np.ndarray],
    result: Any,
    *,
    focus: np.ndarray | None,
) -> None:
    """Point each source record of one chunk at its golden record, with its best merge's explanation.

    ``frame`` holds the chunk's records (with ``record_hash``) in the order of
    ``positions`` (their positions in the linked frame); ``provider_of`` maps
    a record id to its provider id. Only records whose link, probability or
    linked hash changed are written. Outside an incremental run's ``focus`` no
    pair was scored again, so a record keeps its stored best merge unless a
    new pair beats it.
    """
    from enrichment.linker import explanation

    ids = [int(i) for i in frame.index]
    current = {
        rec_id: (pid, prob, linked)
        for part in chunked(ids, _IN_BATCH)
        for rec_id, pid, prob, linked in session.execute(
            select(
                SourceRecord.id,
                SourceRecord.provider_id,
                SourceRecord.match_probability,
                SourceRecord.linked_hash,
            ).where(SourceRecord.id.in_(part))
        )
    }
    best_row, best_p = best
    updates, relinks = [], []
    for rec_id, pos, rec_hash in zip(ids, positions, frame["record_hash"], strict=True):
        provider_id = provider_of[rec_id]
        row = int(best_row[pos])
        prob = float(best_p[pos]) if row >= 0 else None
        stored = current.get(rec_id)
        if stored == (provider_id, prob, rec_hash):
            continue
        if (
            focus is not None
            and not focus[pos]
            and stored is not None
            and stored[1] is not None
            and (prob is None or prob <= stored[1])
        ):
            if (stored[0], stored[2]) != (provider_id, rec_hash):
                relinks.append((rec_id, provider_id, rec_hash))
            continue
        expl = (
            explanation(result.pairs.iloc[row], result.settings, result.model) if row >= 0 else None
        )
        text = None if expl is None else orjson.dumps(expl).decode()
        updates.append((rec_id, provider_id, prob, text, rec_hash))
    table = SourceRecord.__table__
    columns = ("provider_id", "match_probability", "match_explanation", "linked_hash")
    bulk_update(session, table, key="id", columns=columns, rows=updates)
    bulk_update(session, table, key="id", columns=("provider_id", "linked_hash"), rows=relinks)


def write_review_queue(
    session: Session,
    result: Any,
    clusters: np.ndarray,
    *,
    focus: np.ndarray | None,
    index: pd.Index,
    chunk_rows: int,
) -> int:
    """Replace the queue (full run) or its part touching the focus (incremental run)."""
    from enrichment.linker import explanation

    if focus is None:
        session.execute(delete(ReviewPair))
    else:
        for chunk in chunked([int(i) for i in index[focus]], 500):
            session.execute(
                delete(ReviewPair).where(
                    or_(ReviewPair.left_record_id.in_(chunk), ReviewPair.right_record_id.in_(chunk))
                )
            )
    pairs = result.pairs
    review = pairs[pairs["decision"] == "review"]
    split = clusters[review["left_pos"].to_numpy()] != clusters[review["right_pos"].to_numpy()]
    review = review[split]
    decided = set(
        session.execute(select(MatchDecision.left_record_id, MatchDecision.right_record_id)).all()
    )
    keep = np.array(
        [(int(a), int(b)) not in decided for a, b in zip(review["left"], review["right"])],
        dtype=bool,
    )
    review = review[keep]
    if focus is not None:
        review = review[
            focus[review["left_pos"].to_numpy()] | focus[review["right_pos"].to_numpy()]
        ]
    for start in range(0, len(review), max(chunk_rows, 1)):
        rows = [
            {
                "left_record_id": int(r["left"]),
                "right_record_id": int(r["right"]),
                "match_probability": float(r["match_probability"]),
                "match_weight": float(r["match_weight"]),
                "explanation": explanation(r, result.settings, result.model),
            }
            for r in review.iloc[start : start + chunk_rows].to_dict("records")
        ]
        session.execute(ReviewPair.__table__.insert(), rows)
    return len(review)


def practice_rows(golden: pd.DataFrame) -> pd.DataFrame:
    """The narrow projection of one chunk's golden records practices are inferred from."""
    return golden[list(PRACTICE_COLUMNS)].copy()


def concat_practices(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Every chunk's projection, in cluster order."""
    parts = list(parts)
    if not parts:
        return pd.DataFrame(columns=list(PRACTICE_COLUMNS))
    return pd.concat(parts, ignore_index=True)
