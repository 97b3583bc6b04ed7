"""Tests for prospects.tiers (referral volume, tiers, trend)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InputError
from prospects.tiers import STATS_COLUMNS, referrer_stats

AS_OF = date(2024, 6, 30)
RULES = {"as_of": AS_OF, "window_days": 365, "tier_a_min": 24, "tier_b_min": 6}


def history(provider: object, days_ago: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "provider_id": [provider] * len(days_ago),
            "referral_date": [AS_OF - timedelta(d) for d in days_ago],
        }
    )


def stats_for(events: pd.DataFrame, **overrides: object) -> pd.DataFrame:
    return referrer_stats(events, **{**RULES, **overrides}).set_index("provider_id")


def test_output_columns_and_one_row_per_provider() -> None:
    events = pd.concat([history("p1", [1, 2]), history("p2", [3])])
    out = referrer_stats(events, **RULES)
    assert list(out.columns) == list(STATS_COLUMNS)
    assert out["provider_id"].tolist() == ["p1", "p2"]


def test_window_boundaries() -> None:
    out = stats_for(
        pd.concat(
            [
                history("today", [0]),  # on as_of: inside
                history("edge", [365]),  # exactly window_days ago: outside
                history("just_in", [364]),
                history("future", [-1]),  # after as_of: ignored everywhere
            ]
        )
    )
    assert out.loc["today", "referrals_window"] == 1
    assert out.loc["edge", "referrals_window"] == 0
    assert out.loc["edge", "referrals_total"] == 1
    assert not out.loc["edge", "referring"]
    assert out.loc["edge", "tier"] is None
    assert out.loc["just_in", "tier"] == "C"
    assert "future" not in out.index


def test_tier_thresholds_are_inclusive() -> None:
    events = pd.concat(
        [
            history("a", list(range(24))),
            history("a_minus", list(range(23))),
            history("b", list(range(6))),
            history("c", list(range(5))),
        ]
    )
    out = stats_for(events)
    assert out["tier"].to_dict() == {"a": "A", "a_minus": "B", "b": "B", "c": "C"}
    assert out.loc["a", "referrals_window"] == 24


def test_missing_provider_ids_are_ignored_and_dates_reported() -> None:
    events = pd.concat([history("p", [10, 400]), history(np.nan, [1, 2, 3])])
    out = stats_for(events)
    assert list(out.index) == ["p"]
    row = out.loc["p"]
    assert row["referrals_total"] == 2 and row["referrals_window"] == 1
    assert row["first_referral"] == AS_OF - timedelta(400)
    assert row["last_referral"] == AS_OF - timedelta(10)


def test_trend_up_flat_down() -> None:
    events = pd.concat(
        [
            # last 30 days: 6; days 30..119: 6 -> avg 2/month -> up
            history("up", [1, 2, 3, 4, 5, 6, 40, 50, 60, 70, 80, 90]),
            # 2 recent vs avg 2 -> flat
            history("flat", [1, 2, 40, 50, 60, 70, 80, 90]),
            # none recent vs avg 2 -> down
            history("down", [40, 50, 60, 70, 80, 90]),
            # day 30 belongs to the baseline, day 120 to neither: 0 vs avg 1 -> down
            history("edges", [30, 30, 30, 120, 120, 120]),
        ]
    )
    out = stats_for(events)
    assert out["trend"].to_dict() == {"down": "down", "edges": "down", "flat": "flat", "up": "up"}
    assert out.loc["up", "last_30d"] == 6
    assert out.loc["up", "prev_90d_monthly_avg"] == pytest.approx(2.0)
    assert out.loc["edges", "last_30d"] == 0
    assert out.loc["edges", "prev_90d_monthly_avg"] == pytest.approx(1.0)


def test_single_recent_referral_is_not_a_trend_change() -> None:
    # 1 vs 0.67 is > 25 % more but less than one referral: flat
    out = stats_for(history("p", [1, 40, 50]))
    assert out.loc["p", "trend"] == "flat"


def test_string_and_datetime_dates_are_accepted() -> None:
    events = pd.DataFrame({"provider_id": [1, 1], "referral_date": ["2024-06-30", "2024-06-01"]})
    assert stats_for(events).loc[1, "last_30d"] == 2
    events["referral_date"] = pd.to_datetime(events["referral_date"])
    assert stats_for(events).loc[1, "last_30d"] == 2


def test_invalid_arguments_list_every_problem() -> None:
    events = pd.DataFrame({"provider_id": [1]})
    with pytest.raises(InputError) as info:
        referrer_stats(events, as_of=AS_OF, window_days=0, tier_a_min=5, tier_b_min=5)
    fields = {p.field for p in info.value.problems}
    assert fields == {"referral_date", "window_days", "tier_b_min"}


def test_bad_dates_are_named() -> None:
    events = pd.DataFrame({"provider_id": [1, 2], "referral_date": ["2024-01-01", "not a date"]})
    with pytest.raises(InputError) as info:
        referrer_stats(events, **RULES)
    assert info.value.problems[0].value == "not a date"


def test_bad_numbers_are_named_together() -> None:
    # a float day count, a bool threshold and a NaN tolerance (which used to pass)
    with pytest.raises(InputError) as info:
        referrer_stats(
            history("p", [1]),
            **{**RULES, "window_days": 365.0, "tier_a_min": True, "trend_tolerance": float("nan")},
        )
    assert [p.field for p in info.value.problems] == [
        "window_days",
        "tier_a_min",
        "trend_tolerance",
    ]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=-30, max_value=800), max_size=60), st.integers(1, 400))
def test_counts_match_a_direct_count(days_ago: list[int], window: int) -> None:
    events = history("p", days_ago)
    out = referrer_stats(events, as_of=AS_OF, window_days=window, tier_a_min=24, tier_b_min=6)
    past = [d for d in days_ago if d >= 0]
    if not past:
        assert out.empty
        return
    row = out.iloc[0]
    in_window = sum(1 for d in past if d < window)
    assert row["referrals_window"] == in_window
    assert row["referrals_total"] == len(past)
    assert row["last_30d"] == sum(1 for d in past if d < 30)
    expected_tier = (
        "A" if in_window >= 24 else "B" if in_window >= 6 else "C" if in_window else None
    )
    assert row["tier"] == expected_tier
    assert row["referring"] == (in_window >= 1)
