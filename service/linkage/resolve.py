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
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import GeoError
from core.progress import ProgressSink, null_progress
from core.values import plain
from data.models import Provider
from data.models.matching import LinkModelRecord, MatchDecision
from service.context import AppContext
from service.ingest.taxonomy import classification_map
from service.linkage.frames import (
    LinkInput,
    cluster_chunks,
    load_chunk,
    load_link_input,
    pairs_per_chunk,
    records_per_chunk,
)
from service.linkage.writes import (
    LOCATION_FIELDS,
    UNPLACED,
    apply_overrides,
    assign_organizations,
    best_merges,
    cluster_keys,
    concat_practices,
    delete_stale_providers,
    golden_values,
    load_overrides,
    practice_rows,
    source_location,
    write_links,
    write_organizations,
    write_providers,
    write_review_queue,
)
from service.placement.locate import geocode_address
from service.schemas import StageReport

if TYPE_CHECKING:  # imported where used: the linker is heavy to import
    from enrichment.link_settings import LinkSettings
    from enrichment.linker import LinkModel


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


def _focus(session: Session, link_input: LinkInput) -> tuple[np.ndarray, pd.Series]:
    """Focus mask of an incremental run, and the current provider of linked records."""
    index = link_input.frame.index
    existing = pd.Series(link_input.provider, index=index)
    touched = index[link_input.changed]
    decided = [
        rid
        for pair in session.execute(
            select(MatchDecision.left_record_id, MatchDecision.right_record_id)
        )
        for rid in pair
    ]
    touched = touched.union(pd.Index(decided, dtype=np.int64)).intersection(index)
    dirty = np.unique(existing.loc[touched].dropna().to_numpy())
    focus = link_input.changed | np.isin(link_input.provider, dirty)
    return focus.astype(bool), existing


def resolve_providers(
    ctx: AppContext,
    *,
    progress: ProgressSink = null_progress,
    incremental: bool = False,
    chunk_records: int | None = None,
) -> StageReport:
    """Link source records and write golden providers, practices and the review queue.

    Memory: the linker reads its dozen fields of every record compactly
    (:func:`~service.linkage.frames.load_link_input`); golden records are then
    built and written a chunk of whole clusters at a time, each chunk in a
    transaction of its own, so only one chunk's full records are held at once
    and no transaction grows with the file. A run killed part-way leaves whole
    chunks written and no new model stored; the next run links again and finds
    them unchanged.

    Parameters
    ----------
    ctx
        Application context.
    progress
        Receives ``("link", done, total)`` updates.
    incremental
        Link only new and changed records with the latest stored model (a full
        run happens anyway when no stored model fits the settings).
    chunk_records
        Records (and candidate pairs) per chunk; default from ``memory_budget_mb``
        (:func:`~service.linkage.frames.records_per_chunk`,
        :func:`~service.linkage.frames.pairs_per_chunk`). The outcome does not
        depend on it.
    """
    from enrichment.linker import link_records

    started = time.perf_counter()
    settings = link_settings(ctx)
    budget = ctx.settings.memory_budget_mb
    size = chunk_records or records_per_chunk(budget)
    pair_chunk = chunk_records or pairs_per_chunk(budget)
    with ctx.sessions() as session:  # reads only: the writes below are chunked
        link_input = load_link_input(session, chunk_rows=size)
        frame = link_input.frame
        if frame.empty:
            return StageReport(stage="link", detail={"records": 0}, duration_s=0.0)
        classes = classification_map(session)
        must, cannot = decisions(session)
        model = latest_model(session, settings) if incremental else None
        focus, existing = (None, None)
        if model is not None:
            focus, existing = _focus(session, link_input)
    result = link_records(
        frame,
        settings=settings,
        model=model,
        classes=classes or None,
        focus=focus,
        existing=existing,
        must_link=must,
        cannot_link=cannot,
        keep_non_matches=False,  # only merges (links) and reviews (the queue) are written
        pair_chunk=pair_chunk,
        progress=progress,
    )
    index = frame.index
    del frame, link_input, existing  # the golden phase reads full records chunk by chunk
    clusters = result.clusters.reindex(index).to_numpy()
    counts, golden, orgs = _write_golden(
        ctx, result, index, clusters, classes=classes, size=size, focus=focus, progress=progress
    )
    with ctx.sessions.begin() as session:
        queued = write_review_queue(
            session, result, clusters, focus=focus, index=index, chunk_rows=size
        )
        if model is None:  # stored last: an interrupted full link leaves no model to reuse
            session.add(
                LinkModelRecord(
                    settings=settings.model_dump(mode="json"),
                    parameters=result.model.to_dict(),
                    records=len(index),
                    pairs=result.report["pairs"],
                )
            )
    return StageReport(
        stage="link",
        detail={
            "mode": "incremental" if model is not None else "full",
            "records": len(index),
            "focus": int(focus.sum()) if focus is not None else len(index),
            "golden": golden,
            "pairs": result.report["pairs"],
            "merge_pairs": result.report["merge_pairs"],
            "review_queue": queued,
            "organizations": orgs,
            **counts,
        },
        duration_s=round(time.perf_counter() - started, 3),
    )


