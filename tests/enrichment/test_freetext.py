"""Free-text referrer names linked to golden individuals, with confidence and alternatives."""

from __future__ import annotations

import pandas as pd
import pytest

from enrichment.freetext import _Golden, match_free_text, parse_referrer

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


PRACTICES = pd.DataFrame(
    {
        "provider_id": [10, 11, 12, 13],
        "first_name": ["JANE", "JOHN", "JOHN", "JAMES"],
        "last_name": ["SMITH", "SMITH", "SMITH", "SMITH"],
        "classification": ["Orthopaedic Surgery", "Family Medicine", "Pediatrics", "Pediatrics"],
        "practice": [
            "Riverside Orthopaedics, Inc.",
            "Riverside Family Practice",
            "Northside Pediatrics",
            None,
        ],
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jane Smith (Riverside Ortho)", 10),
        ("Dr. J Smith (ortho)", 10),
        ("Dr John Smith - Riverside", 11),  # the practice tells the two John Smiths apart
        ("Smith, John MD (peds)", 12),
        ("smith/northside", 12),
        ("SMITH J", None),  # four J Smiths
        ("smith/riverside", None),  # two Smiths at a Riverside practice
        ("Dr Smith - Riverside Ortho", 10),
    ],
)
def test_practice_and_specialty_hints(text: str, expected: int | None) -> None:
    (match,) = match_free_text(pd.Series([text]), PRACTICES)
    assert match.provider_id == expected


def test_reported_patterns_parse() -> None:
    vocab = _Golden(PRACTICES).vocab
    got = parse_referrer("Dr. J Smith (ortho)", vocab)
    assert (got.surname, got.given, got.specialty) == ("SMITH", "J", "ORTHOPAEDIC SURGERY")
    got = parse_referrer("Smith, John MD", vocab)
    assert (got.surname, got.given, got.practices) == ("SMITH", "JOHN", ())
    got = parse_referrer("Dr John Smith - Riverside", vocab)
    assert (got.surname, got.given, got.practices[0].full) == ("SMITH", "JOHN", "RIVERSIDE")
    got = parse_referrer("smith/riverside", vocab)
    assert (got.surname, got.given, got.practices[0].full) == ("SMITH", "", "RIVERSIDE")
    got = parse_referrer("Jane Smith (Riverside Ortho)", vocab)
    assert got.practices[0].place == "RIVERSIDE" and got.soft_specialty == "ORTHOPAEDIC SURGERY"
