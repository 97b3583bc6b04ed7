"""Erasure over HTTP on a real pipeline run, both backends: nothing about the person is served
afterwards, and nothing they were described by is left in any table of the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import JSON, String, Text, func, select

import data.models.matching
import data.models.security  # noqa: F401
from api.main import create_app
from core.settings import Settings
from data.models import Base, Provider, ReferralEvent, SourceRecord
from data.models.matching import MatchDecision
from data.models.prospecting import ProspectExclusion, ReferralAlert, ReferralReview
from data.models.security import DataObjection
from service.context import AppContext, open_context
from service.events import emit
from service.pipeline import run_pipeline
from service.security.privacy import ERASURE_PLAN
from tests.api.conftest import put_status
from tests.paths import FIXTURES
from tests.service.test_pipeline import load_all

DATA = FIXTURES
ADMIN = {"X-API-Key": "test-admin-erasure"}
VIEWER = {"X-API-Key": "test-viewer-erasure"}

#: What the clinic was told about the person: none of it may survive the erasure anywhere.
MOBILE = "6145550199"
NOTE = "private: lives above the pharmacy, call her mobile"
TYPED_NAMES = ("Dr. B. Sung", "Doctor Binnie of Elm Street", "Binnie S. (Elm St) - still unlinked")


@pytest.fixture
def app_ctx(backend_url: str, tmp_path: Path) -> Iterator[AppContext]:
    settings = Settings(
        database_url=backend_url,
        osm_file=DATA / "osm" / "aguascalientes.osm.bz2",
        cache_dir=tmp_path / "cache",
        nucc_file=DATA / "nucc_taxonomy_220.csv",
        admin_api_key=ADMIN["X-API-Key"],
        viewer_api_key=VIEWER["X-API-Key"],
        rate_limit_per_second=1e6,
        rate_limit_burst=10**6,
        as_of=date(2024, 6, 30),
        radius_km=60.0,
        catchment_resolution=7,
    )
    ctx = open_context(settings)
    load_all(ctx)
    run_pipeline(ctx)
    try:
        yield ctx
    finally:
        ctx.close()


def _ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()


def _describe(client: TestClient, ctx: AppContext, pid: int, other: int) -> None:
    """Tell the service about the person through every channel that stores something."""
    _ok(
        client.post(
            "/v1/interactions",
            headers=ADMIN,
            json={
                "provider_id": pid,
                "kind": "call",
                "occurred_at": "2024-06-20T10:00:00Z",
                "summary": NOTE,
                "external_id": "crm-erase-1",
            },
        ),
        201,
    )
    _ok(
        client.put(
            f"/v1/providers/{pid}/preferences",
            headers=ADMIN,
            json={"channel": "phone", "note": f"{NOTE} {MOBILE}", "updated_by": "Ana"},
        )
    )
    _ok(
        put_status(
            client, pid, {"status": "contacted", "assigned_to": "Ana", "note": NOTE}, headers=ADMIN
        )
    )
    _ok(client.patch(f"/v1/providers/{pid}", headers=ADMIN, json={"phone": MOBILE, "note": NOTE}))
    _ok(
        client.post(
            "/v1/exclusions",
            headers=ADMIN,
            json={"provider_id": pid, "reason": "do not contact", "note": NOTE},
        ),
        201,
    )
    # a free-text referrer queued for review and linked to the person by hand
    receipt = _ok(
        client.post(
            "/v1/referrals",
            headers=ADMIN,
            json={
                "external_id": "W-erase",
                "referral_date": "2024-06-10",
                "referrer_name": TYPED_NAMES[1],
            },
        ),
        201,
    )
    assert receipt["link"] == "review", receipt
    _ok(
        client.post(
            f"/v1/referrals/review/{receipt['review_id']}",
            headers=ADMIN,
            json={"provider_id": pid, "resolved_by": "Ana"},
        )
    )
    _ok(
        client.post(
            "/v1/webhooks",
            headers=ADMIN,
            json={"url": "http://127.0.0.1:9/hook", "event_types": ["prospect.new_in_territory"]},
        ),
        201,
    )
    with ctx.sessions.begin() as s:
        # what the tiers stage and the scoring stage write (their rules need longer histories)
        s.add(
            ReferralAlert(
                provider_id=pid,
                rule="tier-A-silent-14d",
                raised_on=date(2024, 6, 30),
                tier="A",
                message="no referral for 14 days",
                history={"last_referral": "2024-06-10"},
            )
        )
        event = {
            "site_code": "TX1",
            "profile": "mri",
            "count": 2,
            "prospects": [
                {"provider_id": pid, "score": 80.0, "segment": "white space"},
                {"provider_id": other, "score": 70.0, "segment": "white space"},
            ],
        }
        emit(ctx, "prospect.new_in_territory", event, session=s)
        # reviewer decisions: one on the person's clinic row, one between public registry rows
        mine = dict(
            s.execute(
                select(SourceRecord.source, SourceRecord.id).where(SourceRecord.provider_id == pid)
            ).all()
        )
        public_other = s.scalar(
            select(SourceRecord.id).where(
                SourceRecord.provider_id == other, SourceRecord.source == "nppes"
            )
        )
        pairs = (
            sorted((mine["nppes"], mine["referrer_list"])),
            sorted((mine["nppes"], public_other)),
        )
        s.add_all(
            MatchDecision(
                left_record_id=a, right_record_id=b, decision=d, decided_by="Ana", note=NOTE
            )
            for (a, b), d in zip(pairs, ("accept", "reject"), strict=True)
        )
        # still in the queue, never linked: one whose best candidate is the person (the text names
        # them), one that merely lists them after someone else
        for ext, name, first, second in (
            ("W-open-1", TYPED_NAMES[2], pid, other),
            ("W-open-2", "Dr O. Ther", other, pid),
        ):
            ev = ReferralEvent(external_id=ext, referral_date=date(2024, 6, 12), referrer_name=name)
            s.add(ev)
            s.flush()
            s.add(
                ReferralReview(
                    event_id=ev.id,
                    referrer_name=name,
                    confidence=0.6,
                    candidates=[
                        {"provider_id": first, "probability": 0.6},
                        {"provider_id": second, "probability": 0.3},
                    ],
                )
            )


def _text_of_every_row(ctx: AppContext) -> dict[str, str]:
    """Every text and JSON value of every table, joined per table."""
    out = {}
    with ctx.sessions() as s:
        for table in Base.metadata.sorted_tables:
            cols = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            if cols:
                out[table.name] = json.dumps(
                    [list(r) for r in s.execute(select(*cols)).all()], default=str
                )
    return out


def test_erasure_over_http_leaves_nothing_served_or_stored(app_ctx: AppContext) -> None:
    ctx = app_ctx
    with ctx.sessions() as s:
        pid = s.scalar(
            select(Provider.id).where(Provider.npi == "1669475711")
        )  # Dr. Bin Sung, merged
        other = s.scalar(select(Provider.id).where(Provider.npi == "1679576722"))
    with TestClient(create_app(context=ctx)) as client:
        _describe(client, ctx, pid, other)
        before = _text_of_every_row(ctx)
        assert MOBILE in before["providers"] and NOTE in before["interactions"]  # the set-up took
        assert (
            TYPED_NAMES[0] in before["referral_events"]
            and TYPED_NAMES[1] in before["referral_review"]
        )
        assert _ok(client.get(f"/v1/providers/{pid}/brief", headers=VIEWER))["interactions"]
        assert _ok(client.get("/v1/alerts", headers=VIEWER, params={"provider_id": pid}))

        report = _ok(client.post(f"/v1/privacy/erasures/{pid}", headers=ADMIN))
        assert (
            report["removed"]["interactions"] == 1 and report["removed"]["contact_preferences"] == 1
        )
        assert (
            report["removed"]["referral_alerts"] == 1
            and report["removed"]["provider_overrides"] == 1
        )
        assert (
            report["removed"]["prospect_status_history"] == 1
            and report["removed"]["referral_review"] >= 3
        )
        assert report["scrubbed"]["referral_events"] == 2 and report["scrubbed"]["providers"] == 1
        assert report["scrubbed"]["webhook_deliveries"] == 1
        assert report["scrubbed"]["prospect_exclusions"] == 1

        # every endpoint that served the person's data: empty (or 404) now
        assert _ok(client.get(f"/v1/providers/{pid}/interactions", headers=VIEWER)) == []
        assert _ok(client.get(f"/v1/providers/{pid}/preferences", headers=VIEWER)) is None
        status = _ok(client.get(f"/v1/prospects/{pid}/status", headers=VIEWER))
        assert (status["status"], status["assigned_to"], status["history"]) == ("new", None, [])
        assert _ok(client.get("/v1/alerts", headers=VIEWER, params={"provider_id": pid})) == []
        activity = _ok(client.get(f"/v1/referrers/{pid}/activity", headers=VIEWER))
        assert activity["referrals_total"] == 0 and activity["tier"] is None
        brief = _ok(client.get(f"/v1/providers/{pid}/brief", headers=VIEWER))
        assert (
            brief["interactions"] == []
            and brief["preferences"] is None
            and brief["prospects"] == []
        )
        assert brief["workflow"]["history"] == [] and brief["referrals"]["referrals_total"] == 0
        detail = _ok(client.get(f"/v1/providers/{pid}", headers=VIEWER))
        assert detail["overrides"] == [] and detail["phone"] != MOBILE
        assert pid not in {
            p["provider_id"]
            for p in _ok(client.get("/v1/prospects", headers=VIEWER, params={"limit": 500}))[
                "items"
            ]
        }
        served = [
            client.get(f"/v1/providers/{pid}/brief.html", headers=VIEWER).text,
            json.dumps(brief),
            json.dumps(detail),
            client.get("/v1/exclusions", headers=VIEWER).text,
            client.get("/v1/referrals/review", headers=VIEWER, params={"status": "linked"}).text,
        ]
        for text in served:
            for secret in (MOBILE, NOTE, *TYPED_NAMES):
                assert secret not in text
        assert client.get("/v1/providers/999999/interactions", headers=VIEWER).status_code == 404

    # the queue item naming someone else stays, without the person among its candidates
    with ctx.sessions() as s:
        left = s.execute(select(ReferralReview.referrer_name, ReferralReview.candidates)).all()
    assert [(n, [c["provider_id"] for c in cands]) for n, cands in left if n == "Dr O. Ther"] == [
        ("Dr O. Ther", [other])
    ]

    # nothing of it in any table, the audit log included; the public record stays
    after = _text_of_every_row(ctx)
    for table, text in after.items():
        for secret in (MOBILE, NOTE, *TYPED_NAMES):
            assert secret not in text, (table, secret)
    if (
        ctx.engine.dialect.name == "sqlite"
    ):  # nor in the files: zeroed (secure_delete), the WAL emptied
        files = [Path(ctx.engine.url.database), Path(f"{ctx.engine.url.database}-wal")]
        stored = b"".join(f.read_bytes() for f in files if f.exists())
        for secret in (MOBILE, NOTE, *TYPED_NAMES):
            assert secret.encode() not in stored, secret
    with ctx.sessions() as s:

        def rows_of(table) -> int:
            return s.scalar(
                select(func.count()).select_from(table).where(table.c.provider_id == pid)
            )

        for table in Base.metadata.sorted_tables:  # (source_records: the public rows stay, below)
            if (
                "provider_id" in table.c
                and ERASURE_PLAN[table.name].action == "delete"
                and table.name != "source_records"
            ):
                assert rows_of(table) == 0, table.name
        assert rows_of(ReferralEvent.__table__) == 0
        assert s.scalars(
            select(SourceRecord.source).where(SourceRecord.provider_id == pid)
        ).all() == ["nppes"]
        [exclusion] = s.scalars(
            select(ProspectExclusion).where(ProspectExclusion.provider_id == pid)
        ).all()
        assert exclusion.reason == "do not contact" and exclusion.note is None
        [decision] = s.scalars(
            select(MatchDecision)
        ).all()  # the public pair stays, without its note
        assert decision.decision == "reject" and decision.note is None
        person = s.get(Provider, pid)
        assert person.display_name.upper().startswith("BIN") and person.lineage
        assert all(str(v).startswith("nppes:") for v in person.lineage.values() if v)
        assert s.get(DataObjection, pid).erased_at is not None
