"""Faulty registry and clinic files through the real ingest path, on both backends (issue 20).

Each file of ``tests/fixtures/faulty_values`` (README there) holds one class of
fault. A load either refuses the faulty rows, naming file, line and field, or
loads with a warning of the class's code; a refused load leaves every table
as it was (checksums over the tables' rows).
"""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from sqlalchemy import MetaData, select

from core.errors import RejectLimitError
from core.notices import (
    DEACTIVATED_VALUES_KEPT,
    DUPLICATE_KEYS,
    LAYOUT_DRIFT,
    PRIMARY_TAXONOMY_GUESSED,
    TAXONOMY_UNKNOWN,
    VALUE_OUT_OF_RANGE,
    VALUES_DROPPED,
)
from data.models import Provider, ReferralEvent, SourceRecord
from data.models.prospecting import Interaction
from service.ingest.deactivations import ingest_deactivations
from service.ingest.ingest import ingest_nucc, ingest_records, ingest_referral_events
from service.ingest.interactions import ingest_interactions
from service.linkage.resolve import resolve_providers
from tests.paths import FIXTURES

FAULTY = FIXTURES / "faulty_values"
NPPES = FIXTURES / "npidata_pfile_sample_first10_v2024layout.csv"
WIEBE = "1679576722"
#: Tables a refused load may write: the batch that records the refusal.
_BOOKKEEPING = {"load_batches", "alembic_version"}


def tolerant(ctx, rate: float = 0.6) -> None:
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"max_reject_rate": rate}))


def checksums(ctx) -> dict[str, str]:
    """SHA-256 of every data table's rows (in primary-key order), table by table."""
    meta = MetaData()
    meta.reflect(ctx.engine)
    out = {}
    with ctx.engine.connect() as conn:
        for name, table in sorted(meta.tables.items()):
            if name in _BOOKKEEPING or name.startswith(("spatial", "geometry_columns")):
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            digest = hashlib.sha256()
            for row in conn.execute(select(table).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
            out[name] = digest.hexdigest()
    return out


def codes(report) -> dict[str, object]:
    return {w.code: w for w in report.warnings}


def rejected(report) -> set[tuple[int, str]]:
    return {(p["line"], p["field"]) for p in report.rejects}


def source_data(ctx, source: str, key: str) -> dict:
    with ctx.sessions() as s:
        return s.scalars(
            select(SourceRecord.data).where(
                SourceRecord.source == source, SourceRecord.source_key == key
            )
        ).one()


# -- refused rows: file, line and field named --------------------------------------------------


def test_a_spreadsheet_mangled_npi_is_refused_never_stored(ctx) -> None:
    tolerant(ctx)
    report = ingest_records(ctx, FAULTY / "referrers_spreadsheet_npi.csv", source="referrer_list")
    assert report.inserted == 3 and rejected(report) == {(3, "NPI")}
    problem = report.rejects[0]
    assert problem["file"] == "referrers_spreadsheet_npi.csv"
    assert "spreadsheet" in problem["message"] and problem["value"] == "1.58867E+09"
    with ctx.sessions() as s:
        stored = s.scalars(select(SourceRecord.npi)).all()
    assert "1.58867E+09" not in stored and None not in stored


def test_referral_dates_outside_the_event_range_are_refused(ctx) -> None:
    tolerant(ctx)
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"as_of": date(2024, 6, 1)}))
    report = ingest_referral_events(ctx, FAULTY / "referrals_dates_out_of_range.csv")
    assert rejected(report) == {(3, "referral_date"), (4, "referral_date"), (5, "referral_date")}
    messages = {p["line"]: p["message"] for p in report.rejects}
    assert "2000-01-01" in messages[3] and "PRM_MIN_EVENT_DATE" in messages[3]
    assert "2024-06-02" in messages[5]  # tomorrow, as of the day the load runs
    with ctx.sessions() as s:
        kept = s.scalars(select(ReferralEvent.external_id).order_by(ReferralEvent.id)).all()
    assert kept == ["E1", "E5", "E6", "E7", "E8", "E9"]


def test_interaction_dates_outside_the_event_range_are_refused(ctx) -> None:
    tolerant(ctx)
    with ctx.sessions.begin() as s:
        s.add(Provider(cluster_key="w", npi=WIEBE, entity_type="individual", display_name="W"))
    report = ingest_interactions(ctx, FAULTY / "interactions_dates_out_of_range.csv")
    assert rejected(report) == {(3, "occurred_at"), (4, "occurred_at")}
    with ctx.sessions() as s:
        assert s.scalars(select(Interaction.external_id)).all() == ["I1", "I4", "I5", "I6"]


