"""After the visit: one action logs its outcome, moves the prospect's status and re-scores it.

The outcome (held, not met, declined, with an optional note) is stored as a
``visit`` interaction of the caller; the status moves as :data:`OUTCOME_STATUS`
says, under the same rules and ``If-Match`` check as any status change
(:func:`service.prospecting.workflow.apply_status`: the caller's own or an
unassigned prospect, which it then claims); then the provider is scored again
at every site with the scoring stage's own code and each site's active model
(:func:`service.prospecting.scoring.rescore_provider`), so the visit's recency
counts at once. All of it is one transaction: nothing is half-recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime

from data.models.prospecting import Interaction
from service.context import AppContext
from service.prospecting.schemas import (
    InteractionPublic,
    SiteScore,
    VisitOutcomeCreate,
    VisitOutcomePublic,
)
from service.prospecting.scoring import rescore_provider
from service.prospecting.workflow import apply_status, get_status
from service.security.keys import Caller

__all__ = ["OUTCOME_SOURCE", "OUTCOME_STATUS", "record_visit_outcome"]

#: The status a prospect moves to after a visit of each outcome.
OUTCOME_STATUS: dict[str, str] = {
    "held": "meeting held",
    "not_met": "contacted",
    "declined": "not a fit",
}
#: ``source`` of the interactions this action logs.
OUTCOME_SOURCE = "prm visit outcome"


def record_visit_outcome(
    ctx: AppContext,
    provider_id: int,
    report: VisitOutcomeCreate,
    *,
    caller: Caller,
    if_match: str | None,
) -> VisitOutcomePublic:
    """Log a visit's outcome as ``caller``, move the status and re-score the provider.

    Parameters
    ----------
    ctx
        Application context.
    provider_id
        The visited provider (golden record id).
    report
        Outcome, note and when (default now).
    caller
        Who reports it; the interaction and the status change are theirs.
    if_match
        The status's ETag as last read (``If-Match``).

    Raises
    ------
    core.errors.NotFoundError, core.errors.PreconditionRequiredError,
    core.errors.PreconditionFailedError, core.errors.AuthorizationError
        As :func:`~service.prospecting.workflow.apply_status`; nothing is stored then.
    """
    status = OUTCOME_STATUS[report.outcome]
    with ctx.sessions.begin() as session:
        apply_status(
            session,
            provider_id,
            caller=caller,
            if_match=if_match,
            status=status,
            note=f"visit {report.outcome.replace('_', ' ')}",
        )
        row = Interaction(
            provider_id=provider_id,
            kind="visit",
            occurred_at=report.occurred_at or datetime.now(UTC),
            liaison=caller.who,
            summary=report.note,
            outcome=report.outcome,
            source=OUTCOME_SOURCE,
        )
        session.add(row)
        session.flush()  # the re-scoring below reads it (days since the last contact)
        interaction = InteractionPublic.model_validate(row)
        scores = rescore_provider(ctx, session, provider_id=provider_id)
    return VisitOutcomePublic(
        interaction=interaction,
        status=get_status(ctx, provider_id),
        scores=[SiteScore(**s) for s in scores],
    )
