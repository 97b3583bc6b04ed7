"""GDPR objection and erasure on a real pipeline run, both backends; both audited."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, select

import data.models.matching  # noqa: F401  (every table in the metadata)
from core.errors import NotFoundError
from data.models import Base, Prospect, Provider, ReferralEvent, ReferrerStat, SourceRecord
from data.models.security import AuditEntry, DataObjection
from service.ingest.ingest import ingest_records
from service.pipeline import run_pipeline
from service.prospecting.listing import prospect_page_json, prospects_csv
from service.prospecting.schemas import ExclusionCreate
from service.prospecting.workflow import add_exclusion
from service.schemas import ProspectFilter
from service.security.privacy import ERASURE_PLAN, erase, list_objections, object_to_processing
from tests.service.test_pipeline import load_all


@pytest.fixture
def built(ctx):
    object.__setattr__(
        ctx,
        "settings",
        ctx.settings.model_copy(
            update={"as_of": date(2024, 6, 30), "radius_km": 60.0, "catchment_resolution": 7}
        ),
    )
    load_all(ctx)
    run_pipeline(ctx)
    return ctx


def listed_ids(session) -> set[int]:
    return {
        p["provider_id"]
        for p in json.loads(prospect_page_json(session, ProspectFilter(), limit=500))["items"]
    }


def test_objection_excludes_from_prospecting_and_exports(built) -> None:
    ctx = built
    with ctx.sessions() as s:
        target = s.scalars(select(Prospect.provider_id).order_by(Prospect.score.desc())).first()
        npi = s.get(Provider, target).npi
        listed = listed_ids(s)
    assert target in listed
    row = object_to_processing(
        ctx, target, actor="key:7", reason="letter 2026-11-02", client_ip="10.0.0.9"
    )
    assert row.provider_id == target and row.erased_at is None
    assert (
        object_to_processing(ctx, target, actor="key:7").objected_at == row.objected_at
    )  # idempotent
    run_pipeline(ctx)  # scoring again never brings the person back
    with ctx.sessions() as s:
        assert target not in set(s.scalars(select(Prospect.provider_id)))
        assert target not in listed_ids(s)
        assert npi not in "".join(prospects_csv(s, ProspectFilter()))
        assert s.get(Provider, target) is not None  # the public registry record stays
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "objection")).all()
    assert entries[0].actor == "key:7" and entries[0].records["provider_id"] == target
    assert entries[0].client_ip == "10.0.0.9" and entries[0].records["prospects_removed"] >= 1
    assert [o.provider_id for o in list_objections(ctx)] == [target]
    with pytest.raises(NotFoundError):
        object_to_processing(ctx, 10**6, actor="cli")


def test_erasure_keeps_only_the_public_registry_record(built) -> None:
    ctx = built
    with ctx.sessions() as s:
        sung = s.scalars(select(Provider).where(Provider.npi == "1669475711")).one()
        assert s.get(ReferrerStat, sung.id) is not None
        events = s.scalars(
            select(ReferralEvent.id).where(ReferralEvent.provider_id == sung.id)
        ).all()
        assert events
    report = erase(ctx, sung.id, actor="cli")
    assert report.removed["referrer_stats"] == 1
    assert report.removed["source_records"] == 1
    assert report.scrubbed["referral_events"] == len(events)
    run_pipeline(ctx)  # the next run neither relinks the events nor re-creates the statistics
    with ctx.sessions() as s:
        sources = s.scalars(
            select(SourceRecord.source).where(SourceRecord.provider_id == sung.id)
        ).all()
        assert sources == ["nppes"]
        assert s.get(ReferrerStat, sung.id) is None
        for ev in s.scalars(select(ReferralEvent).where(ReferralEvent.id.in_(events))):
            assert ev.provider_id is None and ev.referrer_name is None and ev.referrer_npi is None
        assert s.get(DataObjection, sung.id).erased_at is not None
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "erasure")).all()
    assert entry.records["removed"] == report.removed and entry.actor == "cli"


# ----------------------------------------------------------------------------- every table decided

#: A column that names a person: a golden record id or an NPI, whatever the table calls it.
_PERSON_COLUMN = re.compile(r"(^|_)(provider_id|npi)$")


def person_tables(metadata: MetaData) -> set[str]:
    """Tables that refer to a person: ``providers``, one with a provider-id or NPI column, and
    (transitively) one with a foreign key to any of those."""
    found = {"providers"} | {
        t.name
        for t in metadata.tables.values()
        if any(_PERSON_COLUMN.search(c.name) for c in t.columns)
    }
    while grown := {
        t.name
        for t in metadata.tables.values()
        if t.name not in found and any(fk.column.table.name in found for fk in t.foreign_keys)
    }:
        found |= grown
    return found


def test_every_table_that_refers_to_a_person_has_an_erasure_decision() -> None:
    tables = person_tables(Base.metadata)
    # the walk sees the tables this issue was about, and the ones that refer to people indirectly
    assert {
        "interactions",
        "contact_preferences",
        "prospect_status",
        "prospect_status_history",
        "referral_alerts",
        "referral_review",
        "source_record_history",
        "match_decisions",
    } <= tables
    missing = sorted(tables - ERASURE_PLAN.keys())
    assert not missing, (
        f"tables referring to a person, not in service.security.privacy.ERASURE_PLAN: {missing}"
    )
    assert (
        ERASURE_PLAN.keys() <= Base.metadata.tables.keys()
    )  # no decision about a table that is gone
    for name, treatment in ERASURE_PLAN.items():
        assert treatment.action in ("delete", "scrub", "keep") and len(treatment.reason) > 20, name
        assert (treatment.apply is None) == (treatment.action == "keep"), name
    # a table added later that points at a person, directly or through another table, is caught
    copy = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(copy)
    Table(
        "liaison_notes",
        copy,
        Column("id", Integer, primary_key=True),
        Column("author_id", ForeignKey("providers.id")),
    )
    Table(
        "note_attachments",
        copy,
        Column("id", Integer, primary_key=True),
        Column("note", ForeignKey("liaison_notes.id")),
    )
    Table(
        "call_log", copy, Column("id", Integer, primary_key=True), Column("caller_npi", String(10))
    )
    assert person_tables(copy) - ERASURE_PLAN.keys() == {
        "liaison_notes",
        "note_attachments",
        "call_log",
    }


def test_docs_list_every_erasure_decision() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    section = docs[docs.index("### What an erasure does") :]
    for name in ERASURE_PLAN:
        assert f"`{name}`" in section, f"docs/security.md does not list {name}"
    kept = [n for n, t in ERASURE_PLAN.items() if t.action == "keep"]
    assert kept and all(re.search(rf"`{n}`[^\n]*kept", section) for n in kept), kept


def test_erasing_someone_known_only_from_the_clinics_list(built, tmp_path: Path) -> None:
    """No public record to keep: the golden record keeps its id and nothing else, and stays (with
    the objection) through later runs, so the list naming the person again does not bring them back."""
    ctx = built
    listed = tmp_path / "referrers.csv"
    listed.write_text(
        "Referrer ID,Referring Physician,Specialty,Address,Zip,Phone,NPI\n"
        'R9,"Dr. Zed Quillfeather",Pediatrics,12 Elm Street,77479,6145550123,\n'
    )
    ingest_records(ctx, listed, source="referrer_list")
    run_pipeline(ctx)
    with ctx.sessions() as s:
        person = s.scalars(select(Provider).where(Provider.last_name == "Quillfeather")).one()
        pid, key = person.id, person.cluster_key
    add_exclusion(
        ctx, ExclusionCreate(provider_id=pid, reason="do not contact", note="asked twice")
    )
    report = erase(ctx, pid, actor="cli")
    assert report.removed["source_records"] == 1 and report.scrubbed["providers"] == 1
    with ctx.sessions() as s:
        left = s.get(Provider, pid)
        assert (left.cluster_key, left.last_name, left.phone, left.address_1) == (
            key,
            None,
            None,
            None,
        )
        assert left.lineage == {} and left.organization_id is None
        assert left.lat is None and left.h3_r8 is None and left.display_name == "(no name)"
    run_pipeline(
        ctx
    )  # the record has no source left: it stays, with the objection and the exclusion
    listed.write_text(listed.read_text() + 'R10,"Dr. Amy Other",Pediatrics,,77479,,\n')
    ingest_records(ctx, listed, source="referrer_list")  # the clinic's list names the person again
    run_pipeline(ctx)
    with ctx.sessions() as s:
        again = s.scalars(select(Provider).where(Provider.last_name == "Quillfeather")).one()
        assert again.id == pid and s.get(DataObjection, pid).erased_at is not None
        assert pid not in set(s.scalars(select(Prospect.provider_id)))
