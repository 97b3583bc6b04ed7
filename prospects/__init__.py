"""Referral events, referrer tiers and explainable white-space prospect scoring.

Modules
-------
referrals
    Read referral events from a scheduling-system CSV export.
interactions
    The kinds of interaction (visit, call, email); read interactions from a CSV export.
terms
    The business terms, each defined once: referring, lapsed, active referrer, tier.
tiers
    Referral volume, tier (A/B/C) and trend per linked referrer.
profiles
    Versioned, immutable scoring profiles loaded from TOML.
specialties
    Specialty fit lookup and clinic-usable NUCC specialty groups.
scoring
    Vectorised, explainable prospect scoring.
"""

from prospects.profiles import ScoringProfile, load_profile, profile_from_dict, shipped_profiles
from prospects.referrals import ReferralRead, read_referral_events
from prospects.scoring import explain, score_prospects
from prospects.specialties import specialty_groups
from prospects.tiers import referrer_stats

__all__ = [
    "ReferralRead",
    "ScoringProfile",
    "explain",
    "load_profile",
    "profile_from_dict",
    "read_referral_events",
    "referrer_stats",
    "score_prospects",
    "shipped_profiles",
    "specialty_groups",
]
