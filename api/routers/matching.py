"""Entity resolution: review queue, decisions, unmerge, explanations, free-text matching.

Reading (queue, explanations, free-text matching) needs role viewer; deciding
and unmerging need admin. Decisions apply at the next link run, or at once
with ``apply=true`` (an incremental link).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ContextDep, CursorQuery, reject_offset, require_role
from api.problems import problem_responses
from service.linkage.matching import (
    MAX_REVIEW_PAGE,
    decide_pair,
    decide_review,
    explain_pair,
    explain_provider,
    list_review,
    match_referrer_text,
    unmerge_record,
)
from service.schemas import (
    FreeTextMatch,
    MatchReviewPublic,
    Page,
    PairDecisionResult,
    PairExplanation,
    ProviderMerge,
    UnmergeResult,
)
from service.wire import JsonId, JsonInt, StorableText, UrlId, url_int

__all__ = ["router"]

router = APIRouter(
    prefix="/matching",
    tags=["matching"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403, 422),
)
AdminRole = Annotated[str, Depends(require_role("admin"))]


class DecisionIn(StorableText):
    """A reviewer's decision."""

    model_config = ConfigDict(extra="forbid")
    free_text_fields: ClassVar[frozenset[str]] = frozenset({"note"})

    decision: Literal["accept", "reject"]
    note: str | None = Field(None, max_length=500)
    apply: bool = Field(False, description="Run an incremental link at once.")


class PairDecisionIn(DecisionIn):
    left_record_id: JsonId
    right_record_id: JsonId


class UnmergeIn(StorableText):
    model_config = ConfigDict(extra="forbid")
    free_text_fields: ClassVar[frozenset[str]] = frozenset({"note"})

    note: str | None = Field(None, max_length=500)
    apply: bool = False


class FreeTextIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True
    )  # as every body (service.wire.StorableText)

    texts: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        min_length=1, max_length=500
    )
    top: JsonInt = Field(3, ge=1, le=20)


@router.get(
    "/review",
    response_model=Page[MatchReviewPublic],
    summary="Borderline pairs waiting for a reviewer",
    dependencies=[Depends(reject_offset)],
)
def review_list(
    ctx: ContextDep,
    limit: Annotated[url_int(ge=1, le=MAX_REVIEW_PAGE), Query()] = 50,
    cursor: CursorQuery = None,
) -> Page[MatchReviewPublic]:
    """Open review pairs, most probable first (then by id), each with both records and its
    explanation.

    Pass ``next_cursor`` back as ``cursor`` to walk the queue once; ``total``
    counts every open pair. ``offset`` is refused (422): it was replaced by ``cursor``.
    """
    return list_review(ctx, limit=limit, cursor=cursor)


@router.post(
    "/review/{review_id}/decision",
    response_model=PairDecisionResult,
    summary="Accept or reject a review pair (admin)",
    responses=problem_responses(404),
)
def review_decide(
    ctx: ContextDep, review_id: Annotated[UrlId, Path()], body: DecisionIn, role: AdminRole
) -> PairDecisionResult:
    """The decision is stored and honoured by every later link run."""
    return PairDecisionResult.model_validate(
        decide_review(
            ctx,
            review_id,
            body.decision,
            decided_by=f"{role} API key",
            note=body.note,
            apply=body.apply,
        )
    )


@router.post(
    "/decisions",
    response_model=PairDecisionResult,
    summary="Accept or reject any record pair (admin)",
    responses=problem_responses(404),
)
def pair_decide(ctx: ContextDep, body: PairDecisionIn, role: AdminRole) -> PairDecisionResult:
    """Like a review decision, for a pair that is not in the queue."""
    return PairDecisionResult.model_validate(
        decide_pair(
            ctx,
            body.left_record_id,
            body.right_record_id,
            body.decision,
            decided_by=f"{role} API key",
            note=body.note,
            apply=body.apply,
        )
    )


@router.post(
    "/records/{record_id}/unmerge",
    response_model=UnmergeResult,
    summary="Take a record out of its golden record (admin)",
    responses=problem_responses(404),
)
def record_unmerge(
    ctx: ContextDep, record_id: Annotated[UrlId, Path()], body: UnmergeIn, role: AdminRole
) -> UnmergeResult:
    """Rejects the record against every other member; later runs keep them apart."""
    return UnmergeResult.model_validate(
        unmerge_record(
            ctx, record_id, decided_by=f"{role} API key", note=body.note, apply=body.apply
        )
    )


@router.get(
    "/explain",
    response_model=PairExplanation,
    summary="Explain the score of any two source records",
    responses=problem_responses(404),
)
def pair_explain(
    ctx: ContextDep, left: Annotated[UrlId, Query()], right: Annotated[UrlId, Query()]
) -> PairExplanation:
    """Each comparison's level, m, u and weight; the weights sum to the match weight."""
    return PairExplanation.model_validate(explain_pair(ctx, left, right))


@router.get(
    "/providers/{provider_id}",
    response_model=ProviderMerge,
    summary="How a golden record was merged",
    responses=problem_responses(404),
)
def provider_merge(ctx: ContextDep, provider_id: Annotated[UrlId, Path()]) -> ProviderMerge:
    """Members with their best merge explanation, reviewer decisions and field lineage."""
    return ProviderMerge.model_validate(explain_provider(ctx, provider_id))


@router.post(
    "/free-text",
    response_model=list[FreeTextMatch],
    summary="Match free-text referrer names to golden records",
)
def free_text(ctx: ContextDep, body: FreeTextIn) -> list[FreeTextMatch]:
    """E.g. "Dr J. Smith, ortho, Columbus": the link, its confidence and the next best."""
    return [
        FreeTextMatch.model_validate(m) for m in match_referrer_text(ctx, body.texts, top=body.top)
    ]
