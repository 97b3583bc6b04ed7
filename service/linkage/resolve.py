"""Entity resolution (stage ``prm link``): source records -> golden providers.

A **full** run links every stored source record with
:func:`enrichment.linker.link_records`, estimating the model (EM) and storing
it (:class:`~data.models.matching.LinkModelRecord`). An **incremental** run reuses
the latest stored model, frozen, and only scores pairs touching the *focus*:
records never linked, records whose content changed since they were linked
(``linked_hash``), and every member of a cluster holding one of those or a
record named in a reviewer decision; every other record keeps its cluster.
With the same parameters the outcome equals a full run's.

Reviewer decisions (:class:`~data.models.matching.MatchDecision`) are honoured by
both: accepted pairs are must-links, rejected pairs (and unmerges) cannot-links.
Borderline pairs whose records ended in different clusters form the review
queue (:class:`~data.models.matching.ReviewPair`).

Golden rows are keyed by a stable cluster key (the cluster's NPPES record,
else its smallest source key), so ids survive re-runs, and a row is only
written when a value changed: re-running on the same data changes nothing.
"""

from __future__ import annotations

import time
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from core.errors import GeoError
from core.progress import ProgressSink, null_progress
from core.safetext import fit_text
from core.sequences import chunked
from core.values import plain
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
from data.models.matching import LinkModelRecord, MatchDecision, ReviewPair
from data.models.security import DataObjection
from enrichment.records import DATE_COLUMNS
from service.context import AppContext
from service.ingest.taxonomy import classification_map
from service.placement.locate import geocode_address
from service.schemas import StageReport

if TYPE_CHECKING:  # imported where used: the linker is heavy to import
    from enrichment.link_settings import LinkSettings
    from enrichment.linker import LinkModel

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


def load_source_frame(session: Session, *, provider_id: int | None = None) -> pd.DataFrame:
    """Source records as a standard source-record frame indexed by record id (ascending).

    Every record, or only those linked to the golden record ``provider_id``.
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
    rows = session.execute(stmt).all()
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
    return frame.set_index("id")


def link_settings(ctx: AppContext) -> LinkSettings:
    """The settings file in force (``PRM_LINK_SETTINGS_FILE``, else the shipped default)."""
    from enrichment.link_settings import LinkSettings

    path = ctx.settings.link_settings_file
    return LinkSettings.from_file(path) if path else LinkSettings.default()


def latest_model(session: Session, settings: LinkSettings) -> LinkModel | None:
    """The latest stored model, if it fits ``settings``."""
    from enrichment.linker import LinkModel

    row = session.scalars(
        select(LinkModelRecord).order_by(LinkModelRecord.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    model = LinkModel.from_dict(row.parameters)
    return model if model.matches(settings) else None


def decisions(session: Session) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Accepted (must-link) and rejected (cannot-link) record pairs."""
    accept, reject = [], []
    for left, right, kind in session.execute(
        select(MatchDecision.left_record_id, MatchDecision.right_record_id, MatchDecision.decision)
    ):
        (accept if kind == "accept" else reject).append((left, right))
    return accept, reject


def _focus(session: Session, frame: pd.DataFrame) -> tuple[np.ndarray, pd.Series]:
    """Focus mask of an incremental run, and the current provider of linked records."""
    rows = session.execute(
        select(SourceRecord.id, SourceRecord.provider_id, SourceRecord.linked_hash)
    ).all()
    state = pd.DataFrame(rows, columns=["id", "provider_id", "linked_hash"]).set_index("id")
    state = state.reindex(frame.index)
    existing = state["provider_id"].astype(object).where(state["provider_id"].notna(), None)
    changed = state["provider_id"].isna() | (state["linked_hash"] != frame["record_hash"])
    touched = set(frame.index[changed.to_numpy()])
    for left, right in session.execute(
        select(MatchDecision.left_record_id, MatchDecision.right_record_id)
    ):
        touched |= {left, right}
    dirty = set(existing.loc[list(touched & set(existing.index))].dropna())
    focus = changed.to_numpy() | existing.isin(dirty).to_numpy()
    return focus.astype(bool), existing


