"""The whole pipeline on real NPPES rows, on both backends: links, tiers, prospects, idempotency."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from data.models import Prospect, Provider, ReferralEvent, ReferrerStat, SourceRecord
from service.ingest.ingest import ingest_nucc, ingest_records, ingest_referral_events
from service.ingest.sites import load_sites
from service.pipeline import run_pipeline
from tests.paths import FIXTURES
from tests.service.test_ingest import snapshot

DATA = FIXTURES


def load_all(ctx) -> None:
    ingest_nucc(ctx, DATA / "nucc_taxonomy_220.csv")
    ingest_records(ctx, DATA / "npidata_pfile_sample_first10.csv", source="nppes")
    ingest_records(ctx, FIXTURES / "service" / "referrers_small.csv", source="referrer_list")
    load_sites(ctx, FIXTURES / "service" / "sites_small.csv")
    ingest_referral_events(ctx, FIXTURES / "service" / "referrals_small.csv")


def test_pipeline_links_scores_and_is_idempotent(ctx) -> None:
    object.__setattr__(
        ctx,
        "settings",
        ctx.settings.model_copy(
            update={"as_of": date(2024, 6, 30), "radius_km": 60.0, "catchment_resolution": 7}
        ),
    )
    load_all(ctx)
    reports = {r.stage: r.detail for r in run_pipeline(ctx)}
    assert reports["link"]["records"] == 12 and reports["link"]["golden"] == 10

    with ctx.sessions() as s:
        sung = s.scalars(select(Provider).where(Provider.npi == "1669475711")).one()
        sources = s.scalars(
            select(SourceRecord.source).where(SourceRecord.provider_id == sung.id)
        ).all()
        assert sorted(sources) == ["nppes", "referrer_list"]  # "Dr. Bin Sung" merged without an NPI
        named = [v for v in sung.lineage.values() if v is not None]
        assert sung.lineage["last_name"].startswith("nppes:")
        assert named and all(v.startswith(("nppes:", "referrer_list:")) for v in named)
        assert sung.geocode_precision == "zip" and sung.h3_r8 is not None

        # events: by NPI, and "Dr. B. Sung" by free text; a bare surname is too weak to link
        linked = dict(s.execute(select(ReferralEvent.external_id, ReferralEvent.provider_id)).all())
        npis = dict(s.execute(select(Provider.npi, Provider.id)).all())
        assert linked["E1"] == npis["1679576722"] and linked["E5"] == npis["1932102084"]
        assert linked["E3"] == sung.id and linked["E4"] is None
        referring = set(
            s.scalars(select(ReferrerStat.provider_id).where(ReferrerStat.referring)).all()
        )
        assert sung.id in referring

        prospects = s.scalars(select(Prospect)).all()
        assert prospects, "the Sugar Land site has white space"
        # referrers are not prospects unless lapsed (no referral in the last lapsed_days)
        as_of = ctx.settings.as_of or date.today()
        last = dict(s.execute(select(ReferrerStat.provider_id, ReferrerStat.last_referral)).all())
        back = {p.provider_id for p in prospects} & referring
        assert all((as_of - last[pid]).days >= ctx.settings.lapsed_days for pid in back)
        assert referring - back, "active referrers stay out of the prospects"
        for p in prospects:
            assert abs(sum(c["points"] for c in p.components) - p.score) < 0.1
            assert p.proximity_estimated  # the test road network does not cover Texas

    assert reports["link"]["mode"] == "full"  # nothing stored to link against yet
    before = snapshot(ctx)
    load_all(ctx)
    again = {r.stage: r.detail for r in run_pipeline(ctx)}
    assert again["link"]["mode"] == "incremental" and again["link"]["focus"] == 0
    assert snapshot(ctx) == before
    full = {r.stage: r.detail for r in run_pipeline(ctx, full_link=True)}
    assert full["link"]["mode"] == "full" and full["link"]["focus"] == 12
    assert snapshot(ctx) == before
