"""Linking a free-text referrer name ("Dr. R. Smith", "SMITH, ROBERT MD") to golden records.

A thin first pass: the name is split with :func:`enrichment.normalize.split_full_name`,
candidates are golden records whose normalised last name is within Jaro-Winkler
0.92 of it (rapidfuzz), and each candidate is scored on last name (60%) and
first name (40%; a bare initial agrees with any first name starting with it;
nicknames are canonicalised). City and specialty are not used yet. A name links when its best candidate
reaches ``min_confidence`` and beats the runner-up by ``min_margin``; the
runner-ups are returned as alternatives either way.

Not handled yet (issue #4): specialty hints inside the text ("ortho"),
Fellegi-Sunter weights and the review queue for unlinked names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from enrichment.normalize import canonical_first_name, normalize_name, split_full_name


@dataclass(frozen=True)
class FreeTextMatch:
    provider_id: int | None
    confidence: float
    alternatives: list[tuple[int, float]]


@lru_cache(maxsize=1 << 16)
def _first_score(given: str, candidate: str) -> float:
    if not given:
        return 0.5
    if not candidate:
        return 0.3
    if len(given) == 1:
        return 0.9 if candidate.startswith(given) else 0.0
    a, b = canonical_first_name(given), canonical_first_name(candidate)
    return 1.0 if a == b else JaroWinkler.similarity(a, b)


def match_free_text(
    names: pd.Series,
    golden: pd.DataFrame,
    *,
    min_confidence: float = 0.85,
    min_margin: float = 0.05,
    top: int = 3,
) -> list[FreeTextMatch]:
    """Match free-text referrer names to golden individuals.

    Parameters
    ----------
    names
        Free-text names as written by a scheduling system or a person.
    golden
        Golden individuals with ``provider_id``, ``first_name`` and ``last_name``.
    min_confidence, min_margin
        Linking thresholds (see module docstring).
    top
        How many alternatives to return.
    """
    if not isinstance(golden, pd.DataFrame):
        raise TypeError(f"golden must be a DataFrame, got {type(golden).__name__}")
    last = [normalize_name(s) if isinstance(s, str) else "" for s in golden["last_name"]]
    first = [normalize_name(s) if isinstance(s, str) else "" for s in golden["first_name"]]
    by_last: dict[str, list[int]] = {}
    for pos, name in enumerate(last):
        if name:
            by_last.setdefault(name, []).append(pos)
    choices = list(by_last)
    ids = golden["provider_id"].to_numpy()
    out: list[FreeTextMatch] = []
    for raw in names:
        parts = split_full_name(raw) if isinstance(raw, str) else {}
        surname = normalize_name(parts.get("last_name") or "")
        given = normalize_name(parts.get("first_name") or "")
        if not surname:
            out.append(FreeTextMatch(None, 0.0, []))
            continue
        scored: list[tuple[int, float]] = []
        for choice, sim, _ in process.extract(
            surname, choices, scorer=JaroWinkler.similarity, score_cutoff=0.92, limit=5
        ):
            for pos in by_last[choice]:
                conf = 0.6 * sim + 0.4 * _first_score(given, first[pos])
                scored.append((int(ids[pos]), round(conf, 4)))
        scored.sort(key=lambda t: -t[1])
        best = scored[0] if scored else (None, 0.0)
        runner = scored[1][1] if len(scored) > 1 else 0.0
        linked = best[0] is not None and best[1] >= min_confidence and best[1] - runner >= min_margin
        out.append(FreeTextMatch(best[0] if linked else None, best[1], scored[1 : top + 1] if linked else scored[:top]))
    return out
