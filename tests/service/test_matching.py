"""Entity resolution through the service: RPPS identifiers, decisions across re-runs, review queue."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from data.models import Provider, SourceRecord
from data.models.matching import LinkModelRecord, MatchDecision, ReviewPair
from service.ingest.ingest import ingest_records
from service.linkage.matching import (
    decide_pair,
    decide_review,
    explain_pair,
    explain_provider,
    list_review,
    match_referrer_text,
    unmerge_record,
)
from service.linkage.resolve import resolve_providers
from tests.paths import FIXTURES
from tests.service.test_ingest import NPPES

RPPS = FIXTURES / "enrichment" / "PS_LibreAcces_Personne_activite_sample.txt"


def _load(ctx) -> None:
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"max_reject_rate": 0.8}))
    ingest_records(ctx, NPPES, source="nppes")
    ingest_records(ctx, RPPS, source="rpps")
    ingest_records(ctx, FIXTURES / "service" / "referrers_small.csv", source="referrer_list")


def _dupont(ctx) -> list[tuple[int, int | None]]:
    with ctx.sessions() as s:
        return s.execute(
            select(SourceRecord.id, SourceRecord.provider_id)
            .where(SourceRecord.source_key.like("810000000017:%"))
            .order_by(SourceRecord.id)
        ).all()


def test_rpps_person_at_two_structures_is_one_golden_record(ctx) -> None:
    _load(ctx)
    report = resolve_providers(ctx)
    assert report.detail["mode"] == "full"
    (a, pa), (b, pb) = _dupont(ctx)
    assert pa == pb is not None
    with ctx.sessions() as s:
        assert s.scalar(select(LinkModelRecord.id)) is not None
        rec = s.get(SourceRecord, b)
        steps = {x["comparison"]: x["level"] for x in rec.match_explanation["steps"]}
        assert steps["identifier"] == "equal"
    merge = explain_provider(ctx, pa)
    assert {m["id"] for m in merge["members"]} == {a, b}
    pair = explain_pair(ctx, a, b)
    assert pair["same_cluster"] and pair["decision"] == "merge"
    assert sum(x["weight"] for x in pair["steps"]) == pytest.approx(pair["match_weight"])


def test_decisions_persist_across_full_and_incremental_runs(ctx) -> None:
    _load(ctx)
    resolve_providers(ctx)
    (a, _), (b, _) = _dupont(ctx)
    decide_pair(ctx, b, a, "reject", decided_by="test", note="two people")
    for incremental in (True, False, True):
        resolve_providers(ctx, incremental=incremental)
        (_, pa), (_, pb) = _dupont(ctx)
        assert pa != pb, f"reject not honoured (incremental={incremental})"
    again = resolve_providers(ctx, incremental=True)
    assert again.detail["mode"] == "incremental"
    assert again.detail["providers_inserted"] == again.detail["providers_updated"] == 0
    out = decide_pair(ctx, a, b, "accept", decided_by="test", apply=True)
    assert out["link"]["mode"] == "incremental"
    (_, pa), (_, pb) = _dupont(ctx)
    assert pa == pb
    with ctx.sessions() as s:
        assert s.scalars(select(MatchDecision.decision)).all() == ["accept"]


def test_unmerge_keeps_the_record_apart(ctx) -> None:
    _load(ctx)
    resolve_providers(ctx)
    (_a, _), (b, _) = _dupont(ctx)
    out = unmerge_record(ctx, b, decided_by="test", apply=True)
    assert out["rejected_pairs"] == 1
    (_, pa), (_, pb) = _dupont(ctx)
    assert pa != pb
    resolve_providers(ctx)  # a full run re-estimates the model and still honours it
    (_, pa), (_, pb) = _dupont(ctx)
    assert pa != pb


def test_review_queue_round_trip(ctx, tmp_path) -> None:
    """A settings file with a wide review band puts every scored pair in the queue."""
    from enrichment.link_settings import LinkSettings

    wide = LinkSettings.default().model_copy(
        update={"auto_merge": 0.999999999, "review": 1e-12, "split_below": 0.0}
    )  # the cluster check off: it may not split above the review threshold
    path = tmp_path / "wide.json"
    path.write_text(wide.model_dump_json(), encoding="utf-8")
    object.__setattr__(
        ctx, "settings", ctx.settings.model_copy(update={"link_settings_file": path})
    )
    _load(ctx)
    report = resolve_providers(ctx)
    page = list_review(ctx, limit=100)
    assert page.total == report.detail["review_queue"] > 0
    item = page.items[0]
    assert item.left["id"] < item.right["id"] and item.explanation["steps"]
    decide_review(ctx, item.id, "accept", decided_by="test")
    with ctx.sessions() as s:
        assert s.get(ReviewPair, item.id) is None
    resolve_providers(ctx, incremental=True)
    with ctx.sessions() as s:
        left, right = (
            s.get(SourceRecord, side["id"]).provider_id for side in (item.left, item.right)
        )
        assert left == right
        assert (
            s.scalar(
                select(ReviewPair).where(
                    ReviewPair.left_record_id == item.left["id"],
                    ReviewPair.right_record_id == item.right["id"],
                )
            )
            is None
        )
    assert list_review(ctx).total == page.total - 1


def test_free_text_referrer_with_hints(ctx) -> None:
    _load(ctx)
    resolve_providers(ctx)
    with ctx.sessions() as s:
        wiebe = s.scalars(select(Provider).where(Provider.npi == "1679576722")).one()
    (match,) = match_referrer_text(ctx, [f"Dr D. {wiebe.last_name.title()}, ortho"])
    assert match["provider_id"] == wiebe.id and match["hints"] == {
        "specialty": "ORTHOPAEDIC SURGERY"
    }
