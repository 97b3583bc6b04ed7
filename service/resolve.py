"""Entity resolution (stage ``prm link``): source records -> golden providers.

Runs the rapidfuzz linker over every stored source record, builds golden
records with lineage, infers practices, and writes them in one transaction.
Golden rows are keyed by a stable cluster key (the cluster's NPPES record, else
its smallest source key), so ids survive re-runs, and a row is only written
when a value changed: re-running on the same data changes nothing.

Not handled yet (issue #4): incremental linking, review queue and manual
decisions, EM-estimated parameters.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.progress import ProgressSink, null_progress
from core.values import plain
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
from service.context import AppContext
from service.schemas import StageReport
from service.taxonomy import classification_map

DATE_COLUMNS = ("enumeration_date", "last_update_date", "deactivation_date", "reactivation_date")
PROVIDER_FIELDS = (
    "npi", "entity_type", "first_name", "middle_name", "last_name", "credential",
    "organization_name", "display_name", "taxonomy_code", "taxonomy_codes", "classification",
    "specialty_text", "address_1", "address_2", "city", "state", "postal_code", "country", "phone",
    "gender", "is_active", "deactivation_date", "lineage", "organization_id",
)  # fmt: skip
LOCATION_FIELDS = ("address_1", "postal_code", "country")


def load_source_frame(session: Session) -> pd.DataFrame:
    """All source records as a standard source-record frame indexed by record id."""
    rows = session.execute(
        select(SourceRecord.id, SourceRecord.source, SourceRecord.source_key, SourceRecord.line,
               SourceRecord.record_hash, SourceRecord.data)
    ).all()
    frame = pd.DataFrame(
        [{"id": i, "source": s, "source_key": k, "line": ln, "record_hash": h, **d}
         for i, s, k, ln, h, d in rows]
    )
    if frame.empty:
        return frame
    for col in DATE_COLUMNS:
        if col in frame:
            frame[col] = [date.fromisoformat(v) if isinstance(v, str) else None for v in frame[col]]
    return frame.set_index("id")


def _cluster_keys(frame: pd.DataFrame, clusters: pd.Series) -> pd.Series:
    """A stable key per cluster: its NPPES record if any, else its smallest source key."""
    keys = (frame["source"] + ":" + frame["source_key"].astype(str)).rename("key")
    table = pd.DataFrame({"cluster": clusters.reindex(frame.index), "key": keys,
                          "nppes": frame["source"] != "nppes"})
    table = table.sort_values(["cluster", "nppes", "key"])
    return table.groupby("cluster")["key"].first()


def resolve_providers(ctx: AppContext, *, progress: ProgressSink = null_progress) -> StageReport:
    """Link all source records and write golden providers and practices."""
    from enrichment.golden import build_golden
    from enrichment.link_settings import LinkSettings
    from enrichment.linker import link_records
    from enrichment.organizations import infer_organizations

    started = time.perf_counter()
    with ctx.sessions.begin() as session:
        frame = load_source_frame(session)
        if frame.empty:
            return StageReport(stage="link", detail={"records": 0}, duration_s=0.0)
        progress("link", 0, len(frame))
        classes = classification_map(session)
        result = link_records(frame, settings=LinkSettings(), taxonomy=classes or None)
        clusters = result.clusters.reindex(frame.index)
        golden = build_golden(frame, clusters)
        ckeys = _cluster_keys(frame, clusters)
        golden["cluster_key"] = golden["cluster"].map(ckeys)
        _apply_overrides(session, golden)
        golden["classification"] = golden["taxonomy_code"].map(classes)
        orgs, membership = infer_organizations(golden)
        org_ids = _write_organizations(session, orgs)
        golden["organization_id"] = golden["cluster_key"].map(membership).map(org_ids)
        progress("link", len(frame), len(frame))
        counts, ids = _write_providers(session, golden)
        _write_links(session, clusters, ckeys, ids, result.pairs)
        merges = int((result.pairs["decision"] == "merge").sum()) if len(result.pairs) else 0
        reviews = int((result.pairs["decision"] == "review").sum()) if len(result.pairs) else 0
    return StageReport(
        stage="link",
        detail={"records": len(frame), "golden": len(golden), "merge_pairs": merges,
                "review_pairs": reviews, "organizations": len(orgs), **counts},
        duration_s=round(time.perf_counter() - started, 3),
    )


def _apply_overrides(session: Session, golden: pd.DataFrame) -> None:
    """Manual edits win over registry values (lineage ``manual:<id>``)."""
    from enrichment.golden import display_name

    rows = session.execute(
        select(Provider.cluster_key, ProviderOverride.id, ProviderOverride.field, ProviderOverride.value)
        .join(Provider, Provider.id == ProviderOverride.provider_id)
    ).all()
    if not rows:
        return
    position = {key: i for i, key in enumerate(golden["cluster_key"])}
    touched = set()
    for cluster_key, override_id, field, value in rows:
        i = position.get(cluster_key)
        if i is None:
            continue
        golden.iat[i, golden.columns.get_loc(field)] = value
        lineage = dict(golden.iat[i, golden.columns.get_loc("lineage")] or {})
        lineage[field] = f"manual:{override_id}"
        golden.iat[i, golden.columns.get_loc("lineage")] = lineage
        touched.add(i)
    col = golden.columns.get_loc("display_name")
    for i in touched:
        golden.iat[i, col] = display_name(golden.iloc[i].to_dict()) or golden.iat[i, col]


def _write_organizations(session: Session, orgs: pd.DataFrame) -> dict[str, int]:
    have = {o.org_key: o for o in session.scalars(select(Organization))}
    cols = [c for c in orgs.columns if c != "org_key"]
    for row in orgs.to_dict("records"):
        values = {c: plain(row[c]) for c in cols}
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
        session.execute(update(Provider).where(Provider.organization_id.in_(stale_ids)).values(organization_id=None))
        session.execute(delete(Organization).where(Organization.id.in_(stale_ids)))
    session.flush()
    return {k: o.id for k, o in have.items() if k not in stale}


def _write_providers(session: Session, golden: pd.DataFrame) -> tuple[dict[str, int], dict[str, int]]:
    have = {p.cluster_key: p for p in session.scalars(select(Provider))}
    counts = {"providers_inserted": 0, "providers_updated": 0, "providers_unchanged": 0}
    for row in golden.to_dict("records"):
        values = {f: plain(row.get(f)) for f in PROVIDER_FIELDS}
        # deactivated NPIs come with every other field blank in real NPPES files
        values["entity_type"] = values["entity_type"] or "unknown"
        values["display_name"] = values["display_name"] or (
            f"(NPI {values['npi']}, deactivated)" if values["npi"] else "(no name)"
        )
        values["is_active"] = bool(values["is_active"]) if values["is_active"] is not None else True
        prov = have.get(row["cluster_key"])
        source_point = (plain(row.get("lat")), plain(row.get("lon")))
        if prov is None:
            prov = Provider(cluster_key=row["cluster_key"], **values)
            session.add(prov)
            if None not in source_point:
                _place_at_source(prov, *source_point)
            counts["providers_inserted"] += 1
            continue
        changed = {f: v for f, v in values.items() if getattr(prov, f) != v}
        if not changed:
            counts["providers_unchanged"] += 1
            continue
        if changed.keys() & set(LOCATION_FIELDS):
            if None not in source_point:
                _place_at_source(prov, *source_point)
            else:  # geocoded again by the geocode stage
                prov.lat = prov.lon = prov.geom = None
                for res in H3_RESOLUTIONS:
                    setattr(prov, h3_column(Provider, res).key, None)
                prov.geocode_precision = "none"
        for f, v in changed.items():
            setattr(prov, f, v)
        counts["providers_updated"] += 1
    session.flush()
    keep = set(golden["cluster_key"])
    stale = [p.id for k, p in have.items() if k not in keep]
    if stale:
        session.execute(update(ReferralEvent).where(ReferralEvent.provider_id.in_(stale)).values(provider_id=None))
        session.execute(delete(Prospect).where(Prospect.provider_id.in_(stale)))
        session.execute(delete(ReferrerStat).where(ReferrerStat.provider_id.in_(stale)))
        session.execute(update(SourceRecord).where(SourceRecord.provider_id.in_(stale)).values(provider_id=None))
        session.execute(delete(Provider).where(Provider.id.in_(stale)))
    counts["providers_deleted"] = len(stale)
    ids = dict(session.execute(select(Provider.cluster_key, Provider.id)).all())
    return counts, ids


def _place_at_source(provider: Provider, lat: float, lon: float) -> None:
    """Use the coordinates the registry itself gives (FINESS) instead of geocoding."""
    from service.locate import place_point

    place_point(provider, float(lat), float(lon))
    provider.geocode_precision = "source"


def _write_links(
    session: Session, clusters: pd.Series, ckeys: pd.Series, ids: dict[str, int],
    pairs: pd.DataFrame,
) -> None:
    """Point each source record at its golden record, with its best merge's explanation.

    Only records whose link or probability changed are written.
    """
    best: dict[int, tuple[float, Any]] = {}
    merged = pairs[pairs["decision"] == "merge"] if len(pairs) else pairs
    for left, right, prob, expl in zip(merged.get("left", []), merged.get("right", []),
                                       merged.get("match_probability", []),
                                       merged.get("explanation", []), strict=True):
        for rec in (left, right):
            if rec not in best or prob > best[rec][0]:
                best[rec] = (float(prob), expl)
    current = {rec_id: (pid, prob) for rec_id, pid, prob in session.execute(
        select(SourceRecord.id, SourceRecord.provider_id, SourceRecord.match_probability))}
    updates = []
    for rec_id, cluster in clusters.items():
        provider_id = ids[ckeys[cluster]]
        prob, expl = best.get(rec_id, (None, None))
        if current.get(rec_id) != (provider_id, prob):
            updates.append({"id": int(rec_id), "provider_id": provider_id,
                            "match_probability": prob, "match_explanation": expl})
    if updates:
        session.execute(update(SourceRecord), updates)
