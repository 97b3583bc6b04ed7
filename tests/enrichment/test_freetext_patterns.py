"""Free-text referrers written after the committed patterns link right, rarely wrong.

The notes and the metro they name come from :mod:`bench.freetext_data` (which
knows nothing of the matcher); over all patterns, on each seed: at least 90% of
rows linked to the true provider, at most 1% linked to another one, and among the
rows sent to review the true provider among the top 3 candidates at least 80% of
the time. The per-pattern table is printed (``pytest -s``) and shown on failure.
"""

from __future__ import annotations

import pandas as pd
import pytest

from bench.freetext import outcomes, rates
from bench.freetext_data import PATTERNS, generate_world
from enrichment.freetext import match_free_text

#: The five patterns users reported, which the committed list must include.
REPORTED = {
    "last_first_cred": "Smith, John MD",
    "dr_initial_spec": "Dr. J Smith (ortho)",
    "first_last_practice": "Jane Smith (Riverside Ortho)",
    "dr_first_last_dash_practice": "Dr John Smith - Riverside",
    "surname_slash_practice": "smith/riverside",
}


def test_the_reported_patterns_are_in_the_list() -> None:
    assert set(REPORTED) <= set(PATTERNS)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_targets_over_generated_names(seed: int) -> None:
    world = generate_world(seed=seed, providers=4000, per_pattern=100)
    texts = pd.Series(world.rows["text"], dtype=object)
    table = rates(outcomes(world.rows, match_free_text(texts, world.golden, top=3)))
    shown = (100 * table[["linked_right", "wrong", "review_top3"]]).round(1).to_string()
    print(f"\nseed {seed}\n{shown}")
    total = table.loc["ALL"]
    assert total["linked_right"] >= 0.90, shown
    assert total["wrong"] <= 0.01, shown
    assert total["review_top3"] >= 0.80, shown
