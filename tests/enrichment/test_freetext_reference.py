"""The grouped free-text linker gives exactly the links of the plain one it replaced.

The reference below is the former :func:`enrichment.freetext.match_free_text` loop, which
scored every golden record carrying one of the near surnames for every text (its cost grew
with texts x records). Generated golden records with shared surnames, first names, typos,
initials and hints, linked both ways, must agree on every field of every match.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from core.text import normalize_name, split_full_name
from enrichment.freetext import (
    FreeTextMatch,
    _first_score,
    _hint_score,
    _split_hints,
    match_free_text,
)

SURNAMES = ["SMITH", "SMYTH", "SMITHE", "JOHNSON", "JONSON", "OKAFOR", "NGUYEN", "NGUYENN", "LEE"]
FIRSTS = ["ROBERT", "ROB", "RACHEL", "JAMES", "JIM", "ANNA", "ANN", "MARIA", "", None]
CLASSES = ["Orthopaedic Surgery", "Pediatrics", "Family Medicine", None]
CITIES = ["COLUMBUS", "DUBLIN", "DAYTON", None]


def _reference(names, golden, *, min_confidence=0.85, min_margin=0.05, top=3):
    last = [normalize_name(s) if isinstance(s, str) else "" for s in golden["last_name"]]
    first = [normalize_name(s) if isinstance(s, str) else "" for s in golden["first_name"]]
    by_last: dict[str, list[int]] = {}
    for pos, name in enumerate(last):
        if name:
            by_last.setdefault(name, []).append(pos)
    choices, ids = list(by_last), golden["provider_id"].to_numpy()
    classes, towns = golden["classification"].tolist(), golden["city"].tolist()
    cities = {normalize_name(c) for c in towns if isinstance(c, str)}
    out = []
    for raw in names:
        text, hints = _split_hints(raw, cities) if isinstance(raw, str) else ("", {})
        parts = split_full_name(text) if text else {}
        surname = normalize_name(parts.get("last_name") or "")
        given = normalize_name(parts.get("first_name") or "")
        if not surname:
            out.append(FreeTextMatch(None, 0.0, [], hints))
            continue
        scored = []
        for choice, sim, _ in process.extract(
            surname, choices, scorer=JaroWinkler.similarity, score_cutoff=0.92, limit=5
        ):
            for pos in by_last[choice]:
                conf = 0.6 * sim + 0.4 * _first_score(given, first[pos])
                conf = min(max(conf + _hint_score(hints, classes[pos], towns[pos]), 0.0), 1.0)
                scored.append((int(ids[pos]), round(conf, 4)))
        scored.sort(key=lambda t: -t[1])
        best = scored[0] if scored else (None, 0.0)
        runner = scored[1][1] if len(scored) > 1 else 0.0
        linked = (
            best[0] is not None and best[1] >= min_confidence and best[1] - runner >= min_margin
        )
        alternatives = scored[1 : top + 1] if linked else scored[:top]
        out.append(FreeTextMatch(best[0] if linked else None, best[1], alternatives, hints))
    return out


def _generated(seed: int, n: int) -> tuple[pd.DataFrame, list[str]]:
    rng = random.Random(seed)
    golden = pd.DataFrame(
        {
            "provider_id": range(1, n + 1),
            "first_name": [rng.choice(FIRSTS) for _ in range(n)],
            "last_name": [rng.choice([*SURNAMES, None]) for _ in range(n)],
            "classification": [rng.choice(CLASSES) for _ in range(n)],
            "city": [rng.choice(CITIES) for _ in range(n)],
        }
    )
    texts = []
    for _ in range(300):
        last = rng.choice([*SURNAMES, "SMTIH", "OKAFR", "ZEBULON"]).title()
        given = rng.choice(["Robert", "Bob", "R.", "J.", "Anna", "Maria", ""])
        text = rng.choice([f"Dr. {given} {last}", f"{last}, {given} MD", f"{last}"])
        if rng.random() < 0.5:
            text += rng.choice([", ortho", ", peds", ", Columbus", ", fp, Dayton", ", cardio"])
        texts.append(text)
    return golden, [*texts, "", "   ", ", ortho"]


@pytest.mark.parametrize(("seed", "n", "top"), [(1, 40, 3), (2, 400, 3), (3, 400, 0), (4, 3, 5)])
def test_grouped_linker_matches_the_reference(seed: int, n: int, top: int) -> None:
    golden, texts = _generated(seed, n)
    got = match_free_text(pd.Series(texts, dtype=object), golden, top=top)
    assert got == _reference(texts, golden, top=top)
    assert any(m.provider_id is not None for m in got)  # the data exercises links too
