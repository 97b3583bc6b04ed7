"""EM recovers known m and lambda from simulated comparison vectors; u from random pairs.

Also: training sessions pooled, pinned comparisons kept, matches left out of u.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from enrichment.em import (
    KNOWN_MATCH,
    UNLABELLED,
    ModelParameters,
    TrainingSet,
    count_patterns,
    estimate_m,
    estimate_m_by_session,
    estimate_u,
    non_match_u,
    pattern_codes,
)
from enrichment.link_settings import EMSettings, LinkSettings

TRUE_M = [np.array([0.8, 0.15, 0.05]), np.array([0.7, 0.3]), np.array([0.9, 0.1])]
TRUE_U = [np.array([0.01, 0.04, 0.95]), np.array([0.05, 0.95]), np.array([0.2, 0.8])]


def _params(m, u) -> ModelParameters:
    return ModelParameters(
        comparisons=("a", "b", "c"),
        levels=(("x", "y", "else"), ("x", "else"), ("x", "else")),
        m=tuple(tuple(x) for x in m),
        u=tuple(tuple(x) for x in u),
        lam=0.01,
    )


def _draw(rng, probs, n):
    return np.stack([rng.choice(len(p), size=n, p=p) for p in probs], axis=1).astype(np.int8)


def test_em_recovers_m_with_u_fixed():
    rng = np.random.default_rng(1)
    matches, non = _draw(rng, TRUE_M, 20_000), _draw(rng, TRUE_U, 80_000)
    gamma = np.vstack([matches, non])
    labels = np.full(len(gamma), UNLABELLED, dtype=np.int8)
    start = _params([np.full(3, 1 / 3), [0.5, 0.5], [0.5, 0.5]], TRUE_U)
    fitted = estimate_m(
        gamma,
        np.ones_like(gamma, dtype=bool),
        labels,
        start,
        possible_pairs=1e7,
        em=EMSettings(prior_strength=0),
    )
    assert fitted.converged
    for got, want in zip(fitted.m, TRUE_M):
        assert np.allclose(got, want, atol=0.02)
    # lambda for random pairs: about 20,000 expected matches over 1e7 possible pairs
    assert fitted.lam == pytest.approx(2e-3, rel=0.05)


def test_masked_comparisons_and_labels():
    rng = np.random.default_rng(2)
    gamma = np.vstack([_draw(rng, TRUE_M, 5_000), _draw(rng, TRUE_U, 5_000)])
    labels = np.r_[np.full(5_000, KNOWN_MATCH), np.full(5_000, UNLABELLED)].astype(np.int8)
    mask = np.ones_like(gamma, dtype=bool)
    mask[:, 2] = False  # comparison c pinned by blocking: it must not move
    start = _params(TRUE_M, TRUE_U)
    fitted = estimate_m(gamma, mask, labels, start, possible_pairs=1e6, em=EMSettings())
    assert fitted.m[2] == pytest.approx(start.m[2])
    assert np.allclose(fitted.m[0], TRUE_M[0], atol=0.03)


def test_u_from_random_pairs_and_missing_levels():
    rng = np.random.default_rng(3)
    gamma = _draw(rng, TRUE_U, 50_000)
    gamma[:1000, 0] = -1  # missing sides are ignored
    fitted = estimate_u(
        gamma,
        _params(TRUE_M, [np.full(3, 1 / 3), [0.5, 0.5], [0.5, 0.5]]),
        em=EMSettings(prior_strength=0),
    )
    for got, want in zip(fitted.u, TRUE_U):
        assert np.allclose(got, want, atol=0.01)


def test_small_data_stays_near_the_starting_values():
    start = ModelParameters.start(LinkSettings.default().individual)
    gamma = np.zeros((3, len(start.comparisons)), dtype=np.int8)
    fitted = estimate_m(
        gamma,
        np.ones_like(gamma, dtype=bool),
        np.zeros(3, np.int8),
        start,
        possible_pairs=3,
        em=EMSettings(),
    )
    assert all(0 < x < 1 for m in fitted.m for x in m)
    assert all(np.isfinite(w).all() for w in fitted.weights())


def _patterns(gamma: np.ndarray, free=None, labels=None):
    informative = np.ones_like(gamma, dtype=bool)
    if free is not None:
        informative[:, ~np.asarray(free)] = False
    labels = np.zeros(len(gamma), np.int8) if labels is None else labels
    return count_patterns(pattern_codes(gamma, informative, labels, [3, 2, 2]))


def test_sessions_pool_by_expected_matches_and_pinned_comparisons_warn():
    rng = np.random.default_rng(4)
    start = _params([np.full(3, 1 / 3), [0.5, 0.5], [0.5, 0.5]], TRUE_U)
    gamma = np.vstack([_draw(rng, TRUE_M, 20_000), _draw(rng, TRUE_U, 20_000)])
    small = np.vstack([_draw(rng, TRUE_M, 200), _draw(rng, TRUE_U, 200)])
    small[:200, 0] = 2  # a biased little session: its matches all at the last level of a
    sets = [
        TrainingSet("big", _patterns(gamma, [True, True, False]), (True, True, False)),
        TrainingSet("small", _patterns(small, [True, False, False]), (True, False, False)),
    ]
    credited = [_patterns(gamma, [True, True, False])]
    fitted = estimate_m_by_session(
        sets, credited, start, possible_pairs=1e8, em=EMSettings(prior_strength=0)
    )
    assert np.allclose(fitted.m[0], TRUE_M[0], atol=0.03)  # 200 matches move it by 1 %
    assert np.allclose(fitted.m[1], TRUE_M[1], atol=0.02)
    assert fitted.m[2] == start.m[2] and "'c'" in fitted.warnings[0]
    assert [s.name for s in fitted.sessions] == ["big", "small"]
    assert fitted.sessions[0].matches == pytest.approx(20_000, rel=0.03)
    assert fitted.lam == pytest.approx(2e-4, rel=0.05)


def test_matches_among_random_pairs_do_not_count_in_u():
    start = _params(TRUE_M, [np.full(3, 1 / 3), [0.5, 0.5], [0.5, 0.5]])
    model = replace(start, u=tuple(tuple(x) for x in TRUE_U), lam=0.01)
    rng = np.random.default_rng(5)
    non = _draw(rng, TRUE_U, 9_900)
    sure = np.zeros((100, 3), np.int8)  # agreeing on everything: matches, 1 % of the pairs
    random = _patterns(np.vstack([non, sure]))
    u = non_match_u(random, model, start, em=EMSettings(prior_strength=0))
    raw = non_match_u(random, replace(model, lam=1e-12), start, em=EMSettings(prior_strength=0))
    assert u[1][0] == pytest.approx((non[:, 1] == 0).mean(), abs=0.002)
    assert raw[1][0] > u[1][0] + 0.008
