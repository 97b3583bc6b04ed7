"""Linking a free-text referrer ("Dr J. Smith, ortho, Columbus") to golden records.

The text is cut at commas; parts naming a specialty (an abbreviation such as
"ortho", "cardio", "peds", or a NUCC classification by token-set ratio) or a
city known among the golden records are *hints*; the rest is the name, split
with :func:`core.text.split_full_name`. Candidates are golden
records whose normalised last name is within Jaro-Winkler 0.92 of it
(rapidfuzz); each is scored on last name (60%) and first name (40%; a bare
initial agrees with any first name starting with it; nicknames are
canonicalised). A hint that agrees adds ``HINT_BONUS``, one that disagrees
subtracts ``HINT_PENALTY`` (clipped to 0..1). A name links when its best
candidate reaches ``min_confidence`` and beats the runner-up by
``min_margin``; the runner-ups are returned as alternatives either way.

Not handled yet: Fellegi-Sunter weights for free text (the confidence is a
documented heuristic score, not a probability).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler

from core.text import canonical_first_name, normalize_name, split_full_name

#: Specialty shorthands written in referral notes -> words of the NUCC classification.
SPECIALTY_SHORTHANDS: dict[str, str] = {
    "ORTHO": "ORTHOPAEDIC SURGERY",
    "ORTHOPEDICS": "ORTHOPAEDIC SURGERY",
    "CARDIO": "CARDIOVASCULAR DISEASE",
    "CARDIOLOGY": "CARDIOVASCULAR DISEASE",
    "DERM": "DERMATOLOGY",
    "PEDS": "PEDIATRICS",
    "PAEDS": "PEDIATRICS",
    "OBGYN": "OBSTETRICS GYNECOLOGY",
    "OB GYN": "OBSTETRICS GYNECOLOGY",
    "IM": "INTERNAL MEDICINE",
    "FP": "FAMILY MEDICINE",
    "FM": "FAMILY MEDICINE",
    "NEURO": "NEUROLOGY",
    "ONC": "ONCOLOGY",
    "RAD": "RADIOLOGY",
    "URO": "UROLOGY",
    "ENT": "OTOLARYNGOLOGY",
    "GI": "GASTROENTEROLOGY",
    "PSYCH": "PSYCHIATRY",
    "PT": "PHYSICAL THERAPIST",
    "NP": "NURSE PRACTITIONER",
    "PCP": "FAMILY MEDICINE",
}
HINT_BONUS = 0.05
HINT_PENALTY = 0.15


@dataclass(frozen=True)
class FreeTextMatch:
    """Outcome for one text: the linked provider (or None), confidence, alternatives, hints."""

    provider_id: int | None
    confidence: float
    alternatives: list[tuple[int, float]]
    hints: dict[str, str] = field(default_factory=dict)


def _split_hints(raw: str, cities: set[str]) -> tuple[str, dict[str, str]]:
    """The name part of a referral text, and its specialty / city hints."""
    parts = [p.strip() for p in raw.split(",")]
    keep, hints = [], {}
    for i, part in enumerate(parts):
        norm = normalize_name(part)
        if i > 0 and norm in SPECIALTY_SHORTHANDS:
            hints["specialty"] = SPECIALTY_SHORTHANDS[norm]
        elif i > 0 and norm in cities and len(parts) > 1:
            hints["city"] = norm
        else:
            keep.append(part)
    return ", ".join(p for p in keep if p), hints


def _hint_score(hints: dict[str, str], classification: object, city: object) -> float:
    score = 0.0
    if "specialty" in hints and isinstance(classification, str):
        agree = fuzz.token_set_ratio(hints["specialty"], normalize_name(classification)) >= 80
        score += HINT_BONUS if agree else -HINT_PENALTY
    if "city" in hints and isinstance(city, str):
        score += HINT_BONUS if normalize_name(city) == hints["city"] else -HINT_PENALTY
    return score


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


def _surname_groups(
    last: list[str], first: list[str], classes: list, towns: list, ids: object
) -> dict[str, tuple[int, dict[tuple, list[tuple[int, int]]]]]:
    """Golden records by surname: how many, and by what their score depends on (first name,
    classification, city) the records' (rank within the surname, provider id), rank order."""
    groups: dict[str, tuple[int, dict[tuple, list[tuple[int, int]]]]] = {}
    for pos, name in enumerate(last):
        if not name:
            continue
        size, members = groups.get(name, (0, {}))
        cls, town = classes[pos], towns[pos]
        key = (
            first[pos],
            cls if isinstance(cls, str) else None,
            town if isinstance(town, str) else None,
        )
        members.setdefault(key, []).append((size, int(ids[pos])))
        groups[name] = (size + 1, members)
    return groups


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
        Golden individuals with ``provider_id``, ``first_name`` and ``last_name``
        (optional ``classification`` and ``city`` for hints).
    min_confidence, min_margin
        Linking thresholds (see module docstring).
    top
        How many alternatives to return.
    """
    last = [normalize_name(s) if isinstance(s, str) else "" for s in golden["last_name"]]
    first = [normalize_name(s) if isinstance(s, str) else "" for s in golden["first_name"]]
    ids = golden["provider_id"].to_numpy()
    classes = (
        golden["classification"].tolist() if "classification" in golden else [None] * len(golden)
    )
    towns = golden["city"].tolist() if "city" in golden else [None] * len(golden)
    cities = {normalize_name(c) for c in towns if isinstance(c, str)}
    groups = _surname_groups(last, first, classes, towns, ids)
    choices = list(groups)
    keep = max(top + 1, 2)  # the output reads the best, the runner-up and ``top`` alternatives
    similar: dict[str, list[tuple[str, float, int]]] = {}
    done: dict[tuple, FreeTextMatch] = {}
    out: list[FreeTextMatch] = []
    for raw in names:
        text, hints = _split_hints(raw, cities) if isinstance(raw, str) else ("", {})
        parts = split_full_name(text) if text else {}
        surname = normalize_name(parts.get("last_name") or "")
        given = normalize_name(parts.get("first_name") or "")
        if not surname:
            out.append(FreeTextMatch(None, 0.0, [], hints))
            continue
        key = (surname, given, tuple(sorted(hints.items())))
        if key in done:  # the match depends on nothing else: texts written alike share it
            out.append(done[key])
            continue
        near = similar.get(surname)
        if near is None:  # many texts share a surname: one search over the golden names each
            near = similar[surname] = process.extract(
                surname, choices, scorer=JaroWinkler.similarity, score_cutoff=0.92, limit=5
            )
        # every record of a group scores alike, so a group offers only its first ``keep``
        # records; (confidence desc, rank) is the order of one stable sort over all records
        ranked: list[tuple[float, int, int]] = []
        offset = 0
        for choice, sim, _ in near:
            size, members = groups[choice]
            for (first_name, cls, town), records in members.items():
                conf = 0.6 * sim + 0.4 * _first_score(given, first_name)
                conf = round(min(max(conf + _hint_score(hints, cls, town), 0.0), 1.0), 4)
                ranked.extend((conf, offset + rank, pid) for rank, pid in records[:keep])
            offset += size
        ranked.sort(key=lambda t: (-t[0], t[1]))
        scored = [(pid, conf) for conf, _, pid in ranked[:keep]]
        best = scored[0] if scored else (None, 0.0)
        runner = scored[1][1] if len(scored) > 1 else 0.0
        linked = (
            best[0] is not None and best[1] >= min_confidence and best[1] - runner >= min_margin
        )
        alternatives = scored[1 : top + 1] if linked else scored[:top]
        done[key] = FreeTextMatch(best[0] if linked else None, best[1], alternatives, hints)
        out.append(done[key])
    return out