def _write_golden(
    ctx: AppContext,
    result: Any,
    index: pd.Index,
    clusters: np.ndarray,
    *,
    classes: dict[str, str],
    size: int,
    focus: np.ndarray | None,
    progress: ProgressSink,
) -> tuple[dict[str, int], int, int]:
    """Build and write golden providers and links a chunk of clusters at a time, then practices.

    Each chunk is a transaction of its own, so no write grows with the file (one
    transaction over a national file would hold gigabytes of rewritten pages in
    SQLite's write-ahead log, and lock out every other writer meanwhile); a run
    killed part-way leaves whole chunks, which the next run finds unchanged.
    Reports ``("golden records", records written, records)`` per chunk. Returns
    the write counts, the number of golden records and of practices.
    """
    from enrichment.organizations import infer_organizations

    with ctx.sessions() as session:
        overrides = load_overrides(session)
    best = best_merges(result.pairs, len(index))
    counts = {"providers_inserted": 0, "providers_updated": 0, "providers_unchanged": 0}
    kept: list[np.ndarray] = []
    practices: list[pd.DataFrame] = []
    golden_count, written = 0, 0
    progress("golden records", 0, len(index))
    for positions in cluster_chunks(clusters, size=size):
        with ctx.sessions.begin() as session:
            part, chunk_ids, chunk_practices = _golden_chunk(
                session, result, index, clusters, positions, best, overrides, classes, focus
            )
        for key, n in part.items():
            counts[key] += n
        practices.append(chunk_practices)
        kept.append(chunk_ids)
        golden_count += len(chunk_ids)
        written += len(positions)
        progress("golden records", written, len(index))
    with ctx.sessions.begin() as session:
        counts["providers_deleted"] = delete_stale_providers(
            session, np.concatenate(kept) if kept else np.zeros(0, np.int64)
        )
        orgs, membership = infer_organizations(concat_practices(practices))
        org_ids = write_organizations(session, orgs)
        counts["practice_changes"] = assign_organizations(
            session, membership, org_ids, chunk_rows=size
        )
    return counts, golden_count, len(orgs)


def _golden_chunk(
    session: Session,
    result: Any,
    index: pd.Index,
    clusters: np.ndarray,
    positions: np.ndarray,
    best: tuple[np.ndarray, np.ndarray],
    overrides: Any,
    classes: dict[str, str],
    focus: np.ndarray | None,
) -> tuple[dict[str, int], np.ndarray, pd.DataFrame]:
    """One chunk of whole clusters: golden rows built and written, their records linked.

    Returns the write counts, the chunk's provider ids and its practice rows.
    """
    from enrichment.golden import build_golden

    ids = index.to_numpy()[positions]
    frame = load_chunk(session, ids).reindex(ids)
    members = pd.Series(clusters[positions], index=frame.index)
    golden = build_golden(frame, members)
    golden["cluster_key"] = golden["cluster"].map(cluster_keys(frame, members))
    apply_overrides(golden, overrides)
    golden["classification"] = golden["taxonomy_code"].map(classes)
    counts, provider_ids = write_providers(session, golden)
    key_of = golden.set_index("cluster")["cluster_key"]
    provider_of = {
        int(rid): provider_ids[key_of[c]] for rid, c in zip(frame.index, members, strict=True)
    }
    write_links(session, frame, positions, provider_of, best, result, focus=focus)
    return counts, np.fromiter(provider_ids.values(), dtype=np.int64), practice_rows(golden)


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
    from service.ingest.taxonomy import taxonomy_code

    frame = load_chunk(session, ids=None, provider_id=provider.id)
    row: dict[str, Any] = {"lineage": {}}
    if not frame.empty:
        golden = build_golden(frame, pd.Series(0, index=frame.index))
        golden["cluster_key"] = provider.cluster_key
        apply_overrides(golden, load_overrides(session))
        row = golden.iloc[0].to_dict()
        code = plain(row.get("taxonomy_code"))
        found = taxonomy_code(session, code) if code else None
        row["classification"] = found.classification if found else None
        row["organization_id"] = (
            provider.organization_id
        )  # practices are inferred by the next link run
    values = golden_values(row)
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
        return source_location(*source_point)
    if not values["address_1"] and not values["postal_code"]:
        return dict(UNPLACED)
    try:
        lat, lon, precision = geocode_address(
            ctx,
            address_1=values["address_1"],
            postal_code=values["postal_code"],
            city=values["city"],
            country=values["country"],
        )
    except GeoError:
        return dict(UNPLACED)
    return {**source_location(lat, lon), "geocode_precision": precision}
