"""``prm ingest interactions|referrals|sites`` with ``--column``/``--mapping``, and the warnings."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from core.settings import Settings
from service.context import open_context
from tests.cli.test_cli import count, run  # noqa: F401 - the fixture
from tests.service.test_clinic_files import add_providers, write


def providers_in(run, tmp_path, n: int = 2) -> list[tuple[int, str]]:  # noqa: F811
    """Golden records stored in the database the ``run`` fixture's commands use."""
    ctx = open_context(Settings(database_url=f"sqlite:///{run.db}", cache_dir=tmp_path / "cache"))
    try:
        return add_providers(ctx, n)
    finally:
        ctx.close()


def test_interactions_with_a_mapping_file_and_a_column_flag(run, tmp_path) -> None:  # noqa: F811
    (_, npi1), (p2, _) = providers_in(run, tmp_path)
    path = write(
        tmp_path / "crm.csv",
        "Visit day,Prescriber NPI,provider_id,Kind,Rep,Comments,Region",
        f"2024-06-03,{npi1},,visit,Ana,hello,North",
        f"2024-06-04,,{p2},call,Ben,,South",
    )
    mapping = tmp_path / "crm.toml"
    mapping.write_text('[columns]\noccurred_at = "Visit day"\n', encoding="utf-8")
    args = ("ingest", "interactions", str(path), "--mapping", str(mapping))
    first = run(*args, "--column", "npi=Prescriber NPI")
    assert first.exit_code == 0, first.output
    assert "columns ignored: Region" in first.output
    assert count(run.db, "interactions") == 2
    again = run(*args, "--column", "npi=Prescriber NPI")
    assert again.exit_code == 0 and '"unchanged": 2' in again.output
    assert count(run.db, "interactions") == 2
    listed = run("batches", "list", "--json")
    batches = json.loads(listed.output)
    assert [w["columns"] for w in batches[0]["warnings"]] == [["Region"]]


def test_a_mapping_naming_an_unknown_field_lists_the_fields(run, tmp_path) -> None:  # noqa: F811
    providers_in(run, tmp_path, 1)
    path = write(tmp_path / "crm.csv", "date,npi,kind", "2024-06-03,1234567893,visit")
    result = run("ingest", "interactions", str(path), "--column", "colour=kind")
    assert result.exit_code == 2
    assert "occurred_at, npi, provider_id, kind, liaison, note, external_id" in result.output
    absent = run("ingest", "interactions", str(path), "--column", "kind=Type")
    assert absent.exit_code == 2 and "its columns are: date, npi, kind" in absent.output
    assert count(run.db, "interactions") == 0


def test_referrals_site_column_by_alias_or_flag(run, tmp_path) -> None:  # noqa: F811
    alias = write(
        tmp_path / "referrals.csv",
        "external_id,referral_date,referrer_npi,site_id",
        "E1,2024-01-05,1234567893,TX1",
    )
    assert run("ingest", "referrals", str(alias)).exit_code == 0
    other = write(
        tmp_path / "referrals2.csv",
        "external_id,referral_date,referrer_npi,Clinic",
        "E2,2024-01-06,1234567893,TX2",
    )
    warned = run("ingest", "referrals", str(other))
    assert warned.exit_code == 0 and "columns ignored: Clinic" in warned.output
    mapped = run("ingest", "referrals", str(other), "--column", "site_code=Clinic")
    assert mapped.exit_code == 0 and "columns ignored" not in mapped.output
    with create_engine(f"sqlite:///{run.db}").connect() as conn:
        sites = conn.execute(text("select external_id, site_code from referral_events")).all()
    assert sorted(sites) == [("E1", "TX1"), ("E2", "TX2")]


def test_sites_with_column_flags(run, tmp_path) -> None:  # noqa: F811
    path = write(
        tmp_path / "sites.csv",
        "Site,Clinic,service_line,lat,lon",
        "TX1,Sugar Land Imaging,MRI,29.5994,-95.6142",
    )
    refused = run("ingest", "sites", str(path))
    assert refused.exit_code == 2 and "missing column" in refused.output
    loaded = run(
        "ingest", "sites", str(path), "--column", "site_code=Site", "--column", "name=Clinic"
    )
    assert loaded.exit_code == 0, loaded.output
    assert '"inserted": 1' in loaded.output and "columns ignored" not in loaded.output
    assert count(run.db, "clinic_sites") == 1
