"""The grouped free-text linker gives exactly the links of a plain loop over the records.

The reference below scores every golden record carrying one of the near surnames for
every text (its cost grows with texts x records), with the linker's own parse and
evidence. Generated golden records with shared surnames, first names, typos, initials,
practices and hints, linked both ways, must agree on every field of every match.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from enrichment.freetext import (
    FreeTextMatch,
    _evidence,
    _first_score,
    _Golden,
    _stretch,
    match_free_text,
    parse_referrer,
)

SURNAMES = ["SMITH", "SMYTH", "SMITHE", "JOHNSON", "JONSON", "OKAFOR", "NGUYEN", "NGUYENN", "LEE"]
FIRSTS = ["ROBERT", "ROB", "RACHEL", "JAMES", "JIM", "ANNA", "ANN", "MARIA", "", None]
CLASSES = ["Orthopaedic Surgery", "Pediatrics", "Family Medicine", None]
CITIES = ["COLUMBUS", "DUBLIN", "DAYTON", None]
PRACTICES = ["Riverside Orthopaedics, Inc.", "Dublin Family Practice", None]


def _reference(names, golden, *, min_confidence=0.85, min_margin=0.05, top=3):
    index = _Golden(golden)  # for the parse's vocabulary and the records' normalised fields
    out = []
    for raw in names:
        text = parse_referrer(raw, index.vocab)
        scored = []
        if len(text.surname) > 1:
            near = process.extract(
                text.surname,
                list(dict.fromkeys(n for n in index.last if n)),
                scorer=JaroWinkler.similarity,
                score_cutoff=0.86,
                limit=5,
            )
            for choice, sim, _ in near:
                for pos, name in enumerate(index.last):
                    if name == choice:
                        rec = index.records[pos]
                        conf = 0.6 * _stretch(sim) + 0.4 * _first_score(text.given, rec.first)
                        conf = max(conf + _evidence(text, rec), 0.0)
                        scored.append((index.ids[pos], round(conf, 4)))
        scored.sort(key=lambda t: -t[1])
        raw = [conf for _, conf in scored[:2]] + [0.0, 0.0]
        scored = [(pid, min(conf, 1.0)) for pid, conf in scored]
        best = scored[0] if scored else (None, 0.0)
        linked = best[0] is not None and best[1] >= min_confidence and raw[0] - raw[1] >= min_margin
        alternatives = scored[1 : top + 1] if linked else scored[:top]
        out.append(FreeTextMatch(best[0] if linked else None, best[1], alternatives, text.hints()))
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
            "practice": [rng.choice(PRACTICES) for _ in range(n)],
        }
    )
    texts = []
    for _ in range(300):
        last = rng.choice([*SURNAMES, "SMTIH", "OKAFR", "ZEBULON"]).title()
        given = rng.choice(["Robert", "Bob", "R.", "J.", "Anna", "Maria", ""])
        text = rng.choice([f"Dr. {given} {last}", f"{last}, {given} MD", f"{last}"])
        if rng.random() < 0.5:
            text += rng.choice(
                [", ortho", ", peds", ", Columbus", ", fp, Dayton", ", cardio", " - Riverside"]
            )
        texts.append(text)
    return golden, [*texts, "", "   ", "(ortho)"]


@pytest.mark.parametrize(("seed", "n", "top"), [(1, 40, 3), (2, 400, 3), (3, 400, 0), (4, 3, 5)])
def test_grouped_linker_matches_the_reference(seed: int, n: int, top: int) -> None:
    golden, texts = _generated(seed, n)
    got = match_free_text(pd.Series(texts, dtype=object), golden, top=top)
    assert got == _reference(texts, golden, top=top)
    assert any(m.provider_id is not None for m in got)  # the data exercises links too
