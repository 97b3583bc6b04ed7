"""Review queue, reviewer decisions, unmerge, explanations and free-text matching.

Decisions are stored at once (one transaction each) and honoured by the next
link run, full or incremental (:mod:`service.linkage.resolve`): accepting a pair makes
it a must-link, rejecting it (or unmerging a record from its golden record) a
cannot-link. ``apply=True`` runs the incremental link right away.
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import InputError, NotFoundError, Problem
from data.models import Organization, Provider, SourceRecord, Taxonomy
from data.models.matching import MatchDecision, ReviewPair
from service.context import AppContext
from service.pagination import encode_cursor, keyset
from service.schemas import MatchReviewPublic, Page

Decision = Literal["accept", "reject"]


def _record_summary(rec: SourceRecord) -> dict[str, Any]:
    d = rec.data or {}
    return {
        "id": rec.id,
        "source": rec.source,
        "source_key": rec.source_key,
        "provider_id": rec.provider_id,
        "npi": rec.npi,
        **{
            k: d.get(k)
            for k in (
                "first_name",
                "last_name",
                "organization_name",
                "address_1",
                "city",
                "postal_code",
                "phone",
                "taxonomy_code",
            )
        },
    }


MAX_REVIEW_PAGE = 500


def list_review(
    ctx: AppContext, *, limit: int = 50, cursor: str | None = None
) -> Page[MatchReviewPublic]:
    """Open review pairs, most probable first (then by id), with both records and the explanation.

    Parameters
    ----------
    ctx
        Application context.
    limit
        Page size, 1 to :data:`MAX_REVIEW_PAGE`.
    cursor
        ``next_cursor`` of the previous page; ``None`` for the first.

    Returns
    -------
    Page[MatchReviewPublic]
        One page, ``next_cursor`` (``None`` on the last page) and ``total``
        (open pairs, all pages).

    Raises
    ------
    core.errors.InputError
        A page size out of range or an invalid cursor.
    """
    if not 1 <= limit <= MAX_REVIEW_PAGE:
        raise InputError(
            "page size out of range",
            problems=[
                Problem(f"must be between 1 and {MAX_REVIEW_PAGE}", field="limit", value=str(limit))
            ],
        )
    stmt = keyset(
        select(ReviewPair),
        sort_col=ReviewPair.match_probability,
        id_col=ReviewPair.id,
        descending=True,
        cursor=cursor,
    )
    with ctx.sessions() as session:
        total = session.scalar(select(func.count()).select_from(ReviewPair)) or 0
        rows = session.scalars(stmt.limit(limit + 1)).all()
        page = rows[:limit]
        ids = {r.left_record_id for r in page} | {r.right_record_id for r in page}
        recs = {
            r.id: r for r in session.scalars(select(SourceRecord).where(SourceRecord.id.in_(ids)))
        }
        items = [
            MatchReviewPublic(
                id=r.id,
                match_probability=r.match_probability,
                match_weight=r.match_weight,
                left=_record_summary(recs[r.left_record_id]),
                right=_record_summary(recs[r.right_record_id]),
                explanation=r.explanation,
            )
            for r in page
        ]
    nxt = encode_cursor(page[-1].match_probability, page[-1].id) if len(rows) > limit else None
    return Page[MatchReviewPublic](items=items, next_cursor=nxt, total=total)


def _store_decisions(
    session: Session,
    pairs: list[tuple[int, int]],
    decision: Decision,
    *,
    decided_by: str,
    note: str | None,
) -> int:
    have = {
        (d.left_record_id, d.right_record_id): d
        for d in session.scalars(
            select(MatchDecision).where(MatchDecision.left_record_id.in_({min(p) for p in pairs}))
        )
    }
    for a, b in pairs:
        key = (min(a, b), max(a, b))
        row = have.get(key)
        if row is None:
            row = MatchDecision(left_record_id=key[0], right_record_id=key[1])
            session.add(row)
            have[key] = row
        row.decision, row.decided_by, row.note = decision, decided_by, note
        session.query(ReviewPair).filter(
            ReviewPair.left_record_id == key[0], ReviewPair.right_record_id == key[1]
        ).delete()
    return len(pairs)


def _apply(ctx: AppContext) -> dict[str, Any]:
    from service.linkage.resolve import resolve_providers

    return resolve_providers(ctx, incremental=True).detail


def decide_pair(
    ctx: AppContext,
    left_record_id: int,
    right_record_id: int,
    decision: Decision,
    *,
    decided_by: str,
    note: str | None = None,
    apply: bool = False,
) -> dict[str, Any]:
    """Accept or reject a record pair (whether or not it is in the review queue).

    Raises
    ------
    InputError
        Same record twice, or an unknown decision.
    NotFoundError
        A record that does not exist.
    """
    if decision not in ("accept", "reject"):
        raise InputError(
            "unknown decision",
            problems=[
                Problem("expected 'accept' or 'reject'", field="decision", value=str(decision))
            ],
        )
    if left_record_id == right_record_id:
        raise InputError(
            "a record cannot be paired with itself",
            problems=[Problem("two different records needed", field="right_record_id")],
        )
    with ctx.sessions.begin() as session:
        found = set(
            session.scalars(
                select(SourceRecord.id).where(
                    SourceRecord.id.in_([left_record_id, right_record_id])
                )
            )
        )
        missing = {left_record_id, right_record_id} - found
        if missing:
            raise NotFoundError(f"no source record with id {min(missing)}")
        _store_decisions(
            session, [(left_record_id, right_record_id)], decision, decided_by=decided_by, note=note
        )
    out: dict[str, Any] = {
        "left_record_id": min(left_record_id, right_record_id),
        "right_record_id": max(left_record_id, right_record_id),
        "decision": decision,
    }
    if apply:
        out["link"] = _apply(ctx)
    return out


def decide_review(
    ctx: AppContext,
    review_id: int,
    decision: Decision,
    *,
    decided_by: str,
    note: str | None = None,
    apply: bool = False,
) -> dict[str, Any]:
    """Decide a pair of the review queue (it leaves the queue)."""
    with ctx.sessions() as session:
        row = session.get(ReviewPair, review_id)
        if row is None:
            raise NotFoundError(f"no review pair with id {review_id}")
        pair = (row.left_record_id, row.right_record_id)
    return decide_pair(ctx, *pair, decision, decided_by=decided_by, note=note, apply=apply)


def unmerge_record(
    ctx: AppContext,
    record_id: int,
    *,
    decided_by: str,
    note: str | None = None,
    apply: bool = False,
) -> dict[str, Any]:
    """Take a source record out of its golden record: reject it against every other member."""
    with ctx.sessions.begin() as session:
        rec = session.get(SourceRecord, record_id)
        if rec is None:
            raise NotFoundError(f"no source record with id {record_id}")
        if rec.provider_id is None:
            raise InputError(
                "record is not linked yet",
                problems=[
                    Problem("run the link stage first", field="record_id", value=str(record_id))
                ],
            )
        others = session.scalars(
            select(SourceRecord.id).where(
                SourceRecord.provider_id == rec.provider_id, SourceRecord.id != record_id
            )
        ).all()
        if not others:
            raise InputError(
                "record is alone in its golden record",
                problems=[Problem("nothing to unmerge", field="record_id", value=str(record_id))],
            )
        n = _store_decisions(
            session, [(record_id, o) for o in others], "reject", decided_by=decided_by, note=note
        )
    out: dict[str, Any] = {"record_id": record_id, "rejected_pairs": n}
    if apply:
        out["link"] = _apply(ctx)
    return out


def explain_pair(ctx: AppContext, left_record_id: int, right_record_id: int) -> dict[str, Any]:
    """Score any two source records with the latest model and explain the score."""
    from enrichment.linker import LinkModel, explanation, link_records
    from service.ingest.taxonomy import classification_map
    from service.linkage.frames import load_link_input, records_per_chunk
    from service.linkage.resolve import latest_model, link_settings

    settings = link_settings(ctx)
    with ctx.sessions() as session:
        # the whole frame: term frequencies count values over every record
        chunk = records_per_chunk(ctx.settings.memory_budget_mb)
        frame = load_link_input(session, chunk_rows=chunk).frame
        for rid in (left_record_id, right_record_id):
            if frame.empty or rid not in frame.index:
                raise NotFoundError(f"no source record with id {rid}")
        if left_record_id == right_record_id:
            raise InputError(
                "a record cannot be paired with itself",
                problems=[Problem("two different records needed", field="right")],
            )
        model = latest_model(session, settings) or LinkModel.start(settings)
        classes = classification_map(session)
        linked = dict(
            session.execute(
                select(SourceRecord.id, SourceRecord.provider_id).where(
                    SourceRecord.id.in_([left_record_id, right_record_id])
                )
            ).all()
        )
        decided = session.scalars(
            select(MatchDecision.decision).where(
                MatchDecision.left_record_id == min(left_record_id, right_record_id),
                MatchDecision.right_record_id == max(left_record_id, right_record_id),
            )
        ).first()
    result = link_records(
        frame,
        settings=settings,
        model=model,
        classes=classes or None,
        pairs=[(left_record_id, right_record_id)],
    )
    out = explanation(result.pairs.iloc[0], settings, model)
    out["blocking_rule"] = None
    out["reviewer_decision"] = decided
    left_p, right_p = linked.get(left_record_id), linked.get(right_record_id)
    out["same_cluster"] = left_p is not None and left_p == right_p
    return out


def explain_provider(ctx: AppContext, provider_id: int) -> dict[str, Any]:
    """How a golden record was assembled: members, their best merge, decisions, field lineage."""
    with ctx.sessions() as session:
        provider = session.get(Provider, provider_id)
        if provider is None:
            raise NotFoundError(f"no provider with id {provider_id}")
        members = session.scalars(
            select(SourceRecord)
            .where(SourceRecord.provider_id == provider_id)
            .order_by(SourceRecord.id)
        ).all()
        ids = [m.id for m in members]
        decisions = session.scalars(
            select(MatchDecision).where(
                MatchDecision.left_record_id.in_(ids) | MatchDecision.right_record_id.in_(ids)
            )
        ).all()
        return {
            "provider_id": provider_id,
            "display_name": provider.display_name,
            "lineage": provider.lineage,
            "members": [
                {
                    **_record_summary(m),
                    "match_probability": m.match_probability,
                    "explanation": m.match_explanation,
                }
                for m in members
            ],
            "decisions": [
                {
                    "left_record_id": d.left_record_id,
                    "right_record_id": d.right_record_id,
                    "decision": d.decision,
                    "decided_by": d.decided_by,
                    "note": d.note,
                }
                for d in decisions
            ],
        }


#: The golden columns :func:`enrichment.freetext.match_free_text` reads.
FREE_TEXT_COLUMNS = (
    "provider_id",
    "first_name",
    "middle_name",
    "last_name",
    "classification",
    "specialization",
    "specialty_text",
    "city",
    "practice",
)


def free_text_golden(session: Session, *, active_only: bool = False) -> pd.DataFrame:
    """Golden individuals as the free-text referrer matcher reads them.

    Besides the name: the taxonomy's classification and specialization (a note's
    "cardio" is the specialization of an Internal Medicine code), the specialty text,
    the city, and the practice the individual belongs to, by name, when that practice is
    an NPI-2 organisation (one inferred from a shared address is named after the
    address, which no note writes).
    """
    from service.ingest.taxonomy import current_version

    stmt = (
        select(
            Provider.id.label("provider_id"),
            Provider.first_name,
            Provider.middle_name,
            Provider.last_name,
            Provider.classification,
            Taxonomy.specialization,
            Provider.specialty_text,
            Provider.city,
            Organization.name.label("practice"),
        )
        .outerjoin(
            Taxonomy,
            (Taxonomy.code == Provider.taxonomy_code)
            & (Taxonomy.version == (current_version(session) or "")),
        )
        .outerjoin(
            Organization,
            (Organization.id == Provider.organization_id) & Organization.npi.is_not(None),
        )
        .where(Provider.entity_type == "individual")
    )
    if active_only:
        stmt = stmt.where(Provider.is_active.is_(True))
    return pd.DataFrame(session.execute(stmt).all(), columns=list(FREE_TEXT_COLUMNS))


def match_referrer_text(ctx: AppContext, texts: list[str], *, top: int = 3) -> list[dict[str, Any]]:
    """Free-text referrer names -> golden individuals, with confidence and alternatives."""
    from enrichment.freetext import match_free_text

    with ctx.sessions() as session:
        golden = free_text_golden(session)
    matches = match_free_text(pd.Series(texts, dtype=object), golden, top=top)
    return [
        {
            "text": t,
            "provider_id": m.provider_id,
            "confidence": m.confidence,
            "alternatives": [{"provider_id": p, "confidence": c} for p, c in m.alternatives],
            "hints": m.hints,
        }
        for t, m in zip(texts, matches)
    ]
