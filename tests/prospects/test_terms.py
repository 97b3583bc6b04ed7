"""The business terms (prospects.terms) at their boundaries, and each term against its SQL bound."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InputError
from prospects.terms import (
    colleague_referring,
    days_before,
    in_window,
    is_active_referrer,
    is_lapsed,
    is_referring,
    last_referrals,
    tier_of,
    window_start,
)
from prospects.tiers import referrer_stats

AS_OF = date(2024, 6, 30)


def ago(*days: int | None) -> list[date | None]:
    return [None if d is None else AS_OF - timedelta(days=d) for d in days]


def test_window_holds_as_of_and_not_its_first_day_before() -> None:
    assert window_start(as_of=AS_OF, days=1) == AS_OF
    assert window_start(as_of=AS_OF, days=90) == date(2024, 4, 2)
    assert in_window(np.array([-1, 0, 89, 90, np.nan]), days=90).tolist() == [
        False,
        True,
        True,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("days", "referring", "lapsed", "active"),
    [
        (0, True, False, True),
        (89, True, False, True),
        (90, True, True, False),  # lapsed, still referring: a prospect again
        (364, True, True, False),
        (365, False, True, False),  # out of the referring window
        (800, False, True, False),
        (None, False, False, False),  # never referred: not lapsed either
        (-1, False, False, False),  # after as_of: not known yet
    ],
)
def test_terms_at_the_boundaries(
    days: int | None, referring: bool, lapsed: bool, active: bool
) -> None:
    last = ago(days)
    kw = {"as_of": AS_OF}
    assert is_referring(last, window_days=365, **kw).tolist() == [referring]
    assert is_lapsed(last, lapsed_days=90, **kw).tolist() == [lapsed]
    assert is_active_referrer(last, window_days=365, lapsed_days=90, **kw).tolist() == [active]


def test_dates_in_any_form() -> None:
    forms = [
        ago(3),
        pd.Series(ago(3)),
        np.array(ago(3), dtype="datetime64[D]"),
        ["2024-06-27"],
        [pd.Timestamp("2024-06-27 23:59")],
    ]
    assert [days_before(f, as_of=AS_OF).tolist() for f in forms] == [[3.0]] * len(forms)


def test_tiers() -> None:
    assert tier_of(np.array([0, 1, 5, 6, 23, 24]), tier_a_min=24, tier_b_min=6).tolist() == [
        None,
        "C",
        "C",
        "B",
        "B",
        "A",
    ]
    with pytest.raises(InputError) as info:
        tier_of(np.array([1]), tier_a_min=6, tier_b_min=6)
    assert info.value.problems[0].field == "tier_b_min"
    with pytest.raises(InputError):
        in_window(np.array([1]), days=0)


def test_last_referrals_ignore_what_came_after() -> None:
    events = pd.DataFrame(
        {"provider_id": [1, 1, 2, None], "referral_date": ago(10, -5) + ago(400, 1)}
    )
    assert last_referrals(events, as_of=AS_OF).to_dict() == {
        1: AS_OF - timedelta(days=10),
        2: AS_OF - timedelta(days=400),
    }


def test_a_colleague_is_someone_else() -> None:
    providers = pd.DataFrame({"provider_id": [1, 2, 3, 4], "organization_id": [10, 10, 20, None]})
    referrers = pd.DataFrame({"provider_id": [1, 3, 9], "organization_id": [10, 20, None]})
    assert colleague_referring(providers, referrers).tolist() == [False, True, False, False]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(min_value=-20, max_value=900), max_size=25),
    st.integers(1, 400),
    st.integers(1, 400),
)
def test_stats_and_sql_bounds_agree_with_the_terms(
    days_ago: list[int], window: int, lapse: int
) -> None:
    """referrer_stats' columns and the window_start bounds SQL uses say what the terms say."""
    lapse = min(lapse, window)  # as settings require
    events = pd.DataFrame({"provider_id": 1, "referral_date": ago(*days_ago)})
    stats = referrer_stats(events, as_of=AS_OF, window_days=window, tier_a_min=5, tier_b_min=2)
    last = max((AS_OF - timedelta(days=d) for d in days_ago if d >= 0), default=None)
    referring = is_referring([last], as_of=AS_OF, window_days=window)[0]
    lapsed = is_lapsed([last], as_of=AS_OF, lapsed_days=lapse)[0]
    assert referring == (last is not None and last >= window_start(as_of=AS_OF, days=window))
    assert lapsed == (last is not None and last < window_start(as_of=AS_OF, days=lapse))
    if last is None:
        assert stats.empty
        return
    row = stats.iloc[0]
    assert bool(row["referring"]) == referring
    assert row["last_referral"] == last
    assert (
        row["tier"] == tier_of(np.array([row["referrals_window"]]), tier_a_min=5, tier_b_min=2)[0]
    )
    assert (row["tier"] is not None) == referring
