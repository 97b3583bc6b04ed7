"""Entity resolution on hand-made records: decisions, explanations, constraints, incremental runs."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from core.errors import MatchingError
from enrichment.link_settings import LinkSettings
from enrichment.linker import PAIR_COLUMNS, LinkModel, explanation, link_records
from enrichment.nucc import read_nucc
from enrichment.records import records_frame
from tests.paths import FIXTURES

NUCC = FIXTURES / "nucc_taxonomy_220.csv"

BUILDING = {
    "address_1": "123 MAIN STREET",
    "address_2": "SUITE 200",
    "city": "COLUMBUS",
    "state": "OH",
    "postal_code": "43215",
    "phone": "6145550100",
}
RECORDS = [
    # 0: the doctor in NPPES
    dict(
        source="nppes",
        source_key="1234567893",
        npi="1234567893",
        first_name="ROBERT",
        middle_name="J",
        last_name="SMITH",
        credential="MD",
        taxonomy_code="207R00000X",
        **BUILDING,
    ),
    # 1: the same doctor in the referrer list: nickname, typo'd address, no NPI, no phone
    {
        "source": "referrer_list",
        "source_key": "r1",
        "name_prefix": "Dr",
        "first_name": "Bob",
        "last_name": "Smith",
        "specialty_text": "Internal Medicine",
        "address_1": "123 Mian St",
        "address_2": "Ste 200",
        "city": "Columbus",
        "state": "OH",
        "postal_code": "43215",
    },
    # 2: a different person in the same building, same phone
    dict(
        source="nppes",
        source_key="1245319599",
        npi="1245319599",
        first_name="MARY",
        last_name="JONES",
        taxonomy_code="207RC0000X",
        **BUILDING,
    ),
    # 3: the referrer-list row for Mary, with her NPI
    {
        "source": "referrer_list",
        "source_key": "r2",
        "npi": "1245319599",
        "first_name": "Mary",
        "last_name": "Jones",
        "address_1": "123 Main St",
        "postal_code": "43215",
    },
    # 4: an organisation at the same address
    dict(
        source="nppes",
        source_key="1679576722",
        npi="1679576722",
        entity_type="organization",
        organization_name="CAPITAL INTERNAL MEDICINE LLC",
        **BUILDING,
    ),
]


@pytest.fixture(scope="module")
def records():
    rows = [{"entity_type": "individual", "line": i + 2, **r} for i, r in enumerate(RECORDS)]
    rows[4]["entity_type"] = "organization"
    return records_frame(rows).set_axis([f"rec{i}" for i in range(len(rows))])


@pytest.fixture(scope="module")
def classes():
    # code -> classification, as service.ingest.taxonomy.classification_map reads it from the loaded table
    nucc = read_nucc(NUCC)
    return dict(zip(nucc["code"], nucc["classification"]))


@pytest.fixture(scope="module")
def settings():
    return LinkSettings.default()


@pytest.fixture(scope="module")
def result(records, classes, settings):
    return link_records(records, settings=settings, classes=classes)


def pair(result, left, right):
    rows = result.pairs[(result.pairs["left"] == left) & (result.pairs["right"] == right)]
    assert len(rows) == 1, f"no pair {left}-{right}"
    return rows.iloc[0]


def test_pairs_frame(result):
    assert list(result.pairs.columns[: len(PAIR_COLUMNS)]) == list(PAIR_COLUMNS)
    assert set(result.pairs["decision"]) <= {"merge", "review", "non_match"}


def test_same_doctor_merges_with_explained_levels(result, settings):
    p = pair(result, "rec0", "rec1")
    assert p["decision"] == "merge"
    steps = {s["comparison"]: s["level"] for s in explanation(p, settings, result.model)["steps"]}
    assert steps["first_name"] == "nickname"  # Bob = Robert
    assert steps["last_name"] == "exact"
    assert steps["taxonomy"] == "same_classification"  # free text vs NUCC classification
    assert steps["location"] == "same_site"  # "123 Mian St Ste 200" = "123 MAIN STREET SUITE 200"
    assert result.clusters["rec0"] == result.clusters["rec1"]


def test_different_people_same_building_stay_apart(result):
    assert result.clusters["rec0"] != result.clusters["rec2"]


def test_exact_npi_merges(result):
    p = pair(result, "rec2", "rec3")
    assert p["decision"] == "merge" and p["blocking_rule"] == "exact_npi" and p["label"] == 1
    assert result.clusters["rec2"] == result.clusters["rec3"]


def test_individuals_never_pair_with_organisations(result):
    org = "rec4"
    assert not ((result.pairs["left"] == org) | (result.pairs["right"] == org)).any()
    assert result.clusters.nunique() == 3


def test_explanation_weights_sum_to_match_weight_and_serialise(result, settings):
    for i in range(len(result.pairs)):
        expl = result.explain(i)
        assert sum(s["weight"] for s in expl["steps"]) == pytest.approx(expl["match_weight"])
        prob = 1 / (1 + 2 ** -expl["match_weight"])
        assert prob == pytest.approx(expl["match_probability"])
        json.dumps(expl)


TWIN = dict(
    first_name="ROBERT",
    last_name="SMITH",
    taxonomy_code="207R00000X",
    entity_type="individual",
    source="nppes",
    **BUILDING,
)


def test_different_npis_never_merge(settings):
    recs = records_frame(
        [
            dict(TWIN, npi="1234567893", source_key="1234567893", line=2),
            dict(TWIN, npi="1245319599", source_key="1245319599", line=3),
        ]
    )
    res = link_records(recs, settings=settings)
    (decision,) = res.pairs["decision"].tolist()
    assert decision in ("review", "non_match")
    assert res.clusters.nunique() == 2


def test_identifier_conflict_splits_a_chain(settings):
    """Two NPIs joined through a record without one: the cluster is split, not merged."""
    recs = records_frame(
        [
            dict(TWIN, npi="1234567893", source_key="a", line=2),
            dict(TWIN, npi=None, source="referrer_list", source_key="b", line=3),
            dict(TWIN, npi="1245319599", source_key="c", line=4),
        ]
    )
    res = link_records(recs, settings=settings)
    assert res.clusters.nunique() == 2
    assert res.clusters.iloc[0] != res.clusters.iloc[2]


def test_rpps_person_at_two_structures_is_one_provider(settings):
    """The known gap: one RPPS number, two practice sites (two source records)."""
    base = {
        "source": "rpps",
        "entity_type": "individual",
        "first_name": "Marie",
        "last_name": "DUPONT",
        "country": "FR",
    }
    recs = records_frame(
        [
            dict(
                base,
                source_key="810000000011:A",
                line=2,
                address_1="1 RUE DE LA PAIX",
                postal_code="75002",
                identifiers={"pp_national": "810000000011", "finess": "750100042"},
            ),
            dict(
                base,
                source_key="810000000011:B",
                line=3,
                address_1="5 AV. DE CLICHY",
                postal_code="69003",
                identifiers={"pp_national": "810000000011", "finess": "690000001"},
            ),
        ]
    )
    res = link_records(recs, settings=settings)
    assert res.clusters.nunique() == 1
    assert res.pairs["blocking_rule"].tolist() == ["exact_rpps"]


def test_decisions_are_constraints(records, classes, settings):
    rejected = link_records(
        records, settings=settings, classes=classes, cannot_link=[("rec0", "rec1")]
    )
    assert rejected.clusters["rec0"] != rejected.clusters["rec1"]
    accepted = link_records(
        records, settings=settings, classes=classes, must_link=[("rec0", "rec2")]
    )
    assert accepted.clusters["rec0"] == accepted.clusters["rec2"]


def test_incremental_equals_full_run_with_frozen_model(records, classes, settings, result):
    """Link four records, then add the fifth: same clusters as linking all five at once."""
    first = link_records(records.iloc[:4], settings=settings, model=result.model, classes=classes)
    existing = first.clusters.reindex(records.index)
    focus = existing.isna().to_numpy()
    inc = link_records(
        records,
        settings=settings,
        model=result.model,
        classes=classes,
        focus=focus,
        existing=existing,
    )
    full = link_records(records, settings=settings, model=result.model, classes=classes)
    assert inc.clusters.tolist() == full.clusters.tolist()
    # only pairs touching the new record were scored
    assert set(inc.pairs["left"]) | set(inc.pairs["right"]) <= set(records.index)
    assert all("rec4" in pair for pair in zip(inc.pairs["left"], inc.pairs["right"]))


def test_given_pairs_are_scored_without_blocking(records, settings, result):
    res = link_records(records, settings=settings, model=result.model, pairs=[("rec1", "rec2")])
    assert len(res.pairs) == 1 and res.pairs["blocking_rule"].iloc[0] == "given"
    with pytest.raises(MatchingError):
        link_records(records, settings=settings, pairs=[("rec1", "rec2")])


def test_model_roundtrip_and_fit_check(result, settings):
    again = LinkModel.from_dict(json.loads(json.dumps(result.model.to_dict())))
    assert again == result.model and again.matches(settings)
    fewer = settings.model_copy(
        update={
            "individual": settings.individual.model_copy(
                update={"comparisons": settings.individual.comparisons[:2]}
            )
        }
    )
    assert not result.model.matches(fewer)


def test_missing_columns_and_bad_arguments_raise(records, settings):
    with pytest.raises(MatchingError) as err:
        link_records(records.drop(columns=["first_name", "last_name"]), settings=settings)
    assert {p.field for p in err.value.problems} == {"first_name", "last_name"}


def test_settings_roundtrip_json_and_toml(tmp_path, settings):
    path = tmp_path / "link.json"
    path.write_text(settings.model_dump_json(), encoding="utf-8")
    assert LinkSettings.from_file(path) == settings


def test_settings_validation_lists_problems(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps({"version": 1, "auto_merge": 2, "blocking_rules": []}), encoding="utf-8"
    )
    with pytest.raises(MatchingError) as err:
        LinkSettings.from_file(path)
    fields = {p.field for p in err.value.problems}
    assert {"version", "auto_merge", "blocking_rules", "individual", "organization"} <= fields
    with pytest.raises(MatchingError):
        LinkSettings.from_file(tmp_path / "settings.yaml")


def test_level_weights_are_log2_bayes_factors(settings):
    level = settings.individual.comparisons[0].levels[0]
    assert level.weight == pytest.approx(math.log2(level.m / level.u))


@pytest.mark.parametrize("pair_chunk", [1, 2, 5])
def test_pairs_compared_in_chunks_give_the_same_outcome(
    records, classes, settings, result, pair_chunk
):
    chunked = link_records(records, settings=settings, classes=classes, pair_chunk=pair_chunk)
    assert chunked.model == result.model
    assert chunked.clusters.equals(result.clusters)
    assert chunked.pairs.equals(result.pairs)


def test_non_matches_can_be_left_out(records, classes, settings, result):
    lean = link_records(records, settings=settings, classes=classes, keep_non_matches=False)
    decided = result.pairs[result.pairs["decision"] != "non_match"].reset_index(drop=True)
    assert lean.pairs.equals(decided)
    counts = ("records", "pairs", "merge_pairs", "review_pairs", "clusters")
    assert {k: lean.report[k] for k in counts} == {k: result.report[k] for k in counts}
    assert lean.clusters.equals(result.clusters)


@pytest.fixture(scope="module")
def generated():
    """Generated records with known duplicates (several rules find the same pairs)."""
    from bench.linkage_data import generate

    frame = generate(1_200, seed=4).drop(columns=["entity_id"])
    return frame.set_axis([f"g{i}" for i in range(len(frame))])


@pytest.mark.parametrize("pair_chunk", [1, 97, 5_000])
def test_generated_records_give_the_same_outcome_whatever_the_chunk(
    generated, settings, pair_chunk
):
    """Model, pairs, clusters and counts equal one chunk's, estimated, lean and incremental."""
    whole = link_records(generated, settings=settings)
    chunked = link_records(generated, settings=settings, pair_chunk=pair_chunk)
    assert whole.report["pairs"] > 1_000 and whole.report["merge_pairs"] > 100
    assert chunked.model == whole.model
    assert chunked.clusters.equals(whole.clusters)
    assert chunked.pairs.equals(whole.pairs)
    counts = ("pairs", "merge_pairs", "review_pairs", "clusters", "skipped_blocks")
    assert {k: chunked.report[k] for k in counts} == {k: whole.report[k] for k in counts}
    lean = link_records(generated, settings=settings, pair_chunk=pair_chunk, keep_non_matches=False)
    assert lean.pairs.equals(
        whole.pairs[whole.pairs["decision"] != "non_match"].reset_index(drop=True)
    )
    focus = np.random.default_rng(3).random(len(generated)) < 0.1
    incremental = [
        link_records(
            generated,
            settings=settings,
            model=whole.model,
            focus=focus,
            existing=whole.clusters,
            pair_chunk=chunk,
        )
        for chunk in (None, pair_chunk)
    ]
    assert incremental[1].pairs.equals(incremental[0].pairs)
    assert incremental[1].clusters.equals(incremental[0].clusters)