def resolve_providers(
    ctx: AppContext, *, progress: ProgressSink = null_progress, incremental: bool = False
) -> StageReport:
    """Link source records and write golden providers, practices and the review queue.

    Parameters
    ----------
    ctx
        Application context.
    progress
        Receives ``("link", done, total)`` updates.
    incremental
        Link only new and changed records with the latest stored model (a full
        run happens anyway when no stored model fits the settings).
    """
    from enrichment.golden import build_golden
    from enrichment.linker import link_records
    from enrichment.organizations import infer_organizations

    started = time.perf_counter()
    settings = link_settings(ctx)
    with ctx.sessions.begin() as session:
        frame = load_source_frame(session)
        if frame.empty:
            return StageReport(stage="link", detail={"records": 0}, duration_s=0.0)
        classes = classification_map(session)
        must, cannot = decisions(session)
        model = latest_model(session, settings) if incremental else None
        focus, existing = (None, None)
        if model is not None:
            focus, existing = _focus(session, frame)
        result = link_records(
            frame,
            settings=settings,
            model=model,
            classes=classes or None,
            focus=focus,
            existing=existing,
            must_link=must,
            cannot_link=cannot,
            progress=progress,
        )
        if model is None:
            session.add(
                LinkModelRecord(
                    settings=settings.model_dump(mode="json"),
                    parameters=result.model.to_dict(),
                    records=len(frame),
                    pairs=len(result.pairs),
                )
            )
        clusters = result.clusters.reindex(frame.index)
        golden = build_golden(frame, clusters)
        ckeys = _cluster_keys(frame, clusters)
        golden["cluster_key"] = golden["cluster"].map(ckeys)
        _apply_overrides(session, golden)
        golden["classification"] = golden["taxonomy_code"].map(classes)
        orgs, membership = infer_organizations(golden)
        org_ids = _write_organizations(session, orgs)
        golden["organization_id"] = golden["cluster_key"].map(membership).map(org_ids)
        counts, ids = _write_providers(session, golden)
        _write_links(session, frame, clusters, ckeys, ids, result)
        queued = _write_review_queue(session, result, clusters, focus=focus, index=frame.index)
    return StageReport(
        stage="link",
        detail={
            "mode": "incremental" if model is not None else "full",
            "records": len(frame),
            "focus": int(focus.sum()) if focus is not None else len(frame),
            "golden": len(golden),
            "pairs": result.report["pairs"],
            "merge_pairs": result.report["merge_pairs"],
            "review_queue": queued,
            "organizations": len(orgs),
            **counts,
        },
        duration_s=round(time.perf_counter() - started, 3),
    )


def _cluster_keys(frame: pd.DataFrame, clusters: pd.Series) -> pd.Series:
    """A stable key per cluster: its NPPES record if any, else its smallest source key."""
    keys = (frame["source"] + ":" + frame["source_key"].astype(str)).rename("key")
    table = pd.DataFrame(
        {"cluster": clusters.reindex(frame.index), "key": keys, "nppes": frame["source"] != "nppes"}
    )
    table = table.sort_values(["cluster", "nppes", "key"])
    return table.groupby("cluster")["key"].first()


