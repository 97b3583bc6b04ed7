"""Further registries through the service: each links to the same golden providers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from data.models import Provider, SourceRecord
from service.ingest.ingest import ingest_records
from service.linkage.resolve import resolve_providers
from tests.paths import FIXTURES
from tests.service.test_ingest import NPPES, snapshot

ENRICHMENT_DATA = FIXTURES / "enrichment"


def test_cms_rows_fold_and_link_to_nppes_by_npi(ctx) -> None:
    # the fixture holds 3 deliberately bad rows out of 11
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"max_reject_rate": 0.5}))
    ingest_records(ctx, NPPES, source="nppes")
    first = resolve_providers(ctx).detail["golden"]
    report = ingest_records(ctx, ENRICHMENT_DATA / "cms_dac_current.csv", source="cms_dac")
    assert report.inserted > 0 and report.rejected == 3
    assert {(p["line"], p["field"]) for p in report.rejects} == {
        (7, "NPI"),
        (10, "Provider Last Name"),
        (11, "ZIP Code"),
    }
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


def test_french_registries_locate_in_france_and_flag_overseas(ctx) -> None:
    from service.placement.locate import geocode_providers

    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"max_reject_rate": 0.8}))
    finess = ingest_records(
        ctx, ENRICHMENT_DATA / "etalab-cs1100507-stock-sample.csv", source="finess"
    )
    rpps = ingest_records(
        ctx, ENRICHMENT_DATA / "PS_LibreAcces_Personne_activite_sample.txt", source="rpps"
    )
    assert finess.inserted == 5 and rpps.inserted == 4
    resolve_providers(ctx)
    geocode_providers(ctx, only_missing=True)
    with ctx.sessions() as s:
        rows = {
            (p.npi, p.postal_code): (p.geocode_precision, p.lat, p.lon, p.country)
            for p in s.scalars(select(Provider))
        }
    by_code = {code: v for (_, code), v in rows.items()}
    assert all(v[3] == "FR" for v in rows.values())
    # FINESS gives coordinates: used as given (Lambert-93 (700000, 6600000) is 46.5 N, 3.0 E)
    assert by_code["03000"][0] == "source"
    assert by_code["03000"][1:3] == pytest.approx((46.5, 3.0), abs=1e-9)
    # an overseas establishment with its own coordinates keeps them
    assert by_code["97159"][0] == "source"
    # a Paris practitioner (RPPS) is placed at the Paris postal centroid, in France
    precision, lat, lon, _ = by_code["75002"]
    assert precision == "zip" and 48.8 < lat < 48.9 and 2.3 < lon < 2.4
    for precision, lat, lon, _ in rows.values():  # nothing French lands in the US
        assert lat is None or (41 < lat < 52 and -6 < lon < 10) or precision == "source"


def test_overseas_postal_code_is_flagged_not_placed(ctx) -> None:
    import pandas as pd

    from service.placement.locate import locate_frame

    out = locate_frame(
        ctx,
        pd.DataFrame(
            {
                "address_1": ["1 rue X", "1 rue Y"],
                "city": ["Pointe-a-Pitre", "Paris"],
                "postal_code": ["97110", "75001"],
                "country": ["FR", "FR"],
            }
        ),
    )
    assert out["geocode_precision"].tolist() == ["overseas", "zip"]
    assert pd.isna(out.loc[0, "lat"]) and 48.8 < out.loc[1, "lat"] < 48.9


def test_nppes_zip_loads_like_the_csv_with_companions(ctx, tmp_path) -> None:
    import zipfile

    archive = tmp_path / "NPPES_Data_Dissemination_October_2026.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.write(NPPES, "npidata_pfile_20050523-20261012.csv")
        z.write(
            ENRICHMENT_DATA / "pl_pfile_20050523-20240107.csv", "pl_pfile_20050523-20261012.csv"
        )
        z.write(
            ENRICHMENT_DATA / "endpoint_pfile_20050523-20240107.csv",
            "endpoint_pfile_20050523-20261012.csv",
        )
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"max_reject_rate": 0.5}))
    report = ingest_records(ctx, archive, source="nppes")
    assert report.inserted == 10 and report.file_name == archive.name
    with ctx.sessions() as s:
        data = {r.source_key: r.data for r in s.scalars(select(SourceRecord))}
    assert any(d.get("locations") for d in data.values()), "secondary practice locations attached"
    assert any(
        c.get("channel") == "direct" for d in data.values() for c in (d.get("contacts") or [])
    )


def test_deactivation_report_flags_never_deletes(ctx, tmp_path) -> None:
    from datetime import date

    from openpyxl import Workbook

    from data.models import SourceRecordHistory
    from service.ingest.deactivations import ingest_deactivations

    ingest_records(ctx, NPPES, source="nppes")
    resolve_providers(ctx)
    book = Workbook()
    sheet = book.active
    sheet.append(["NPPES Deactivated NPI Report"])
    sheet.append([])
    sheet.append(["NPI", "NPPES Deactivation Date"])
    sheet.append(["1679576722", date(2026, 10, 1)])
    sheet.append(["1234567893", date(2026, 10, 2)])  # valid NPI, never loaded
    path = tmp_path / "NPPES_Deactivated_NPI_Report_20261010.xlsx"
    book.save(path)
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"max_reject_rate": 0.6}))

    report = ingest_deactivations(ctx, path)
    assert report.updated == 1 and report.rejected == 1
    assert report.rejects[0]["field"] == "NPI" and report.rejects[0]["line"] == 5
    resolve_providers(ctx)
    with ctx.sessions() as s:
        wiebe = s.scalars(select(Provider).where(Provider.npi == "1679576722")).one()
        kept = s.scalar(select(func.count()).select_from(SourceRecordHistory))
    assert wiebe.is_active is False and str(wiebe.deactivation_date) == "2026-10-01"
    assert kept == 1
    before = snapshot(ctx)
    assert ingest_deactivations(ctx, path).unchanged == 1
    resolve_providers(ctx)
    assert snapshot(ctx) == before