def test_counts_that_are_not_whole_numbers_are_refused_with_their_field(ctx) -> None:
    tolerant(ctx)
    report = ingest_records(ctx, FAULTY / "cms_counts.csv", source="cms_dac")
    assert rejected(report) == {(2, "Grd_yr"), (3, "num_org_mem")}
    assert {p["value"] for p in report.rejects} == {"20O5", "-5"}
    found = codes(report)
    # a year that is a whole number but no graduation year: left blank, said so
    assert found[VALUE_OUT_OF_RANGE].count == 2 and found[VALUE_OUT_OF_RANGE].columns == ["Grd_yr"]
    assert found[VALUES_DROPPED].examples == ["555-0100"]
    sung = source_data(ctx, "cms_dac", "1669475711")
    assert "graduation_year" not in sung["identifiers"] and sung["phone"] is None
    assert source_data(ctx, "cms_dac", WIEBE)["identifiers"]["graduation_year"] == 1990


def test_french_identifiers_are_checked_by_their_keys(ctx) -> None:
    tolerant(ctx, 0.8)
    rpps = ingest_records(ctx, FAULTY / "rpps_check_digits.txt", source="rpps")
    assert rejected(rpps) == {
        (2, "Identification nationale PP"),
        (3, "Numéro SIRET site"),
    }
    finess = ingest_records(ctx, FAULTY / "finess_check_digit.csv", source="finess")
    assert (3, "nofinesset") in rejected(finess)
    assert any("FINESS check digit" in p["message"] for p in finess.rejects)
    with ctx.sessions() as s:
        keys = s.scalars(select(SourceRecord.source_key)).all()
    assert "030000013" not in keys and not any(k.startswith("810000000018") for k in keys)


# -- loaded, with the warning that names what happened -----------------------------------------


def test_french_phone_numbers_in_a_referrer_list_load_as_e164(ctx) -> None:
    report = ingest_records(ctx, FAULTY / "referrers_french_phones.csv", source="referrer_list")
    assert report.rejected == 0 and report.inserted == 3
    assert source_data(ctx, "referrer_list", "F1")["phone"] == "+33142600000"
    assert source_data(ctx, "referrer_list", "F2")["country"] == "FR"
    assert source_data(ctx, "referrer_list", "U1")["phone"] == "+12815657337"


def test_a_primary_taxonomy_chosen_by_rule_is_said(ctx) -> None:
    report = ingest_records(ctx, FAULTY / "nppes_primary_taxonomy_guessed.csv", source="nppes")
    guessed = [w for w in report.warnings if w.code == PRIMARY_TAXONOMY_GUESSED]
    assert sorted((w.count, tuple(w.examples)) for w in guessed) == [
        (1, ("1215930367",)),
        (1, ("1588667638",)),
    ]
    assert source_data(ctx, "nppes", "1588667638")["taxonomy_code"] == "207RC0000X"  # slot 1
    assert source_data(ctx, "nppes", "1215930367")["taxonomy_code"] == "174400000X"  # first Y


def test_taxonomy_codes_unknown_to_the_loaded_nucc_version_are_said(ctx) -> None:
    ingest_nucc(ctx, ctx.settings.nucc_file)
    report = ingest_records(ctx, FAULTY / "nppes_unknown_taxonomy.csv", source="nppes")
    unknown = codes(report)[TAXONOMY_UNKNOWN]
    assert unknown.count == 1 and unknown.examples == ["999Z00000X"]
    assert "999Z00000X" in unknown.message and report.inserted == 2


def test_values_that_cannot_be_read_are_dropped_and_said(ctx) -> None:
    report = ingest_records(ctx, FAULTY / "nppes_values_dropped.csv", source="nppes")
    dropped = {w.columns[0]: w for w in report.warnings if w.code == VALUES_DROPPED}
    phone = dropped["Provider Business Practice Location Address Telephone Number"]
    postal = dropped["Provider Business Practice Location Address Postal Code"]
    assert (phone.count, phone.examples, postal.count, postal.examples) == (
        1,
        ["555-0100"],
        1,
        ["7575"],
    )
    assert report.inserted == 3 and report.rejected == 0
    assert source_data(ctx, "nppes", WIEBE)["phone"] is None