def test_a_record_lacking_the_date_of_birth_does_not_chain_two_namesakes():
    # b (no date of birth) merges with a (same ZIP) and with c (same phone); a and c were
    # born twenty years apart and have nothing else in common: a clear non-match
    data = LinkSettings.default().model_dump()
    data["em"]["enabled"] = False
    for comp in data["individual"]["comparisons"]:
        comp["term_frequency"] = False
        if comp["name"] == "date_of_birth":
            comp["levels"][-1]["m"] = 0.001
    people = pd.DataFrame(
        {
            "first_name": ["Jennifer"] * 3,
            "last_name": ["Johnson"] * 3,
            "organization_name": [None] * 3,
            "date_of_birth": ["1968-02-09", None, "1989-06-06"],
            "postal_code": ["7789", "7789", "2000"],
            "phone": [None, "+61 2 9999 0000", "+61 2 9999 0000"],
        },
        index=["a", "b", "c"],
    )
    chained = link_records(
        people, settings=LinkSettings.model_validate({**data, "split_below": 0.0})
    )
    assert chained.clusters.nunique() == 1
    result = link_records(people, settings=LinkSettings.model_validate(data))
    assert result.clusters["a"] != result.clusters["c"]
    assert result.report["split_pairs"] == 1
    assert LinkSettings.default().split_below == 0.001
