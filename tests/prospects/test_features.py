"""Point-in-time features: no look-ahead, the terms' prospects, windows as documented."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError
from prospects.features import monthly_cutoffs, provider_months


def _providers(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "provider_id": np.arange(1, n + 1),
            "classification": ["Family Medicine"] * n,
            "specialty_fit": 0.5,
            "organization_id": [10, 10, 10, 20, np.nan, 20][:n],
            "practice_size": [3, 3, 3, 2, np.nan, 2][:n],
            "drive_minutes": np.linspace(5, 30, n),
            "drive_estimated": False,
            "is_organisation": False,
        }
    )


def _events(rows: list[tuple[int, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["provider_id", "referral_date"]).assign(
        referral_date=lambda f: pd.to_datetime(f["referral_date"]).dt.date
    )


def _contacts(rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["provider_id", "occurred_at", "kind"]).assign(
        occurred_at=lambda f: pd.to_datetime(f["occurred_at"], utc=True)
    )


REFERRALS = _events(
    [(1, "2024-01-10"), (1, "2024-02-01"), (2, "2024-05-20"), (4, "2024-06-03"), (5, "2024-09-01")]
)
CONTACTS = _contacts(
    [(3, "2024-05-25", "visit"), (3, "2024-04-10", "call"), (3, "2024-06-15", "email"),
     (6, "2024-03-15", "Visit")]
)  # fmt: skip


def _build(referrals: pd.DataFrame, contacts: pd.DataFrame, end: date | None) -> pd.DataFrame:
    return provider_months(
        providers=_providers(),
        referrals=referrals,
        interactions=contacts,
        cutoffs=[date(2024, 5, 31)],
        window_days=365,
        lapsed_days=90,
        horizon_months=6,
        history_end=end,
    )


def test_features_at_a_cutoff_do_not_see_later_events() -> None:
    later_refs = pd.concat([REFERRALS, _events([(3, "2024-06-01"), (6, "2025-02-01")])])
    later_contacts = pd.concat([CONTACTS, _contacts([(3, "2024-06-01", "visit")])])
    a = _build(REFERRALS, CONTACTS, None).drop(columns="started")
    b = _build(later_refs, later_contacts, None).drop(columns="started")
    pd.testing.assert_frame_equal(a, b)


def test_rows_are_the_prospects_at_the_cutoff() -> None:
    rows = _build(REFERRALS, CONTACTS, date(2024, 12, 31)).set_index("provider_id")
    # 2 referred on 20 May (11 days before): an active referrer, not a prospect
    assert 2 not in rows.index
    # 1 referred in January and February: lapsed, a prospect again, and referred before
    assert rows.loc[1, "referred_before"]
    assert rows.loc[1, "months_since_referral"] == pytest.approx(120 / (365.25 / 12))
    assert rows.loc[1, "past_referrals"] == 2
    # 3's colleagues: 2 (referring, last 91 days) and 1 (in the year, not the last 91 days)
    assert rows.loc[3, "colleagues_3m"] == 1
    assert rows.loc[3, "colleagues_12m"] == 2
    assert rows.loc[1, "colleagues_12m"] == 1  # its own referrals do not count
    assert rows.loc[3, ["visits_30d", "calls_30d", "calls_90d", "emails_90d"]].tolist() == [
        1,
        0,
        1,
        0,
    ]
    assert rows.loc[6, "visits_90d"] == 1  # kinds are read case-blind
    assert rows.loc[3, "days_since_contact"] == 6
    # labels: 4 and 5 referred within six months of the cut-off
    assert rows["started"].to_dict() == {1: 0.0, 3: 0.0, 4: 1.0, 5: 1.0, 6: 0.0}


def test_label_is_unknown_when_the_horizon_passes_the_history() -> None:
    rows = _build(REFERRALS, CONTACTS, date(2024, 10, 31))
    assert rows["started"].isna().all()


def test_monthly_cutoffs_are_month_ends() -> None:
    assert monthly_cutoffs(first=date(2024, 1, 15), last=date(2024, 4, 30)) == [
        date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)
    ]  # fmt: skip
    with pytest.raises(InputError):
        monthly_cutoffs(first=date(2024, 5, 1), last=date(2024, 4, 1))


def test_missing_columns_are_listed_at_once() -> None:
    with pytest.raises(InputError) as err:
        provider_months(
            providers=_providers().drop(columns=["drive_minutes", "specialty_fit"]),
            referrals=REFERRALS.drop(columns="referral_date"),
            interactions=CONTACTS,
            cutoffs=[date(2024, 5, 31)],
            window_days=365,
            lapsed_days=90,
            horizon_months=6,
        )
    assert {p.field for p in err.value.problems} == {
        "drive_minutes",
        "specialty_fit",
        "referral_date",
    }


def test_competitor_minutes_pass_through_and_are_unknown_without_a_list() -> None:
    providers = _providers().assign(
        competitor_minutes=[3.0, 8.0, 12.0, 25.0, 40.0, 6.5],
        competitor_estimated=[False, False, True, False, False, False],
    )
    rows = provider_months(
        providers=providers, referrals=REFERRALS, interactions=CONTACTS,
        cutoffs=[date(2024, 4, 30), date(2024, 5, 31)], window_days=365, lapsed_days=90,
        horizon_months=6, history_end=date(2024, 12, 31),
    ).set_index(["cutoff", "provider_id"])  # fmt: skip
    # a static attribute: the same at every cut-off, whatever is known then
    may = rows.loc[(date(2024, 5, 31), 3)]
    assert (may["competitor_minutes"], may["competitor_estimated"]) == (12.0, True)
    assert rows.loc[(date(2024, 4, 30), 3), "competitor_minutes"] == 12.0
    without = _build(REFERRALS, CONTACTS, None)
    assert without["competitor_minutes"].isna().all()  # no list: unknown, not far
    assert not without["competitor_estimated"].any()
    # no look-ahead is unaffected: later events change no row, competitors or not
    later = pd.concat([REFERRALS, _events([(3, "2024-06-01")])])
    a, b = (
        provider_months(
            providers=providers, referrals=refs, interactions=CONTACTS,
            cutoffs=[date(2024, 5, 31)], window_days=365, lapsed_days=90, horizon_months=6,
        ).drop(columns="started")
        for refs in (REFERRALS, later)
    )  # fmt: skip
    pd.testing.assert_frame_equal(a, b)