def test_a_repeated_npi_keeps_the_newest_last_update_and_says_so(ctx) -> None:
    report = ingest_records(ctx, FAULTY / "nppes_duplicate_npi.csv", source="nppes")
    repeated = codes(report)[DUPLICATE_KEYS]
    assert repeated.count == 1 and "newest Last Update Date" in repeated.message
    assert repeated.examples == [f"line 2: {WIEBE}"]  # the older row, set aside
    assert report.rejected == 0 and report.inserted == 2
    kept = source_data(ctx, "nppes", WIEBE)
    assert (kept["city"], kept["last_update_date"]) == ("GRAND ISLAND", "2021-03-01")
    # the older row first again, in a later load: still the newest kept
    again = ingest_records(ctx, FAULTY / "nppes_duplicate_npi.csv", source="nppes")
    assert source_data(ctx, "nppes", WIEBE)["city"] == "GRAND ISLAND"
    assert again.updated == 0


def test_rpps_and_finess_layouts_that_drift_load_with_the_columns_named(ctx) -> None:
    tolerant(ctx, 0.8)
    rpps = ingest_records(ctx, FAULTY / "rpps_layout_drift.txt", source="rpps")
    drift = codes(rpps)[LAYOUT_DRIFT]
    assert "Code savoir-faire" in drift.columns and "Code mode exercice secondaire" in drift.columns
    assert rpps.inserted == 4
    finess = ingest_records(ctx, FAULTY / "finess_layout_drift.csv", source="finess")
    assert codes(finess)[LAYOUT_DRIFT].columns == ["field 33", "field 34"]
    assert finess.inserted == 5


# -- deactivations keep what they replace ------------------------------------------------------


def _wiebe(ctx) -> Provider:
    with ctx.sessions() as s:
        return s.scalars(select(Provider).where(Provider.npi == WIEBE)).one()


def test_deactivations_keep_the_values_they_replace(ctx, tmp_path) -> None:
    ingest_records(ctx, NPPES, source="nppes")
    resolve_providers(ctx)
    before = _wiebe(ctx)
    shown = (before.display_name, before.city, before.taxonomy_code)
    # the deactivation report after the registry file
    report = tmp_path / "NPPES_Deactivated_NPI_Report.csv"
    report.write_text(f"NPI,NPPES Deactivation Date\n{WIEBE},09/01/2026\n", encoding="utf-8")
    ingest_deactivations(ctx, report)
    resolve_providers(ctx)
    after = _wiebe(ctx)
    assert (after.display_name, after.city, after.taxonomy_code) == shown
    assert after.is_active is False and str(after.deactivation_date) == "2026-09-01"
    # the next registry file lists the NPI as NPPES lists deactivated ones: every field blank
    loaded = ingest_records(ctx, FAULTY / "nppes_deactivated_blank_fields.csv", source="nppes")
    kept = codes(loaded)[DEACTIVATED_VALUES_KEPT]
    assert kept.count == 1 and kept.examples == [WIEBE]
    resolve_providers(ctx)
    after = _wiebe(ctx)
    assert (after.display_name, after.city, after.taxonomy_code) == shown
    assert after.is_active is False and str(after.deactivation_date) == "2026-10-01"
    again = ingest_records(ctx, FAULTY / "nppes_deactivated_blank_fields.csv", source="nppes")
    assert again.updated == 0 and again.unchanged == 2


# -- refused loads change nothing --------------------------------------------------------------


def _load(ctx, name: str, kind: str) -> None:
    if kind == "referrals":
        ingest_referral_events(ctx, FAULTY / name)
    elif kind == "interactions":
        ingest_interactions(ctx, FAULTY / name)
    else:
        ingest_records(ctx, FAULTY / name, source=kind)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("referrals_before_2000.csv", "referrals"),
        ("interactions_dates_out_of_range.csv", "interactions"),
        ("cms_counts.csv", "cms_dac"),
        ("rpps_check_digits.txt", "rpps"),
    ],
)
def test_a_refused_load_leaves_every_table_as_it_was(ctx, name, kind) -> None:
    ingest_records(ctx, NPPES, source="nppes")
    resolve_providers(ctx)
    ingest_records(ctx, FAULTY / "referrers_french_phones.csv", source="referrer_list")
    before = checksums(ctx)
    with pytest.raises(RejectLimitError) as info:
        _load(ctx, name, kind)
    assert all(p.file == name and p.line and p.field for p in info.value.problems)
    assert checksums(ctx) == before
