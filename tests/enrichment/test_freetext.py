"""Free-text referrer names linked to golden individuals, with confidence and alternatives."""

from __future__ import annotations

import pandas as pd
import pytest

from enrichment.freetext import match_free_text

GOLDEN = pd.DataFrame(
    {
        "provider_id": [1, 2, 3, 4],
        "first_name": ["ROBERT", "RACHEL", "JAMES", "ANNA"],
        "last_name": ["SMITH", "SMITH", "OKAFOR", "NGUYEN"],
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Bob Smith", 1),  # nickname
        ("SMITH, ROBERT MD", 1),  # "Last, First" with a credential
        ("Dr. J. Okafor", 3),  # an initial
        ("James Okafr", 3),  # a typo in the surname
        ("Dr. R. Smith", None),  # two Smiths with an R: ambiguous
        ("Dr. Nguyen", None),  # surname alone is too weak
        ("Dr. Zed Zebulon", None),  # nobody
    ],
)
def test_known_answers(text: str, expected: int | None) -> None:
    (match,) = match_free_text(pd.Series([text]), GOLDEN)
    assert match.provider_id == expected


def test_ambiguous_name_lists_both_candidates() -> None:
    (match,) = match_free_text(pd.Series(["Dr. R. Smith"]), GOLDEN)
    assert {pid for pid, _ in match.alternatives} == {1, 2}
    assert match.confidence >= 0.85


def test_linked_name_keeps_runner_up_as_alternative() -> None:
    (match,) = match_free_text(pd.Series(["Robert Smith"]), GOLDEN)
    assert match.provider_id == 1 and match.confidence == pytest.approx(1.0)
    assert [pid for pid, _ in match.alternatives] == [2]
