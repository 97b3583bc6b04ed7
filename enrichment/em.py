"""Fellegi-Sunter parameters (m, u, lambda) estimated from the data.

The model: two records are one provider with probability ``lambda``; given
their class, the comparisons' levels are independent, with level
probabilities ``m[k][l]`` (matches) and ``u[k][l]`` (non-matches). A missing
side (level ``-1``) contributes nothing. Estimation follows Splink's recipe:

* ``u`` from **random record pairs** (:func:`estimate_u`): nearly all random
  pairs are non-matches, so level frequencies among them are ``u``;
* ``m`` by **expectation maximisation, one training session per blocking
  rule**, with ``u`` fixed (:func:`estimate_m_by_session`). A session's pairs
  are *all* the candidate pairs that satisfy its rule, whichever rule found
  them first; they agree on the rule's keys *because* they were selected, so
  the comparisons built on those keys are fixed (masked) in that session and
  only the others are estimated. Crediting each pair to one rule instead would
  bias ``m``: the pairs a later rule adds are exactly those an earlier rule
  missed, so among them the earlier rule's fields rarely agree. A
  comparison's final ``m`` pools the sessions that estimated it (see
  :func:`pool_sessions`); one that every rule pins keeps its starting value,
  with a warning. Pairs are grouped by their (masked) comparison vector
  first, so an iteration costs O(distinct vectors);
* exact identifiers make it semi-supervised: an equal identifier is a known
  match, two different ones a known non-match; their class is clamped;
* ``lambda`` — the probability that two *random* records match, the prior of
  the match weight — is the expected number of matches among the candidates
  over the number of possible pairs. The expectation is a final EM over
  every candidate pair with the pooled ``m`` and ``u`` fixed: each pair's
  vector masked by the fields pinned by the rule that found it and by the
  earlier rules it escaped, only the share of matches iterated, per finding
  rule (:func:`candidate_lambda`).

Starting values come from the settings file and act as a Dirichlet prior
worth ``prior_strength`` pairs (maximum a posteriori), so a handful of pairs
cannot drive a probability to 0 or 1, while millions of pairs decide alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from enrichment.link_settings import EMSettings, EntityModel

UNLABELLED, KNOWN_MATCH, KNOWN_NON_MATCH = 0, 1, 2

Patterns = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class TrainingSession:
    """How one EM training session went (one blocking rule's pairs), kept with the model.

    Attributes
    ----------
    name
        The blocking rule (or ``"identifiers"``: pairs found by an exact identifier).
    pairs
        Candidate pairs satisfying the rule.
    matches
        Expected matches among them at convergence.
    estimated
        The comparisons this session estimated (those its rule does not pin).
    iterations, converged
        How its EM ended.
    """

    name: str
    pairs: int
    matches: float
    estimated: tuple[str, ...]
    iterations: int
    converged: bool

    def to_dict(self) -> dict:
        return {**self.__dict__, "estimated": list(self.estimated)}

    @classmethod
    def from_dict(cls, data: dict) -> TrainingSession:
        return cls(**{**data, "estimated": tuple(data["estimated"])})


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
        How the estimate was reached (0 and ``False`` for starting values):
        the most iterations of a training session, and whether all converged.
    sessions
        One summary per EM training session (empty for starting values).
    warnings
        What the estimate could not do, e.g. a comparison every blocking rule
        pins, whose ``m`` stays at its starting value.
    """

    comparisons: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    m: tuple[tuple[float, ...], ...]
    u: tuple[tuple[float, ...], ...]
    lam: float
    iterations: int = 0
    converged: bool = False
    sessions: tuple[TrainingSession, ...] = ()
    warnings: tuple[str, ...] = ()

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
            "sessions": [x.to_dict() for x in self.sessions],
            "warnings": list(self.warnings),
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
            sessions=tuple(TrainingSession.from_dict(x) for x in data.get("sessions", ())),
            warnings=tuple(data.get("warnings", ())),
        )


def _level_freq(
    rows: np.ndarray, weights: np.ndarray, size: int, start: np.ndarray, alpha: float, floor: float
) -> np.ndarray:
    present = rows >= 0
    freq = np.bincount(rows[present], weights=weights[present], minlength=size)
    return _smoothed(freq, start, alpha, floor)


