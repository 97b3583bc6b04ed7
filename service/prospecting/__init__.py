"""Prospects and referrals: scoring, the prospect list, referral events, segments, workflow, CRM, briefs, backtests."""
