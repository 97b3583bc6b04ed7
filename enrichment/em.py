"""Fellegi-Sunter parameters (m, u, lambda) estimated from the data.

The model: two records are one provider with probability ``lambda``; given
their class, the comparisons' levels are independent, with level
probabilities ``m[k][l]`` (matches) and ``u[k][l]`` (non-matches). A missing
side (level ``-1``) contributes nothing. Estimation follows Splink's recipe:

* ``u`` from **random record pairs** (:func:`estimate_u`): nearly all random
  pairs are non-matches, so level frequencies among them are ``u``;
* ``m`` by **expectation maximisation** over the candidate pairs with ``u``
  fixed (:func:`estimate_m`). A pair found by a blocking rule agrees on the
  rule's keys *because* it was selected, so the comparisons built on those
  keys are left out of that pair's likelihood (``informative`` mask), as
  Splink does per training blocking rule. Pairs are grouped by their
  (masked) comparison vector first, so an iteration costs O(distinct vectors);
* exact identifiers make it semi-supervised: an equal identifier is a known
  match, two different ones a known non-match; their class is clamped;
* ``lambda`` — the probability that two *random* records match, the prior of
  the match weight — is the expected number of matches among the candidates
  (sum of posteriors) over the number of possible pairs.

Starting values come from the settings file and act as a Dirichlet prior
worth ``prior_strength`` pairs (maximum a posteriori), so a handful of pairs
cannot drive a probability to 0 or 1, while millions of pairs decide alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from enrichment.link_settings import EMSettings, EntityModel

UNLABELLED, KNOWN_MATCH, KNOWN_NON_MATCH = 0, 1, 2


@dataclass(frozen=True)
class ModelParameters:
    """m, u per comparison level and lambda of one entity type.

    Attributes
    ----------
    comparisons
        Comparison names, in settings order.
    levels
        Level names per comparison.
    m, u
        Level probabilities per comparison (each sums to 1).
    lam
        P(two random records of this entity type match): the match-weight prior.
    iterations, converged
        How the estimate was reached (0 and ``False`` for starting values).
    """

    comparisons: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    m: tuple[tuple[float, ...], ...]
    u: tuple[tuple[float, ...], ...]
    lam: float
    iterations: int = 0
    converged: bool = False

    @classmethod
    def start(cls, model: EntityModel) -> ModelParameters:
        """The settings' starting values (normalised to sum to 1)."""
        m = [np.array([lv.m for lv in c.levels]) for c in model.comparisons]
        u = [np.array([lv.u for lv in c.levels]) for c in model.comparisons]
        return cls(
            comparisons=tuple(c.name for c in model.comparisons),
            levels=tuple(tuple(lv.name for lv in c.levels) for c in model.comparisons),
            m=tuple(tuple(float(x) for x in a / a.sum()) for a in m),
            u=tuple(tuple(float(x) for x in a / a.sum()) for a in u),
            lam=model.prior,
        )

    def weights(self) -> list[np.ndarray]:
        """``log2(m / u)`` per comparison, with a trailing 0 for the null level (index -1)."""
        return [np.r_[np.log2(np.array(m) / np.array(u)), 0.0] for m, u in zip(self.m, self.u)]

    @property
    def prior_weight(self) -> float:
        return float(np.log2(self.lam / (1.0 - self.lam)))

    def match_weight(self, gamma: np.ndarray) -> np.ndarray:
        """Prior weight plus level weights of each row of a level matrix."""
        total = np.full(len(gamma), self.prior_weight)
        for k, w in enumerate(self.weights()):
            total += w[gamma[:, k]]
        return total

    def to_dict(self) -> dict:
        return {
            "comparisons": list(self.comparisons),
            "levels": [list(x) for x in self.levels],
            "m": [list(x) for x in self.m],
            "u": [list(x) for x in self.u],
            "lam": self.lam,
            "iterations": self.iterations,
            "converged": self.converged,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ModelParameters:
        return cls(
            comparisons=tuple(data["comparisons"]),
            levels=tuple(tuple(x) for x in data["levels"]),
            m=tuple(tuple(x) for x in data["m"]),
            u=tuple(tuple(x) for x in data["u"]),
            lam=float(data["lam"]),
            iterations=int(data.get("iterations", 0)),
            converged=bool(data.get("converged", False)),
        )


def _level_freq(
    rows: np.ndarray, weights: np.ndarray, size: int, start: np.ndarray, alpha: float, floor: float
) -> np.ndarray:
    present = rows >= 0
    freq = np.bincount(rows[present], weights=weights[present], minlength=size)
    out = np.maximum((freq + alpha * start) / (freq.sum() + alpha), floor)
    return out / out.sum()


def estimate_u(
    gamma_random: np.ndarray, start: ModelParameters, *, em: EMSettings
) -> ModelParameters:
    """``u`` from the levels of random record pairs (``m`` and ``lambda`` kept)."""
    if len(gamma_random) == 0:
        return start
    ones = np.ones(len(gamma_random))
    u = tuple(
        tuple(
            float(x)
            for x in _level_freq(
                gamma_random[:, k].astype(np.int64),
                ones,
                len(levels),
                np.array(start.u[k]),
                em.prior_strength,
                em.floor,
            )
        )
        for k, levels in enumerate(start.levels)
    )
    return replace(start, u=u)


def pattern_codes(
    gamma: np.ndarray, informative: np.ndarray, labels: np.ndarray, n_levels: list[int]
) -> np.ndarray:
    """One integer per pair for its (masked comparison vector, label): what EM counts."""
    masked = np.where(informative, gamma, -1).astype(np.int64)
    code = labels.astype(np.int64)
    stride = 3
    for k, size in enumerate(n_levels):
        code = code + (masked[:, k] + 1) * stride
        stride *= size + 1
    return code


def count_patterns(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct pattern codes (ascending) and their counts; chunks' counts add up exactly."""
    return np.unique(codes, return_counts=True)


def merge_pattern_counts(
    parts: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Counts of several chunks as one: the same as :func:`count_patterns` of all pairs."""
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    codes = np.concatenate([c for c, _ in parts])
    counts = np.concatenate([n for _, n in parts])
    uniq, inverse = np.unique(codes, return_inverse=True)
    return uniq, np.bincount(inverse, weights=counts, minlength=len(uniq)).astype(np.int64)


def _decode(
    uniq: np.ndarray, counts: np.ndarray, n_levels: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (masked comparison vector, label) rows and their counts."""
    lab = uniq % 3
    rest = uniq // 3
    rows = np.empty((len(uniq), len(n_levels)), dtype=np.int64)
    for k, size in enumerate(n_levels):
        rows[:, k] = rest % (size + 1) - 1
        rest //= size + 1
    return rows, lab, counts.astype(float)


def estimate_m(
    gamma: np.ndarray,
    informative: np.ndarray,
    labels: np.ndarray,
    params: ModelParameters,
    *,
    possible_pairs: float,
    em: EMSettings,
) -> ModelParameters:
    """``m`` by EM with ``u`` fixed, then ``lambda`` for random pairs.

    Parameters
    ----------
    gamma
        Levels of the candidate pairs, ``(pairs, comparisons)``, ``-1`` = missing side.
    informative
        Same shape, bool: whether a comparison may inform a pair (``False``
        for comparisons on the keys of the blocking rule that found it).
    labels
        Per pair: :data:`UNLABELLED`, :data:`KNOWN_MATCH` or :data:`KNOWN_NON_MATCH`.
    params
        Starting ``m`` (also the Dirichlet prior), and the fixed ``u``.
    possible_pairs
        Number of record pairs of this entity type, ``n (n - 1) / 2``.
    em
        Iteration limit, tolerance, floor and prior strength.
    """
    n_levels = [len(x) for x in params.levels]
    patterns = count_patterns(pattern_codes(gamma, informative, labels, n_levels))
    return estimate_m_from_patterns(patterns, params, possible_pairs=possible_pairs, em=em)


def estimate_m_from_patterns(
    patterns: tuple[np.ndarray, np.ndarray],
    params: ModelParameters,
    *,
    possible_pairs: float,
    em: EMSettings,
) -> ModelParameters:
    """:func:`estimate_m` from pattern counts (:func:`count_patterns`, merged over chunks)."""
    n_levels = [len(x) for x in params.levels]
    if len(patterns[0]) == 0:
        return params
    rows, lab, counts = _decode(*patterns, n_levels)
    m0 = [np.array(x) for x in params.m]
    m = [a.copy() for a in m0]
    log_u_rows = np.zeros(len(rows))
    for k in range(len(n_levels)):
        present = rows[:, k] >= 0
        log_u_rows[present] += np.log(np.array(params.u[k]))[rows[present, k]]
    lam = 0.5  # nuisance: P(match) among candidates, estimated alongside m
    converged, it, post = False, 0, np.zeros(len(rows))
    for it in range(1, em.max_iterations + 1):  # noqa: B007 (reported after the loop)
        log_m = np.zeros(len(rows))
        for k in range(len(n_levels)):
            present = rows[:, k] >= 0
            log_m[present] += np.log(m[k][rows[present, k]])
        diff = (np.log1p(-lam) + log_u_rows) - (np.log(lam) + log_m)
        post = 1.0 / (1.0 + np.exp(np.clip(diff, -700, 700)))
        post[lab == KNOWN_MATCH] = 1.0
        post[lab == KNOWN_NON_MATCH] = 0.0
        wm = counts * post
        new_m = [
            _level_freq(rows[:, k], wm, size, m0[k], em.prior_strength, em.floor)
            for k, size in enumerate(n_levels)
        ]
        unl = lab == UNLABELLED
        new_lam = float(
            min(max(wm[unl].sum() / max(counts[unl].sum(), 1.0), em.floor), 1 - em.floor)
        )
        delta = max(max(float(np.abs(x - y).max()) for x, y in zip(new_m, m)), abs(new_lam - lam))
        m, lam = new_m, new_lam
        if delta < em.tolerance:
            converged = True
            break
    expected = float((counts * post).sum())
    lam_random = min(max(expected / max(possible_pairs, 1.0), 1e-12), 0.5)
    return replace(
        params,
        m=tuple(tuple(float(x) for x in a) for a in m),
        lam=lam_random,
        iterations=it,
        converged=converged,
    )
