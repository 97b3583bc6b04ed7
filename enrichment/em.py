"""Fellegi-Sunter parameters (m, u, lambda) estimated by expectation maximisation.

The model: a candidate pair is a match with probability ``lambda``; given its
class, the comparisons' levels are independent, with level probabilities
``m[k][l]`` (matches) and ``u[k][l]`` (non-matches). A missing side (level
``-1``) contributes nothing. EM (Winkler 1988; as in Splink) alternates the
posterior match probability of each pair (E step) with the weighted level
frequencies (M step) until no parameter moves by more than ``tolerance``.

Pairs are grouped by their comparison vector first (``numpy.unique`` over a
mixed-radix code), so each iteration costs O(distinct vectors), not O(pairs):
millions of pairs reduce to a few thousand patterns.

Exact identifiers make the estimation semi-supervised: pairs with an equal
identifier are known matches and pairs with two different identifiers of one
kind known non-matches; their class is clamped (not estimated) in every
E step, which anchors the match class on real matches. ``lambda`` is estimated
on the unlabelled pairs only, since those are the ones it is used to score.
Starting values come from the settings file, so the match class starts as the
one with high name agreement. They also act as a Dirichlet prior worth
``prior_strength`` pairs (maximum a posteriori EM): with millions of pairs the
data decide, while a handful of pairs cannot drive a probability to 0 or 1.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        P(match) for an unlabelled candidate pair.
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
        return {"comparisons": list(self.comparisons), "levels": [list(x) for x in self.levels],
                "m": [list(x) for x in self.m], "u": [list(x) for x in self.u],
                "lam": self.lam, "iterations": self.iterations, "converged": self.converged}

    @classmethod
    def from_dict(cls, data: dict) -> ModelParameters:
        return cls(comparisons=tuple(data["comparisons"]),
                   levels=tuple(tuple(x) for x in data["levels"]),
                   m=tuple(tuple(x) for x in data["m"]), u=tuple(tuple(x) for x in data["u"]),
                   lam=float(data["lam"]), iterations=int(data.get("iterations", 0)),
                   converged=bool(data.get("converged", False)))


def _patterns(gamma: np.ndarray, labels: np.ndarray,
              n_levels: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (comparison vector, label) rows and their counts."""
    code = labels.astype(np.int64)
    stride = 3
    for k, size in enumerate(n_levels):
        code = code + (gamma[:, k].astype(np.int64) + 1) * stride
        stride *= size + 1
    uniq, counts = np.unique(code, return_counts=True)
    lab = uniq % 3
    rest = uniq // 3
    rows = np.empty((len(uniq), len(n_levels)), dtype=np.int64)
    for k, size in enumerate(n_levels):
        rows[:, k] = rest % (size + 1) - 1
        rest //= size + 1
    return rows, lab, counts.astype(float)


def estimate(gamma: np.ndarray, labels: np.ndarray, start: ModelParameters, *,
             em: EMSettings) -> ModelParameters:
    """Estimate m, u and lambda from the level matrix of candidate pairs.

    Parameters
    ----------
    gamma
        Levels, ``(pairs, comparisons)``, ``-1`` = missing side.
    labels
        Per pair: :data:`UNLABELLED`, :data:`KNOWN_MATCH` or :data:`KNOWN_NON_MATCH`.
    start
        Starting parameters (also the shape: comparisons and levels).
    em
        Iteration limit, tolerance and probability floor.
    """
    n_levels = [len(x) for x in start.levels]
    if len(gamma) == 0:
        return start
    rows, lab, counts = _patterns(gamma, labels, n_levels)
    m = [np.array(x) for x in start.m]
    u = [np.array(x) for x in start.u]
    lam = start.lam
    alpha = em.prior_strength
    m0, u0, lam0 = [a.copy() for a in m], [a.copy() for a in u], lam
    unl = lab == UNLABELLED
    converged = False
    it = 0
    for it in range(1, em.max_iterations + 1):
        log_m = np.zeros(len(rows))
        log_u = np.zeros(len(rows))
        for k in range(len(n_levels)):
            present = rows[:, k] >= 0
            log_m[present] += np.log(m[k][rows[present, k]])
            log_u[present] += np.log(u[k][rows[present, k]])
        a = np.log(lam) + log_m
        b = np.log1p(-lam) + log_u
        post = 1.0 / (1.0 + np.exp(np.clip(b - a, -700, 700)))
        post[lab == KNOWN_MATCH] = 1.0
        post[lab == KNOWN_NON_MATCH] = 0.0
        wm, wu = counts * post, counts * (1.0 - post)
        new_m, new_u = [], []
        for k, size in enumerate(n_levels):
            present = rows[:, k] >= 0
            mk = np.bincount(rows[present, k], weights=wm[present], minlength=size)
            uk = np.bincount(rows[present, k], weights=wu[present], minlength=size)
            mk = np.maximum((mk + alpha * m0[k]) / (mk.sum() + alpha), em.floor)
            uk = np.maximum((uk + alpha * u0[k]) / (uk.sum() + alpha), em.floor)
            new_m.append(mk / mk.sum())
            new_u.append(uk / uk.sum())
        new_lam = float((wm[unl].sum() + alpha * lam0) / (counts[unl].sum() + alpha))
        new_lam = min(max(new_lam, em.floor), 1 - em.floor)
        delta = max(
            max(float(np.abs(x - y).max()) for x, y in zip(new_m + new_u, m + u)),
            abs(new_lam - lam),
        )
        m, u, lam = new_m, new_u, new_lam
        if delta < em.tolerance:
            converged = True
            break
    return ModelParameters(
        comparisons=start.comparisons, levels=start.levels,
        m=tuple(tuple(float(x) for x in a) for a in m),
        u=tuple(tuple(float(x) for x in a) for a in u),
        lam=lam, iterations=it, converged=converged,
    )