def _apply_overrides(session: Session, golden: pd.DataFrame) -> None:
    """Manual edits win over registry values (lineage ``manual:<id>``)."""
    from enrichment.golden import display_name

    rows = session.execute(
        select(
            Provider.cluster_key,
            ProviderOverride.id,
            ProviderOverride.field,
            ProviderOverride.value,
        ).join(Provider, Provider.id == ProviderOverride.provider_id)
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
        session.execute(
            update(Provider)
            .where(Provider.organization_id.in_(stale_ids))
            .values(organization_id=None)
        )
        session.execute(delete(Organization).where(Organization.id.in_(stale_ids)))
    session.flush()
    return {k: o.id for k, o in have.items() if k not in stale}


def _write_providers(
    session: Session, golden: pd.DataFrame
) -> tuple[dict[str, int], dict[str, int]]:
    """Insert, update or leave each golden provider, comparing plain column values.

    Existing rows are read as tuples (not ORM objects) and written with bulk
    statements, so a re-run over a million unchanged providers only reads.
    """
    columns = [Provider.id, Provider.cluster_key, *(getattr(Provider, f) for f in PROVIDER_FIELDS)]
    have = {row.cluster_key: row for row in session.execute(select(*columns))}
    counts = {"providers_inserted": 0, "providers_updated": 0, "providers_unchanged": 0}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    # every stored field fits its column (refused at ingest otherwise); the display name is made of
    # several of them ("First Middle Last, Credential") and may not
    for row in golden.to_dict("records"):
        values = _golden_values(row)
        old = have.get(row["cluster_key"])
        source_point = (plain(row.get("lat")), plain(row.get("lon")))
        if old is None:
            new = {"cluster_key": row["cluster_key"], **values}
            if None not in source_point:
                new.update(_source_location(*source_point))
            inserts.append(new)
            continue
        changed = {f: v for f, v in values.items() if getattr(old, f) != v}
        if not changed:
            counts["providers_unchanged"] += 1
            continue
        if changed.keys() & set(LOCATION_FIELDS):
            # a registry location wins; otherwise the geocode stage places the new address
            changed.update(
                _source_location(*source_point) if None not in source_point else _UNPLACED
            )
        updates.append({"id": old.id, **changed})
    for part in chunked(inserts, 5000):
        session.execute(insert(Provider), part)
    for part in chunked(updates, 5000):
        session.execute(update(Provider), part)
    counts["providers_inserted"], counts["providers_updated"] = len(inserts), len(updates)
    keep = set(golden["cluster_key"])
    # an erased person's row stays even when no record is left: it carries the objection that keeps
    # them out if the clinic's list names them again (same cluster key, same id)
    erased = set(
        session.scalars(
            select(DataObjection.provider_id).where(DataObjection.erased_at.is_not(None))
        )
    )
    stale = [p.id for k, p in have.items() if k not in keep and p.id not in erased]
    if stale:
        session.execute(
            update(ReferralEvent)
            .where(ReferralEvent.provider_id.in_(stale))
            .values(provider_id=None)
        )
        session.execute(delete(Prospect).where(Prospect.provider_id.in_(stale)))
        session.execute(delete(ReferrerStat).where(ReferrerStat.provider_id.in_(stale)))
        session.execute(
            update(SourceRecord).where(SourceRecord.provider_id.in_(stale)).values(provider_id=None)
        )
        session.execute(delete(Provider).where(Provider.id.in_(stale)))
    counts["providers_deleted"] = len(stale)
    ids = dict(session.execute(select(Provider.cluster_key, Provider.id)).all())
    return counts, ids


_DISPLAY_LENGTH = string_lengths(Provider)["display_name"]


def _golden_values(row: dict[str, Any]) -> dict[str, Any]:
    """The provider columns of one golden row (:data:`PROVIDER_FIELDS`), as stored."""
    values = {f: plain(row.get(f)) for f in PROVIDER_FIELDS}
    # deactivated NPIs come with every other field blank in real NPPES files
    values["entity_type"] = values["entity_type"] or "unknown"
    values["display_name"] = fit_text(values["display_name"], _DISPLAY_LENGTH) or (
        f"(NPI {values['npi']}, deactivated)" if values["npi"] else "(no name)"
    )
    values["is_active"] = bool(values["is_active"]) if values["is_active"] is not None else True
    return values


def rebuild_provider(ctx: AppContext, session: Session, provider: Provider) -> bool:
    """Rebuild one golden record now from the source records still linked to it.

    What a link run would write for the record's cluster, without relinking
    anything: survivorship over its records, manual corrections re-applied,
    the classification looked up. A changed address is placed where the
    registry itself says, else geocoded offline, else left for the geocode
    stage. A record with no source record left keeps its id and cluster key
    and nothing else (no name, no address, no practice).

    Returns
    -------
    bool
        Whether any column changed.
    """
    from enrichment.golden import build_golden
    from enrichment.records import SOURCE_RECORD_COLUMNS
    from service.ingest.taxonomy import taxonomy_code

    frame = load_source_frame(session, provider_id=provider.id)
    row: dict[str, Any] = {"lineage": {}}
    if not frame.empty:
        for col in SOURCE_RECORD_COLUMNS:  # a record stored with fewer fields than a reader makes
            if col not in frame:
                frame[col] = None
        golden = build_golden(frame, pd.Series(0, index=frame.index))
        golden["cluster_key"] = provider.cluster_key
        _apply_overrides(session, golden)
        row = golden.iloc[0].to_dict()
        code = plain(row.get("taxonomy_code"))
        found = taxonomy_code(session, code) if code else None
        row["classification"] = found.classification if found else None
        row["organization_id"] = (
            provider.organization_id
        )  # practices are inferred by the next link run
    values = _golden_values(row)
    changed = {f: v for f, v in values.items() if getattr(provider, f) != v}
    if changed.keys() & set(LOCATION_FIELDS) or (frame.empty and provider.lat is not None):
        changed.update(_relocated(ctx, values, (plain(row.get("lat")), plain(row.get("lon")))))
    for field, value in changed.items():
        setattr(provider, field, value)
    return bool(changed)


def _relocated(
    ctx: AppContext, values: dict[str, Any], source_point: tuple[Any, Any]
) -> dict[str, Any]:
    """Location columns of a rebuilt record: the registry's point, an offline geocode, or none."""
    if None not in source_point:
        return _source_location(*source_point)
    if not values["address_1"] and not values["postal_code"]:
        return dict(_UNPLACED)
    try:
        lat, lon, precision = geocode_address(
            ctx,
            address_1=values["address_1"],
            postal_code=values["postal_code"],
            city=values["city"],
            country=values["country"],
        )
    except GeoError:
        return dict(_UNPLACED)
    return {**_source_location(lat, lon), "geocode_precision": precision}


#: Columns of a provider whose address changed and that the geocode stage must place again.
_UNPLACED: dict[str, Any] = {
    "lat": None,
    "lon": None,
    "geom": None,
    "geocode_precision": "none",
    **{h3_column(Provider, res).key: None for res in H3_RESOLUTIONS},
}


def _source_location(lat: float, lon: float) -> dict[str, Any]:
    """The location columns of a provider placed where the registry itself says (FINESS)."""
    point = Provider()
    _place_at_source(point, lat, lon)
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


def _place_at_source(provider: Provider, lat: float, lon: float) -> None:
    """Use the coordinates the registry itself gives (FINESS) instead of geocoding."""
    from service.placement.locate import place_point

    place_point(provider, float(lat), float(lon))
    provider.geocode_precision = "source"


def _write_links(
    session: Session,
    frame: pd.DataFrame,
    clusters: pd.Series,
    ckeys: pd.Series,
    ids: dict[str, int],
    result: Any,
) -> None:
    """Point each source record at its golden record, with its best merge's explanation.

    Only records whose link, probability or linked hash changed are written.
    """
    from enrichment.linker import explanation

    pairs = result.pairs
    merged = pairs[pairs["decision"] == "merge"]
    best = (
        pd.concat(
            [
                pd.DataFrame(
                    {
                        "rec": merged["left"].to_numpy(),
                        "row": merged.index.to_numpy(),
                        "p": merged["match_probability"].to_numpy(),
                    }
                ),
                pd.DataFrame(
                    {
                        "rec": merged["right"].to_numpy(),
                        "row": merged.index.to_numpy(),
                        "p": merged["match_probability"].to_numpy(),
                    }
                ),
            ]
        )
        .sort_values("p", ascending=False, kind="stable")
        .drop_duplicates("rec")
        .set_index("rec")
    )
    current = {
        rec_id: (pid, prob, linked)
        for rec_id, pid, prob, linked in session.execute(
            select(
                SourceRecord.id,
                SourceRecord.provider_id,
                SourceRecord.match_probability,
                SourceRecord.linked_hash,
            )
        )
    }
    hashes = frame["record_hash"]
    updates = []
    for rec_id, cluster in clusters.items():
        provider_id = ids[ckeys[cluster]]
        prob = float(best.at[rec_id, "p"]) if rec_id in best.index else None
        if current.get(rec_id) == (provider_id, prob, hashes[rec_id]):
            continue
        expl = (
            explanation(pairs.loc[best.at[rec_id, "row"]], result.settings, result.model)
            if prob is not None
            else None
        )
        updates.append(
            {
                "id": int(rec_id),
                "provider_id": provider_id,
                "match_probability": prob,
                "match_explanation": expl,
                "linked_hash": hashes[rec_id],
            }
        )
    if updates:
        session.execute(update(SourceRecord), updates)


def _write_review_queue(
    session: Session, result: Any, clusters: pd.Series, *, focus: np.ndarray | None, index: pd.Index
) -> int:
    """Replace the queue (full run) or its part touching the focus (incremental run)."""
    from enrichment.linker import explanation

    if focus is None:
        session.execute(delete(ReviewPair))
    else:
        ids = [int(i) for i in index[focus]]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            session.execute(
                delete(ReviewPair).where(
                    or_(ReviewPair.left_record_id.in_(chunk), ReviewPair.right_record_id.in_(chunk))
                )
            )
    pairs = result.pairs
    review = pairs[pairs["decision"] == "review"]
    cl = clusters.to_numpy()
    split = cl[review["left_pos"].to_numpy()] != cl[review["right_pos"].to_numpy()]
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
    rows = [
        {
            "left_record_id": int(r["left"]),
            "right_record_id": int(r["right"]),
            "match_probability": float(r["match_probability"]),
            "match_weight": float(r["match_weight"]),
            "explanation": explanation(r, result.settings, result.model),
        }
        for _, r in review.iterrows()
    ]
    if rows:
        session.execute(ReviewPair.__table__.insert(), rows)
    return len(rows)
