"""Warnings about values add up across the chunks of one file (core.notices)."""

from __future__ import annotations

from core.notices import COLUMNS_IGNORED, VALUES_DROPPED, LoadWarning, Tally, merged


def test_the_same_warning_from_two_chunks_is_one_with_the_counts_added():
    first, second = Tally(), Tally()
    for value in ("12", "555-0100", "12"):
        first.add(VALUES_DROPPED, "not a phone number (left blank)", column="Phone", value=value)
    second.add(VALUES_DROPPED, "not a phone number (left blank)", column="Phone", value="x")
    kept: list[LoadWarning] = []
    for warning in [*first.warnings(file="a.csv"), *second.warnings(file="a.csv")]:
        merged(kept, warning)
    assert [(w.count, w.examples) for w in kept] == [(4, ("12", "555-0100", "x"))]
    assert str(kept[0]) == (
        "a.csv: Phone: not a phone number (left blank) (4 rows; e.g. '12', '555-0100', 'x')"
    )
    assert kept[0].to_dict()["count"] == 4


def test_warnings_without_counts_are_kept_once():
    warning = LoadWarning(code=COLUMNS_IGNORED, message="columns ignored: X", file="a.csv")
    kept = merged(merged([], warning), warning)
    assert kept == [warning] and str(warning) == "a.csv: columns ignored: X"
