"""Golden records: one surviving provider record per cluster, with field lineage.

Survivorship ranks a cluster's source records by source priority (NPPES
first by default), then by the most recent ``last_update_date`` (a missing
date ranks last), then by line. Each field takes the first non-missing value
in that order, except that the address block (``address_1``, ``address_2``,
``city``, ``state``, ``postal_code``) is taken whole from the first record
that has an ``address_1``, so an address is never stitched from two sources.
``lineage`` names, for every golden field, the ``"source:source_key"`` that
supplied it (``None`` when no record had a value).

Not handled yet: field-level trust rules beyond source order (e.g. preferring
a referrer-list phone over an NPPES one) and conflict reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InputError, Problem

#: Columns of the golden-record frame, in order.
GOLDEN_COLUMNS: tuple[str, ...] = (
    "cluster",
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
    "specialty_text",
    "address_1",
    "address_2",
    "city",
    "state",
    "postal_code",
    "phone",
    "gender",
    "is_active",
    "deactivation_date",
    "country",
    "lat",
    "lon",
    "lineage",
    "members",
)

#: Fields taken together from the one record that supplies the practice address
#: (``lat``/``lon`` are coordinates the source itself gives, e.g. FINESS).
_ADDRESS = ("address_1", "address_2", "city", "state", "postal_code", "country", "lat", "lon")
_SINGLE = (
    "npi",
    "entity_type",
    "first_name",
    "middle_name",
    "last_name",
    "credential",
    "organization_name",
    "taxonomy_code",
    "taxonomy_codes",
    "specialty_text",
    "phone",
    "gender",
)
_STATUS = ("is_active", "deactivation_date")
_REQUIRED = ("source", "source_key", "line", "last_update_date", *_SINGLE, *_ADDRESS, *_STATUS)


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and value != value:  # NaN
        return False
    return not (isinstance(value, str) and not value.strip())


def display_name(row: dict[str, Any]) -> str | None:
    """``"First M Last, Credential"`` for individuals, the legal name for organisations."""
    if row.get("entity_type") == "organization" or not _present(row.get("last_name")):
        return row.get("organization_name") if _present(row.get("organization_name")) else None
    name = " ".join(
        str(row[k]) for k in ("first_name", "middle_name", "last_name") if _present(row.get(k))
    )
    cred = row.get("credential")
    return f"{name}, {cred}" if _present(cred) else name


def _golden_row(cid: Any, members: list[dict[str, Any]]) -> dict[str, Any]:
    """The golden record of one cluster from its members in survivorship order."""
    keys = [f"{r['source']}:{r['source_key']}" for r in members]
    out: dict[str, Any] = {"cluster": cid}
    lineage: dict[str, str | None] = {}
    for fld in _SINGLE:
        src = next((i for i, r in enumerate(members) if _present(r.get(fld))), None)
        out[fld] = members[src][fld] if src is not None else None
        lineage[fld] = keys[src] if src is not None else None
    src = next((i for i, r in enumerate(members) if _present(r.get("address_1"))), None)
    for fld in _ADDRESS:
        value = members[src].get(fld) if src is not None else None
        out[fld] = value if _present(value) else None
        lineage[fld] = keys[src] if src is not None and _present(value) else None
    if out["country"] is None:  # no address anywhere: the country is still known
        with_country = next((i for i, r in enumerate(members) if _present(r.get("country"))), None)
        if with_country is not None:
            out["country"] = members[with_country]["country"]
            lineage["country"] = keys[with_country]
    # status comes from the top-ranked record as a whole (a referrer row is always "active")
    out["is_active"] = bool(members[0]["is_active"])
    out["deactivation_date"] = members[0].get("deactivation_date")
    lineage["is_active"] = keys[0]
    lineage["deactivation_date"] = keys[0] if _present(out["deactivation_date"]) else None
    out["display_name"] = display_name(out)
    lineage["display_name"] = (
        (
            lineage["last_name"]
            if out["entity_type"] != "organization" and out["last_name"]
            else lineage["organization_name"]
        )
        if out["display_name"]
        else None
    )
    out["lineage"] = lineage
    out["members"] = keys
    return out


def _present_mask(column: pd.Series) -> np.ndarray:
    """Vector form of :func:`_present`: not null, not NaN, not a blank string."""
    values = column.to_numpy(dtype=object)
    mask = pd.notna(column).to_numpy()
    blank = np.fromiter(
        (isinstance(v, str) and not v.strip() for v in values), dtype=bool, count=len(values)
    )
    return mask & ~blank


def _single_rows(records: pd.DataFrame, cids: np.ndarray) -> list[dict[str, Any]]:
    """:func:`_golden_row` for one-record clusters (nearly all), a column at a time."""
    if not len(records):
        return []
    keys = (records["source"].astype(str) + ":" + records["source_key"].astype(str)).tolist()
    n = len(records)
    out: dict[str, list[Any]] = {}
    lineage: dict[str, list[Any]] = {}
    for fld in _SINGLE:
        col = records[fld] if fld in records.columns else pd.Series([None] * n, index=records.index)
        ok = _present_mask(col)
        values = col.to_numpy(dtype=object)
        out[fld] = [v if k else None for v, k in zip(values, ok)]
        lineage[fld] = [key if k else None for key, k in zip(keys, ok)]
    has_address = _present_mask(records["address_1"])
    for fld in _ADDRESS:
        col = records[fld] if fld in records.columns else pd.Series([None] * n, index=records.index)
        ok = _present_mask(col) & has_address
        values = col.to_numpy(dtype=object)
        out[fld] = [v if k else None for v, k in zip(values, ok)]
        lineage[fld] = [key if k else None for key, k in zip(keys, ok)]
    country_ok = _present_mask(records["country"])
    for i in np.flatnonzero((~has_address) & country_ok):  # no address: the country is still known
        out["country"][i] = records["country"].iat[i]
        lineage["country"][i] = keys[i]
    deact = records["deactivation_date"].to_numpy(dtype=object)
    deact_ok = _present_mask(records["deactivation_date"])
    active = records["is_active"].to_numpy()
    rows = []
    for i in range(n):
        row = {"cluster": cids[i], **{f: v[i] for f, v in out.items()}}
        line = {f: v[i] for f, v in lineage.items()}
        row["is_active"] = bool(active[i])
        row["deactivation_date"] = deact[i]
        line["is_active"] = keys[i]
        line["deactivation_date"] = keys[i] if deact_ok[i] else None
        row["display_name"] = display_name(row)
        line["display_name"] = (
            (
                line["last_name"]
                if row["entity_type"] != "organization" and row["last_name"]
                else line["organization_name"]
            )
            if row["display_name"]
            else None
        )
        row["lineage"] = _ordered_lineage(line)
        row["members"] = [keys[i]]
        rows.append(row)
    return rows


#: Key order of a lineage dict (as :func:`_golden_row` builds it).
_LINEAGE_ORDER = (*_SINGLE, *_ADDRESS, "is_active", "deactivation_date", "display_name")


def _ordered_lineage(line: dict[str, Any]) -> dict[str, Any]:
    return {k: line[k] for k in _LINEAGE_ORDER if k in line}


def build_golden(
    records: pd.DataFrame,
    clusters: pd.Series,
    *,
    source_priority: Sequence[str] = ("nppes", "referrer_list"),
) -> pd.DataFrame:
    """Build one golden record per cluster.

    Parameters
    ----------
    records
        Standard source records.
    clusters
        Record index label -> cluster id (e.g. :attr:`enrichment.linker.LinkResult.clusters`);
        every record must have one.
    source_priority
        Sources from most to least trusted; unlisted sources rank after them.

    Returns
    -------
    pandas.DataFrame
        :data:`GOLDEN_COLUMNS`, one row per cluster sorted by cluster id.
        ``lineage`` maps each golden field to ``"source:source_key"`` (or ``None``);
        ``display_name`` inherits the lineage of the last (or organisation) name;
        ``members`` lists every member's ``"source:source_key"`` in survivorship order.

    Raises
    ------
    InputError
        Missing columns, or records without a cluster (all listed).
    """
    if isinstance(source_priority, str) or not isinstance(source_priority, Sequence):
        raise TypeError("source_priority must be a sequence of source names")
    problems = [
        Problem("column missing from records", field=c)
        for c in _REQUIRED
        if c not in records.columns
    ]
    unassigned = [
        lbl for lbl in records.index if lbl not in clusters.index or pd.isna(clusters.get(lbl))
    ]
    problems += [
        Problem("record has no cluster", field="cluster", value=str(lbl)) for lbl in unassigned
    ]
    if problems:
        raise InputError("cannot build golden records", problems=problems)
    rank = {s: i for i, s in enumerate(source_priority)}
    cluster_of = clusters.reindex(records.index).to_numpy()
    sizes = pd.Series(cluster_of).map(pd.Series(cluster_of).value_counts()).to_numpy()
    single = sizes == 1
    rows = _single_rows(records[single], cluster_of[single])
    # one pass to plain dicts, then group positions: slicing a DataFrame per
    # cluster costs ~4 ms each, far too slow for registry-sized inputs
    multi = records[~single]
    all_rows = multi.to_dict("records")
    groups: dict[Any, list[int]] = {}
    for pos, cid in enumerate(cluster_of[~single]):
        groups.setdefault(cid, []).append(pos)
    for cid in groups:
        members = sorted(
            (all_rows[pos] for pos in groups[cid]),
            key=lambda r: (
                rank.get(r["source"], len(rank)),
                -(
                    r["last_update_date"].toordinal()
                    if isinstance(r["last_update_date"], date)
                    else 0
                ),
                int(r["line"]),
            ),
        )
        rows.append(_golden_row(cid, members))
    rows.sort(key=lambda r: r["cluster"])
    data = {
        c: pd.Series([r[c] for r in rows], dtype=None if c == "cluster" else object)
        for c in GOLDEN_COLUMNS
    }
    golden = pd.DataFrame(data, columns=list(GOLDEN_COLUMNS))
    golden["is_active"] = golden["is_active"].astype(bool)
    return golden