def _smoothed(freq: np.ndarray, start: np.ndarray, alpha: float, floor: float) -> np.ndarray:
    """Level frequencies with ``alpha`` pairs of ``start`` added, floored; ``start`` if empty."""
    if freq.sum() + alpha <= 0:
        return start
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


def mask_patterns(
    patterns: Patterns, free: Sequence[bool], n_levels: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Counts of the same pairs with the comparisons not ``free`` set missing (codes ascending)."""
    rows, lab, counts = _decode(*patterns, n_levels)
    rows[:, ~np.asarray(free, dtype=bool)] = -1
    codes = pattern_codes(rows, np.ones(rows.shape, dtype=bool), lab, n_levels)
    return merge_pattern_counts([(codes, counts.astype(np.int64))])


def _log_rows(rows: np.ndarray, probs: Sequence[np.ndarray]) -> np.ndarray:
    """Sum over comparisons of ``log p[level]`` per row; missing levels add nothing."""
    out = np.zeros(len(rows))
    for k, p in enumerate(probs):
        present = rows[:, k] >= 0
        out[present] += np.log(np.asarray(p))[rows[present, k]]
    return out


def _posterior(log_m: np.ndarray, log_u: np.ndarray, lam: float, lab: np.ndarray) -> np.ndarray:
    """P(match | vector) with prior ``lam``; identifier-labelled rows clamped to 1 or 0."""
    diff = (np.log1p(-lam) + log_u) - (np.log(lam) + log_m)
    post = 1.0 / (1.0 + np.exp(np.clip(diff, -700, 700)))
    post[lab == KNOWN_MATCH] = 1.0
    post[lab == KNOWN_NON_MATCH] = 0.0
    return post


def _share(post: np.ndarray, counts: np.ndarray, lab: np.ndarray, floor: float) -> float:
    """Expected share of matches among the unlabelled pairs (kept inside ``[floor, 1 - floor]``)."""
    unl = lab == UNLABELLED
    share = (counts[unl] * post[unl]).sum() / max(counts[unl].sum(), 1.0)
    return float(min(max(share, floor), 1 - floor))


@dataclass(frozen=True)
class SessionFit:
    """Outcome of EM over one set of pattern counts.

    ``level_counts[k][l]``: expected matches at level ``l`` of comparison ``k``
    (present sides) in the last E step, the evidence :func:`pool_sessions` adds up.
    """

    m: list[np.ndarray]
    level_counts: list[np.ndarray]
    pairs: int
    matches: float
    iterations: int
    converged: bool


def run_em(patterns: Patterns, params: ModelParameters, *, em: EMSettings) -> SessionFit:
    """``m`` and the share of matches among these pairs by EM, ``u`` fixed.

    Comparisons missing from every row (fixed in this session) keep their starting ``m``.
    """
    n_levels = [len(x) for x in params.levels]
    rows, lab, counts = _decode(*patterns, n_levels)
    m0 = [np.array(x) for x in params.m]
    m = [a.copy() for a in m0]
    log_u = _log_rows(rows, params.u)
    lam = 0.5  # nuisance: P(match) among these pairs, estimated alongside m
    converged, it, matches = False, 0, 0.0
    level_counts = [np.zeros(s) for s in n_levels]
    for it in range(1, em.max_iterations + 1):  # noqa: B007 (reported after the loop)
        post = _posterior(_log_rows(rows, m), log_u, lam, lab)
        wm = counts * post
        matches = float(wm.sum())
        level_counts = [
            np.bincount(rows[rows[:, k] >= 0, k], weights=wm[rows[:, k] >= 0], minlength=size)
            for k, size in enumerate(n_levels)
        ]
        new_m = [
            _smoothed(c, m0[k], em.prior_strength, em.floor) for k, c in enumerate(level_counts)
        ]
        new_lam = _share(post, counts, lab, em.floor)
        delta = max(max(float(np.abs(x - y).max()) for x, y in zip(new_m, m)), abs(new_lam - lam))
        m, lam = new_m, new_lam
        if delta < em.tolerance:
            converged = True
            break
    return SessionFit(m, level_counts, int(counts.sum()), matches, it, converged)


def estimate_m(
    gamma: np.ndarray,
    informative: np.ndarray,
    labels: np.ndarray,
    params: ModelParameters,
    *,
    possible_pairs: float,
    em: EMSettings,
) -> ModelParameters:
    """``m`` by one EM run over all pairs with ``u`` fixed, then ``lambda`` for random pairs.

    Parameters
    ----------
    gamma
        Levels of the candidate pairs, ``(pairs, comparisons)``, ``-1`` = missing side.
    informative
        Same shape, bool: whether a comparison may inform a pair (``False``
        where the pair was selected for agreeing on it).
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
    if len(patterns[0]) == 0:
        return params
    fit = run_em(patterns, params, em=em)
    return replace(
        params,
        m=tuple(tuple(float(x) for x in a) for a in fit.m),
        lam=_random_lambda(fit.matches, possible_pairs),
        iterations=fit.iterations,
        converged=fit.converged,
    )


def _random_lambda(expected_matches: float, possible_pairs: float) -> float:
    return min(max(expected_matches / max(possible_pairs, 1.0), 1e-12), 0.5)


@dataclass(frozen=True)
class TrainingSet:
    """The pairs of one training session: pattern counts with the pinned comparisons masked.

    ``free[k]``: comparison ``k`` is estimated here (the session's rule does not pin it).
    """

    name: str
    patterns: Patterns
    free: tuple[bool, ...]


def pool_sessions(
    sets: Sequence[TrainingSet],
    fits: Sequence[SessionFit],
    params: ModelParameters,
    *,
    em: EMSettings,
) -> tuple[list[np.ndarray], list[str]]:
    """Each comparison's ``m`` from the sessions that estimated it, and warnings.

    The sessions' expected match counts per level are added up, then smoothed
    by the prior once: a weighted mean of the sessions' ``m`` with weights the
    expected matches each saw with the comparison present. A session of 30
    matches then moves ``m`` less than one of 30,000 (a plain mean would let a
    small rule's noise weigh as much as the bulk of the data), and with equal
    counts it is the plain mean. A comparison no session left free keeps its
    starting ``m`` and is named in a warning.
    """
    m, warnings = [], []
    for k, name in enumerate(params.comparisons):
        start = np.array(params.m[k])
        used = [f.level_counts[k] for s, f in zip(sets, fits) if s.free[k]]
        if not used:
            warnings.append(
                f"comparison {name!r} is pinned by every training blocking rule:"
                " its m stays at the starting value"
            )
            m.append(start)
            continue
        m.append(_smoothed(np.sum(used, axis=0), start, em.prior_strength, em.floor))
    return m, warnings


def candidate_lambda(
    credited: Sequence[Patterns], params: ModelParameters, *, possible_pairs: float, em: EMSettings
) -> float:
    """P(two random records match): expected matches among the candidates / possible pairs.

    ``credited`` holds one group per blocking rule: the pairs it found first,
    their vectors masked by the fields that selected them. Each group is its
    own mixture (a rule on ZIP and surname finds mostly matches, a later rule
    mostly namesakes), so a final EM per group, with ``m`` and ``u`` fixed,
    iterates only the group's share of matches; the posteriors are then summed.
    """
    n_levels = [len(x) for x in params.levels]
    expected = 0.0
    for group in credited:
        rows, lab, counts = _decode(*group, n_levels)
        log_m, log_u = _log_rows(rows, params.m), _log_rows(rows, params.u)
        share, found = 0.5, 0.0
        for _ in range(em.max_iterations):
            post = _posterior(log_m, log_u, share, lab)
            found = float((counts * post).sum())
            new = _share(post, counts, lab, em.floor)
            share, delta = new, abs(new - share)
            if delta < em.tolerance:
                break
        expected += found
    return _random_lambda(expected, possible_pairs)


def estimate_m_by_session(
    sets: Sequence[TrainingSet],
    credited: Sequence[Patterns],
    params: ModelParameters,
    *,
    possible_pairs: float,
    em: EMSettings,
) -> ModelParameters:
    """``m`` by one EM training session per blocking rule, pooled; then ``lambda``.

    Parameters
    ----------
    sets
        One :class:`TrainingSet` per blocking rule (and one for the pairs
        found by identifiers): all candidate pairs satisfying it.
    credited
        Per blocking rule, pattern counts of the candidate pairs it found
        first, masked by the fields that selected them (see :func:`candidate_lambda`).
    params
        Starting ``m`` (also the Dirichlet prior), and the fixed ``u``.
    possible_pairs
        Number of record pairs of this entity type, ``n (n - 1) / 2``.
    em
        Iteration limit, tolerance, floor and prior strength.
    """
    if not any(len(group[0]) for group in credited):
        return params
    sets = [s for s in sets if len(s.patterns[0]) and any(s.free)]
    fits = [run_em(s.patterns, params, em=em) for s in sets]
    m, warnings = pool_sessions(sets, fits, params, em=em)
    pooled = replace(params, m=tuple(tuple(float(x) for x in a) for a in m))
    sessions = tuple(
        TrainingSession(
            name=s.name,
            pairs=f.pairs,
            matches=f.matches,
            estimated=tuple(c for c, free in zip(params.comparisons, s.free) if free),
            iterations=f.iterations,
            converged=f.converged,
        )
        for s, f in zip(sets, fits)
    )
    return replace(
        pooled,
        lam=candidate_lambda(credited, pooled, possible_pairs=possible_pairs, em=em),
        iterations=max((f.iterations for f in fits), default=0),
        converged=bool(fits) and all(f.converged for f in fits),
        sessions=sessions,
        warnings=tuple(warnings),
    )


def non_match_u(
    random: Patterns, model: ModelParameters, start: ModelParameters, *, em: EMSettings
) -> tuple[tuple[float, ...], ...]:
    """``u``: level frequencies among random pairs, each weighted by P(non-match) under ``model``.

    A random pair is almost always a non-match, but not always: on a small
    file, or for a rare level such as 'same site', the few true matches among
    the random pairs can be a large part of the agreement seen. Weighting
    by the posterior removes them (identifier labels clamp it); ``start.u``
    is the Dirichlet prior.
    """
    n_levels = [len(x) for x in start.levels]
    rows, lab, counts = _decode(*random, n_levels)
    post = _posterior(_log_rows(rows, model.m), _log_rows(rows, model.u), model.lam, lab)
    weight = counts * (1.0 - post)
    return tuple(
        tuple(
            float(x)
            for x in _level_freq(
                rows[:, k], weight, size, np.array(start.u[k]), em.prior_strength, em.floor
            )
        )
        for k, size in enumerate(n_levels)
    )


def fit_parameters(
    random: Patterns,
    sets: Sequence[TrainingSet],
    credited: Sequence[Patterns],
    start: ModelParameters,
    *,
    possible_pairs: float,
    em: EMSettings,
    rounds: int = 5,
) -> ModelParameters:
    """u from random pairs, m by training session and lambda, alternated a few rounds.

    Round one weighs the random pairs with the starting values (whose prior is
    P(two random records match)); each next round with the model just fitted,
    until ``u`` moves less than ``em.tolerance`` or after ``rounds``. Every
    round starts EM from the starting ``m``, which stays the Dirichlet prior.

    Parameters
    ----------
    random
        Pattern counts of the random pairs (unmasked, with identifier labels).
    sets, credited, possible_pairs
        As for :func:`estimate_m_by_session`.
    start
        The settings' starting values.
    em
        Iteration limit, tolerance, floor and prior strength.
    rounds
        Most u / m alternations.
    """
    model = start
    for _ in range(rounds):
        u = non_match_u(random, model, start, em=em)
        moved = max(float(np.abs(np.subtract(a, b)).max()) for a, b in zip(u, model.u))
        model = estimate_m_by_session(
            sets, credited, replace(start, u=u), possible_pairs=possible_pairs, em=em
        )
        if moved < em.tolerance:
            break
    return model
