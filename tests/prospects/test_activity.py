"""Tests for prospects.activity: counts by period, at-risk rules (boundaries), lapsed referrers."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from core.errors import InputError
from core.settings import AtRiskRule
from prospects.activity import at_risk_alerts, referral_counts
from prospects.terms import is_lapsed
from prospects.tiers import referrer_stats

AS_OF = date(2024, 6, 30)
RULE_A = AtRiskRule(name="a14", tier="A", days=14, max_referrals=0)


def history(**per_provider: list[date]) -> pd.DataFrame:
    rows = [(int(p[1:]), d) for p, dates in per_provider.items() for d in dates]
    return pd.DataFrame(rows, columns=["provider_id", "referral_date"])


def stats(events: pd.DataFrame) -> pd.DataFrame:
    return referrer_stats(events, as_of=AS_OF, window_days=365, tier_a_min=24, tier_b_min=6)


def tier_a_with_last(last: date) -> pd.DataFrame:
    """24 referrals (tier A) a month before ``last``, then one on ``last``."""
    return history(p1=[date(2024, 3, 1)] * 24 + [last])


@pytest.mark.parametrize(
    ("last", "fires"),
    [
        (AS_OF - timedelta(days=14), True),  # exactly 14 days before: outside (D-14, D]
        (AS_OF - timedelta(days=13), False),  # inside the window: not silent
        (AS_OF, False),
        (AS_OF + timedelta(days=1), True),  # after as_of: ignored
    ],
)
def test_tier_a_silent_14_days_boundary(last: date, fires: bool) -> None:
    events = tier_a_with_last(last)
    st = stats(events)
    assert st["tier"].tolist() == ["A"]
    alerts = at_risk_alerts(st, events, [RULE_A], as_of=AS_OF)
    assert (len(alerts) == 1) is fires
    if fires:
        h = alerts.iloc[0]["history"]
        assert h["referrals_in_rule_window"] == 0
        assert h["window"] == ["2024-06-17", "2024-06-30"]
        assert "tier A" in alerts.iloc[0]["message"]
        assert sum(m["referrals"] for m in h["monthly"]) == 24 + (last <= AS_OF)


def test_rule_applies_only_to_its_tier_and_max_referrals() -> None:
    # p1: tier B (6 in window), silent; p2: tier C, silent; p3: tier A with 1 recent referral
    events = history(
        p1=[date(2024, 1, 5)] * 6,
        p2=[date(2024, 1, 5)],
        p3=[date(2024, 2, 1)] * 24 + [date(2024, 6, 29)],
    )
    st = stats(events)
    assert dict(zip(st["provider_id"], st["tier"])) == {1: "B", 2: "C", 3: "A"}
    assert at_risk_alerts(st, events, [RULE_A], as_of=AS_OF).empty
    loose = AtRiskRule(name="a14-1", tier="A", days=14, max_referrals=1)
    assert at_risk_alerts(st, events, [loose], as_of=AS_OF)["provider_id"].tolist() == [3]
    anyone = AtRiskRule(name="any30", days=30)
    assert sorted(at_risk_alerts(st, events, [anyone], as_of=AS_OF)["provider_id"]) == [1, 2]


def test_counts_by_week_and_month_with_zero_periods() -> None:
    events = history(p7=[date(2024, 6, 3), date(2024, 6, 4), date(2024, 6, 30), date(2024, 4, 15)])
    weeks = referral_counts(events, as_of=AS_OF, period="week", periods=5)
    assert weeks["period_start"].tolist() == [
        date(2024, 5, 27) + timedelta(weeks=i) for i in range(5)
    ]
    assert weeks["referrals"].tolist() == [0, 2, 0, 0, 1]  # Monday 24 June week holds the 30th
    months = referral_counts(events, as_of=AS_OF, period="month", periods=3)
    assert months["referrals"].tolist() == [1, 0, 3]
    with pytest.raises(InputError):
        referral_counts(events, as_of=AS_OF, period="day")


@pytest.mark.parametrize(("days_ago", "lapsed"), [(89, False), (90, True), (200, True)])
def test_lapsed_boundary(days_ago: int, lapsed: bool) -> None:
    events = history(p1=[AS_OF - timedelta(days=days_ago)])
    assert is_lapsed(stats(events)["last_referral"], as_of=AS_OF, lapsed_days=90).tolist() == [
        lapsed
    ]
