"""GDPR objection and erasure on a real pipeline run, both backends; both audited."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from core.errors import NotFoundError
from data.models import Prospect, Provider, ReferralEvent, ReferrerStat, SourceRecord
from data.security import AuditEntry, DataObjection
from service.pipeline import run_pipeline
from service.privacy import erase, list_objections, object_to_processing
from service.queries import list_prospects, prospects_csv
from service.schemas import ProspectFilter
from tests.service.test_pipeline import load_all


@pytest.fixture
def built(ctx):  # noqa: ANN001, ANN201
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(
        update={"as_of": date(2024, 6, 30), "radius_km": 60.0, "catchment_resolution": 7}))  # fmt: skip
    load_all(ctx)
    run_pipeline(ctx)
    return ctx


def test_objection_excludes_from_prospecting_and_exports(built) -> None:  # noqa: ANN001
    ctx = built
    with ctx.sessions() as s:
        target = s.scalars(select(Prospect.provider_id).order_by(Prospect.score.desc())).first()
        npi = s.get(Provider, target).npi
        listed = {p.provider_id for p in list_prospects(s, ProspectFilter(), limit=500).items}
    assert target in listed
    row = object_to_processing(ctx, target, actor="key:7", reason="letter 2026-11-02", client_ip="10.0.0.9")
    assert row.provider_id == target and row.erased_at is None
    assert object_to_processing(ctx, target, actor="key:7").objected_at == row.objected_at  # idempotent
    run_pipeline(ctx)  # scoring again never brings the person back
    with ctx.sessions() as s:
        assert target not in set(s.scalars(select(Prospect.provider_id)))
        assert target not in {p.provider_id for p in list_prospects(s, ProspectFilter(), limit=500).items}
        assert npi not in "".join(prospects_csv(s, ProspectFilter()))
        assert s.get(Provider, target) is not None  # the public registry record stays
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "objection")).all()
    assert entries[0].actor == "key:7" and entries[0].records["provider_id"] == target
    assert entries[0].client_ip == "10.0.0.9" and entries[0].records["prospects_removed"] >= 1
    assert [o.provider_id for o in list_objections(ctx)] == [target]
    with pytest.raises(NotFoundError):
        object_to_processing(ctx, 10**6, actor="cli")


def test_erasure_keeps_only_the_public_registry_record(built) -> None:  # noqa: ANN001
    ctx = built
    with ctx.sessions() as s:
        sung = s.scalars(select(Provider).where(Provider.npi == "1669475711")).one()
        assert s.get(ReferrerStat, sung.id) is not None
        events = s.scalars(select(ReferralEvent.id).where(ReferralEvent.provider_id == sung.id)).all()
        assert events
    report = erase(ctx, sung.id, actor="cli")
    assert report.removed["referrer_stats"] == 1
    assert report.removed["clinic_source_records"] == 1
    assert report.removed["referral_events_anonymised"] == len(events)
    run_pipeline(ctx)  # the next run neither relinks the events nor re-creates the statistics
    with ctx.sessions() as s:
        sources = s.scalars(select(SourceRecord.source).where(SourceRecord.provider_id == sung.id)).all()
        assert sources == ["nppes"]
        assert s.get(ReferrerStat, sung.id) is None
        for ev in s.scalars(select(ReferralEvent).where(ReferralEvent.id.in_(events))):
            assert ev.provider_id is None and ev.referrer_name is None and ev.referrer_npi is None
        assert s.get(DataObjection, sung.id).erased_at is not None
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "erasure")).all()
    assert entry.records["removed"] == report.removed and entry.actor == "cli"
