"""Backtest on generated history whose behaviour is defined without the scoring formula.

The hidden rule: among prospects, exactly the orthopaedic surgeons within 5 km
start referring in the hidden period. Nobody else does. A profile that weighs
orthopaedics and proximity (imaging_mri) must then rank every new referrer
first (precision@k = 1 for k = their number, AUC = 1), distance alone cannot
(nearby radiologists are as close), and a random order averages the base rate.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError
from prospects.backtest import backtest, cutoff_date, prospects_at
from prospects.profiles import load_profile

AS_OF = date(2024, 12, 31)


def world(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, set[int]]:
    rng = np.random.default_rng(seed)
    rows, events, starters = [], [], set()
    for pid in range(1, 301):
        ortho = pid % 3 == 0
        km = float(rng.uniform(0.5, 4.5) if pid % 2 else rng.uniform(20, 40))
        rows.append(
            {
                "provider_id": pid,
                "taxonomy_code": "207X00000X" if ortho else "2085R0202X",
                "classification": None,
                "entity_type": "1",
                "drive_minutes": np.nan,
                "distance_km": km,
                "practice_size": 1,
                "organization_id": pid,
            }
        )
        if ortho and km < 5:
            starters.add(pid)
            events.append((pid, AS_OF - timedelta(days=int(rng.integers(1, 80)))))
    # established referrers (active at the cut-off: a referral in its last 90 days): not prospects
    for pid in range(301, 311):
        rows.append(
            {
                "provider_id": pid,
                "taxonomy_code": "207X00000X",
                "classification": None,
                "entity_type": "1",
                "drive_minutes": 2.0,
                "distance_km": 1.0,
                "practice_size": 1,
                "organization_id": pid,
            }
        )
        events += [(pid, date(2024, 8, 1)), (pid, date(2024, 12, 1))]
    return (
        pd.DataFrame(rows),
        pd.DataFrame(events, columns=["provider_id", "referral_date"]),
        starters,
    )


def test_known_answer() -> None:
    candidates, events, starters = world()
    k = len(starters)
    result = backtest(
        events,
        candidates,
        load_profile("imaging_mri"),
        as_of=AS_OF,
        hide_months=3,
        window_days=365,
        lapsed_days=90,
        k=k,
    )
    assert result.cutoff == date(2024, 9, 30)
    assert result.prospects == 300  # the 10 established referrers are left out
    assert result.started_referring == k
    by = {o.order.split(" (")[0].split(" ")[0]: o for o in result.orders}
    assert by["profile"].precision_at_k == 1.0 and by["profile"].auc == 1.0
    assert by["distance"].precision_at_k < 0.7  # nearby radiologists crowd the top
    assert 0.5 < by["distance"].auc < 0.9
    expected = next(o for o in result.orders if o.order == "random (expected)")
    assert expected.precision_at_k == pytest.approx(k / 300, abs=1e-4) and expected.auc == 0.5


def test_random_baseline_averages_base_rate() -> None:
    candidates, events, starters = world()
    precisions = [
        next(
            o
            for o in backtest(
                events,
                candidates,
                load_profile("imaging_mri"),
                as_of=AS_OF,
                hide_months=3,
                window_days=365,
                lapsed_days=90,
                k=30,
                seed=s,
            ).orders
            if o.order.startswith("random (seed")
        ).precision_at_k
        for s in range(40)
    ]
    assert np.mean(precisions) == pytest.approx(len(starters) / 300, abs=0.05)


def test_bad_arguments_listed() -> None:
    candidates, events, _ = world()
    with pytest.raises(InputError) as info:
        backtest(
            events,
            candidates.drop(columns="organization_id"),
            load_profile("imaging_mri"),
            as_of=AS_OF,
            hide_months=3,
            window_days=365,
            lapsed_days=90,
            k=0,
        )
    assert {p.field for p in info.value.problems} == {"organization_id", "k"}
    assert cutoff_date(date(2024, 5, 31), hide_months=3) == date(2024, 2, 29)


def test_pool_is_the_scoring_stages_prospects_at_the_cut_off() -> None:
    """Lapsed referrers are prospects again at the cut-off, as in the scoring stage.

    Before the terms were one definition the backtest kept out anyone with a
    referral in the 365-day window (101 and 102 here), while scoring lists a
    referrer lapsed for 90 days or more.
    """
    cutoff = date(2024, 9, 30)
    ages = {100: 89, 101: 90, 102: 364, 103: 365, 104: 800}  # days before the cut-off
    rows = [{"provider_id": p, "organization_id": None} for p in [*ages, 105]]  # 105: never refers
    events = pd.DataFrame(
        [(p, cutoff - timedelta(days=a)) for p, a in ages.items()]
        + [(100, cutoff + timedelta(days=1))],  # hidden: unknown at the cut-off
        columns=["provider_id", "referral_date"],
    )
    pool = prospects_at(events, pd.DataFrame(rows), cutoff=cutoff, window_days=365, lapsed_days=90)
    assert pool["provider_id"].tolist() == [101, 102, 103, 104, 105]


def test_warm_only_through_a_referring_colleague_anywhere() -> None:
    cutoff = date(2024, 9, 30)
    candidates = pd.DataFrame({"provider_id": [1, 2, 3], "organization_id": [7, 8, 9]})
    # 1: lapsed itself; 50 refers from org 8; 60 (org 9) no longer refers
    events = pd.DataFrame(
        {
            "provider_id": [1, 50, 60],
            "referral_date": [cutoff - timedelta(days=d) for d in (200, 10, 400)],
        }
    )
    elsewhere = pd.DataFrame({"provider_id": [50, 60], "organization_id": [8, 9]})
    pool = prospects_at(
        events, candidates, organizations=elsewhere, cutoff=cutoff, window_days=365, lapsed_days=90
    )
    assert pool["org_referring"].tolist() == [False, True, False]  # its own referrals do not warm 1
