"""Further registries through the service: each links to the same golden providers."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from data.models import Provider, SourceRecord
from service.ingest import ingest_records
from service.resolve import resolve_providers
from tests.service.test_ingest import NPPES, snapshot

ENRICHMENT_DATA = Path(__file__).resolve().parent.parent / "enrichment" / "data"


def test_cms_rows_fold_and_link_to_nppes_by_npi(ctx) -> None:  # noqa: ANN001
    # the fixture holds 3 deliberately bad rows out of 11
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"max_reject_rate": 0.5}))
    ingest_records(ctx, NPPES, source="nppes")
    first = resolve_providers(ctx).detail["golden"]
    report = ingest_records(ctx, ENRICHMENT_DATA / "cms_dac_current.csv", source="cms_dac")
    assert report.inserted > 0 and report.rejected == 3
    assert {(p["line"], p["field"]) for p in report.rejects} == {
        (7, "NPI"), (10, "Provider Last Name"), (11, "ZIP Code")}
    detail = resolve_providers(ctx).detail
    with ctx.sessions() as s:
        cms = s.scalars(select(SourceRecord).where(SourceRecord.source == "cms_dac")).all()
        npis = {r.npi for r in cms}
        in_nppes = set(s.scalars(select(SourceRecord.npi).where(SourceRecord.source == "nppes")))
        # every CMS record whose NPI is in NPPES joined that NPI's golden record
        for rec in cms:
            if rec.npi in in_nppes:
                golden = s.get(Provider, rec.provider_id)
                assert golden.npi == rec.npi
        assert s.scalar(select(func.count()).select_from(Provider)) == first + len(npis - in_nppes)
    assert detail["golden"] == first + len(npis - in_nppes)
    before = snapshot(ctx)
    ingest_records(ctx, ENRICHMENT_DATA / "cms_dac_current.csv", source="cms_dac")
    resolve_providers(ctx)
    assert snapshot(ctx) == before
