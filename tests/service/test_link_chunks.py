"""The link stage gives the same golden records, links and review queue whatever its chunk size."""

from __future__ import annotations

import csv
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from core.errors import ConfigError
from core.settings import load_settings
from data.models import Organization, Provider, SourceRecord
from data.models.matching import LinkModelRecord, ReviewPair
from service.ingest.ingest import ingest_records
from service.linkage.resolve import resolve_providers
from service.linkage.writes import PROVIDER_FIELDS
from tests.paths import FIXTURES
from tests.service.test_ingest import NPPES

RPPS = FIXTURES / "enrichment" / "PS_LibreAcces_Personne_activite_sample.txt"
HEADER = ["Referrer ID", "Referring Physician", "Specialty", "Address", "Zip", "Phone", "NPI"]


def _typo(name: str) -> str:
    return name[:-2] + name[-1] + name[-2] if len(name) > 3 else name


def _referrers_with_duplicates(ctx, path) -> None:
    """A referrer list made from the stored NPPES individuals: each one three times over.

    Once with its NPI, once by name and ZIP code only, once with a typo in the
    surname and its phone (a borderline pair), plus a stranger per person.
    """
    with ctx.sessions() as s:
        rows = [
            d
            for (d,) in s.execute(select(SourceRecord.data).order_by(SourceRecord.id))
            if d.get("entity_type") == "individual"
        ]
    assert len(rows) >= 5
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i, d in enumerate(rows):
            name = f"{d['last_name']}, {d['first_name']}"
            zip5 = (d.get("postal_code") or "")[:5]
            out.writerow([f"N{i}", name, "", d.get("address_1") or "", zip5, "", d["npi"]])
            out.writerow([f"Z{i}", f"Dr. {d['first_name']} {d['last_name']}", "", "", zip5, "", ""])
            typo = f"{_typo(d['last_name'])}, {d['first_name']}"
            out.writerow([f"T{i}", typo, "", "", "", d.get("phone") or "", ""])
            out.writerow([f"S{i}", f"Zed{i}, Quentin", "", "", zip5, "", ""])


def _snapshot(ctx) -> dict[str, Any]:
    """Golden providers, links and the queue, with ids replaced by stable keys."""
    with ctx.sessions() as s:
        org_key = dict(s.execute(select(Organization.id, Organization.org_key)).all())
        providers = {}
        key_of = {}
        for row in s.execute(
            select(
                Provider.id, Provider.cluster_key, *(getattr(Provider, f) for f in PROVIDER_FIELDS)
            )
        ):
            values = dict(zip(PROVIDER_FIELDS, row[2:], strict=True))
            values["organization_id"] = org_key.get(values["organization_id"])
            providers[row.cluster_key] = values
            key_of[row.id] = row.cluster_key
        links = {
            rid: (key_of.get(pid), prob, expl, linked)
            for rid, pid, prob, expl, linked in s.execute(
                select(
                    SourceRecord.id,
                    SourceRecord.provider_id,
                    SourceRecord.match_probability,
                    SourceRecord.match_explanation,
                    SourceRecord.linked_hash,
                )
            )
        }
        queue = sorted(
            s.execute(
                select(
                    ReviewPair.left_record_id,
                    ReviewPair.right_record_id,
                    ReviewPair.match_probability,
                    ReviewPair.match_weight,
                    ReviewPair.explanation,
                )
            ).all(),
            key=lambda r: (r[0], r[1]),
        )
    return {"providers": providers, "links": links, "queue": [tuple(r) for r in queue]}


def _forget_links(ctx) -> None:
    with ctx.sessions.begin() as s:
        s.execute(delete(ReviewPair))
        s.execute(
            update(SourceRecord).values(
                provider_id=None, match_probability=None, match_explanation=None, linked_hash=None
            )
        )
        s.execute(delete(Provider))
        s.execute(delete(Organization))
        s.execute(delete(LinkModelRecord))


def test_link_outcome_does_not_depend_on_the_chunk_size(ctx, tmp_path) -> None:
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"max_reject_rate": 0.8}))
    ingest_records(ctx, NPPES, source="nppes")
    ingest_records(ctx, RPPS, source="rpps")
    referrers = tmp_path / "referrers.csv"
    _referrers_with_duplicates(ctx, referrers)
    ingest_records(ctx, referrers, source="referrer_list")

    whole = resolve_providers(ctx, chunk_records=10**9)
    expected = _snapshot(ctx)
    # known duplicates: every NPPES individual gathered its NPI and name+ZIP copies
    clusters = {}
    for key, (provider, *_rest) in expected["links"].items():
        clusters.setdefault(provider, []).append(key)
    assert max(len(v) for v in clusters.values()) >= 3
    assert whole.detail["golden"] < whole.detail["records"]

    for size in (1, 3):
        _forget_links(ctx)
        tiny = resolve_providers(ctx, chunk_records=size)
        assert _snapshot(ctx) == expected, size
        assert tiny.detail == whole.detail

    # an incremental re-run in tiny chunks changes nothing
    again = resolve_providers(ctx, incremental=True, chunk_records=2)
    assert again.detail["mode"] == "incremental"
    assert again.detail["providers_unchanged"] == again.detail["golden"]
    assert again.detail["practice_changes"] == 0
    assert _snapshot(ctx) == expected


def test_a_link_stopped_after_some_chunks_keeps_them_whole_and_the_next_run_completes_it(
    ctx, tmp_path, monkeypatch
) -> None:
    import service.linkage.resolve as resolve

    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"max_reject_rate": 0.8}))
    ingest_records(ctx, NPPES, source="nppes")
    referrers = tmp_path / "referrers.csv"
    _referrers_with_duplicates(ctx, referrers)
    ingest_records(ctx, referrers, source="referrer_list")
    resolve_providers(ctx, chunk_records=3)
    expected = _snapshot(ctx)
    _forget_links(ctx)

    chunk, calls = resolve._golden_chunk, []

    def dies_in_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as a kill would, inside the chunk's transaction
        return chunk(*args, **kwargs)

    monkeypatch.setattr(resolve, "_golden_chunk", dies_in_the_third)
    with pytest.raises(KeyboardInterrupt):
        resolve_providers(ctx, chunk_records=3)
    with ctx.sessions() as s:
        linked = s.scalars(
            select(SourceRecord.provider_id).where(SourceRecord.provider_id.is_not(None))
        ).all()
        assert s.scalar(select(LinkModelRecord.id)) is None  # no model before every chunk is in
    assert 0 < len(linked) < len(expected["links"])  # two whole chunks, nothing of the third
    monkeypatch.setattr(resolve, "_golden_chunk", chunk)

    again = resolve_providers(ctx, incremental=True, chunk_records=3)
    assert again.detail["mode"] == "full"  # no stored model: linked whole again
    assert _snapshot(ctx) == expected


@pytest.mark.parametrize("value", ["0", "63", "lots"])
def test_memory_budget_is_validated(monkeypatch, value) -> None:
    monkeypatch.setenv("PRM_MEMORY_BUDGET_MB", value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "memory_budget_mb" in str(err.value.problems) or "memory_budget_mb" in str(err.value)
