"""EM with one training session per blocking rule recovers known m; sure pairs score high.

The records are generated so that the truth does not depend on the estimator:
each field of a duplicate copy is kept or replaced by a *different* value
independently, with a known probability, and the comparisons have only an
exact and an 'else' level, so a true pair's level is known from how it was
generated. Three blocking rules pin different fields, and most true pairs
satisfy more than one of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from enrichment.link_settings import LinkSettings
from enrichment.linker import link_records

#: P(a duplicate copy keeps the value) per field: the m of each comparison's exact level.
KEEP = {"first_name": 0.80, "last_name": 0.78, "postal_code": 0.70, "taxonomy_code": 0.82}
#: Comparison measuring each field (settings below).
COMPARISON = {
    "first_name": "first_name",
    "last_name": "last_name",
    "postal_code": "location",
    "taxonomy_code": "taxonomy",
}
POOL = {"first_name": 150, "last_name": 400, "postal_code": 60, "taxonomy_code": 12}
RULES = {  # name: (keys, the generated fields they fix)
    "zip_surname": (["postal_code", "last_name"], ("postal_code", "last_name")),
    "surname_first": (["last_name", "canon_first"], ("last_name", "first_name")),
    "zip_first": (["postal_code", "canon_first"], ("postal_code", "first_name")),
}


def _exact_else(name: str, field: str) -> dict:
    return {
        "name": name,
        "field": field,
        "levels": [
            {"name": "exact", "test": "exact", "m": 0.5, "u": 0.5},
            {"name": "else", "test": "else", "m": 0.5, "u": 0.5},
        ],
    }


def _settings() -> LinkSettings:
    comparisons = [_exact_else(c, c) for c in ("first_name", "last_name", "location", "taxonomy")]
    return LinkSettings.model_validate(
        {
            "auto_merge": 0.9,
            "review": 0.5,
            "blocking_rules": [
                {"name": name, "keys": keys, "entity_types": ["individual"]}
                for name, (keys, _) in RULES.items()
            ],
            "individual": {"prior": 1e-4, "comparisons": comparisons},
            "organization": {
                "prior": 1e-4,
                "comparisons": [_exact_else("organization_name", "organization_name")],
            },
        }
    )


def _pool(rng: np.random.Generator, field: str) -> np.ndarray:
    """Made-up distinct values (no real given names, so no nickname folds two together)."""
    if field == "postal_code":
        return np.array([f"{z:05d}" for z in rng.choice(90_000, POOL[field], replace=False)])
    if field == "taxonomy_code":
        return np.array([f"2{i:02d}X00000X" for i in range(POOL[field])])
    syllables = np.array(["QA", "ZU", "XO", "VE", "KI", "WY", "JO", "FU", "BRI", "TAZ", "MOK"])
    made: set[str] = set()
    while len(made) < POOL[field]:
        made.add("".join(rng.choice(syllables, size=4)))
    return np.array(sorted(made))


def generate(
    n_entities: int = 6_000, n_dup: int = 3_000, seed: int = 5
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Records (first copies, then duplicates of the first ``n_dup``) and, per field, kept flags."""
    rng = np.random.default_rng(seed)
    first, dup, kept = {}, {}, {}
    for field, size in POOL.items():
        weight = 1.0 / (np.arange(size) + 10.0)  # Zipf-like: common and rare values
        idx = rng.choice(size, n_entities, p=weight / weight.sum())
        keep = rng.random(n_dup) < KEEP[field]
        other = (idx[:n_dup] + rng.integers(1, size, n_dup)) % size  # a different value
        values = _pool(rng, field)
        first[field], dup[field] = values[idx], values[np.where(keep, idx[:n_dup], other)]
        kept[field] = keep
    frame = pd.concat([pd.DataFrame(first), pd.DataFrame(dup)], ignore_index=True)
    frame["entity_type"] = "individual"
    frame["organization_name"] = None
    return frame.set_axis([f"r{i}" for i in range(len(frame))]), kept


@pytest.fixture(scope="module")
def linked():
    records, kept = generate()
    return link_records(records, settings=_settings(), keep_non_matches=False), kept


def test_true_pairs_satisfy_several_rules():
    _, kept = generate()
    satisfied = sum(
        np.logical_and.reduce([kept[f] for f in fields]) for _, fields in RULES.values()
    )
    assert (satisfied >= 2).mean() > 0.3
    assert (satisfied == 1).sum() > 500  # pairs only a later rule finds, as well


def test_m_of_every_level_with_500_true_pairs_is_recovered(linked):
    result, kept = linked
    params = result.model.individual
    errors = {}
    for field, flags in kept.items():
        k = params.comparisons.index(COMPARISON[field])
        true_counts = np.array([flags.sum(), (~flags).sum()])
        true_m = true_counts / len(flags)
        for level, name in enumerate(params.levels[k]):
            if true_counts[level] >= 500:
                errors[f"{COMPARISON[field]}.{name}"] = params.m[k][level] - true_m[level]
    assert len(errors) == 8
    assert max(abs(e) for e in errors.values()) <= 0.05, errors


def test_sessions_are_reported_with_the_model(linked):
    result, _ = linked
    params = result.model.individual
    assert [s.name for s in params.sessions] == list(RULES)
    by_name = {s.name: s for s in params.sessions}
    assert by_name["zip_surname"].estimated == ("first_name", "taxonomy")
    assert by_name["surname_first"].estimated == ("location", "taxonomy")
    assert all(s.converged for s in params.sessions)
    assert params.warnings == () and result.report["em_warnings"] == []
    assert type(params).from_dict(params.to_dict()) == params


def test_a_comparison_pinned_by_every_rule_keeps_its_start_and_warns():
    records, _ = generate(n_entities=1_500, n_dup=500)
    base = _settings()
    rule = base.blocking_rules[0].model_copy(update={"keys": ("postal_code", "name_sorted")})
    settings = base.model_copy(update={"blocking_rules": (rule,)})
    params = link_records(records, settings=settings).model.individual
    for name in ("first_name", "last_name", "location"):
        k = params.comparisons.index(name)
        assert params.m[k] == (0.5, 0.5)
        assert any(repr(name) in w for w in params.warnings)
    assert params.m[params.comparisons.index("taxonomy")][0] > 0.7


def test_sure_pairs_on_a_realistic_file_get_a_high_probability():
    """Same given name, surname, address and ZIP: p > 0.9, in a file without identifiers.

    Without NPIs no labelled pair informs every comparison, so each one's m
    comes from the blocking rules alone (a referrer list, say).
    """
    from bench.linkage_data import generate as generate_realistic

    frame = generate_realistic(6_000, seed=7).drop(columns=["entity_id", "npi"])
    records = frame.set_axis([f"g{i}" for i in range(len(frame))])
    pairs = link_records(records, settings=LinkSettings.default()).pairs
    raw = records.reset_index(drop=True)

    def same(col: str) -> np.ndarray:
        a = raw[col].str.upper().to_numpy()[pairs["left_pos"]]
        b = raw[col].str.upper().to_numpy()[pairs["right_pos"]]
        return pd.notna(a) & (a == b)

    sure = same("first_name") & same("last_name") & same("address_1") & same("postal_code")
    assert sure.sum() > 100
    assert pairs["match_probability"][sure].min() > 0.9
