"""Linking a free-text referrer ("Dr. J Smith (ortho)", "smith/riverside") to golden records.

Parsing (:func:`parse_referrer`): the text is folded to upper-case ASCII and cut
into *segments* at parentheses and at the separators notes use (`` - ``, ``/``,
``@``, `` at ``, ``,``, ``;``, ``|``), in any order. A segment is

* a **specialty** hint when every word of it is a specialty word and it names one:
  a shorthand of :data:`SPECIALTY_SHORTHANDS` ("ortho", "cardio", "peds") or a
  classification / specialization of the golden records (token-set ratio >= 90);
* credentials alone ("MD", "M.D., FACS"): dropped;
* the **name**: the segment with a title or credential, else the one holding a
  surname known among the golden records, else the first. ``"Smith, John MD"``
  (one surname, a comma, given names or initials) is a name written last-first,
  and so is ``"SMITH J"`` / ``"SMITH JOHN A"`` (a trailing lone initial);
* otherwise a **practice** hint ("Riverside Ortho", "Riverside Orthopaedics, Inc.");
  one naming a city of the golden records is a city hint too. Specialty words inside
  a practice hint are a soft specialty hint, and the words left (the place,
  "Riverside") are compared on their own as well.

Candidates: golden records whose normalised surname is within Jaro-Winkler 0.86
of the text's (rapidfuzz; five surnames at most), or, when the text has no surname
or only its initial, the members of practices agreeing with a practice hint. Each
is scored on surname (60%; the similarity stretched, 0.96 -> 0.92, so a near
namesake stays below the exact one) and first name (40%; a bare initial agrees with
any first name starting with it; nicknames are canonicalised), plus evidence
(the sum is clipped to 0..1 as reported, but ranked and compared unclipped):

* practice hint against the record's practice names (:func:`core.text.normalize_org_name`,
  a hint word that starts a practice word counts as it, token-set ratio): the
  whole hint agreeing (>= 90) adds ``PRACTICE_BONUS``, its place alone ``PLACE_BONUS``;
  no hint above 60 subtracts ``PRACTICE_PENALTY``; a record whose practice is not
  known gets neither (NPPES records no membership, so silence is no evidence);
* specialty against classification, specialization and specialty text, city, and
  middle initial: ``HINT_BONUS`` when they agree, ``-HINT_PENALTY`` when not (a soft
  specialty hint only adds).

A name links when its best candidate reaches ``min_confidence`` and beats the
runner-up by ``min_margin``; otherwise it goes to review with the top candidates.

Not handled yet: practice acronyms ("ROA" for Riverside Orthopaedic Associates),
Fellegi-Sunter weights (the confidence is a documented heuristic score).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler

from core.text import (
    canonical_first_name,
    fold,
    name_token_kind,
    normalize_name,
    normalize_org_name,
)
from core.words import NICKNAMES, PARTICLES

#: Specialty shorthands written in referral notes -> words of the NUCC classification.
SPECIALTY_SHORTHANDS: dict[str, str] = {
    "ORTHO": "ORTHOPAEDIC SURGERY",
    "ORTHOPEDICS": "ORTHOPAEDIC SURGERY",
    "ORTHOPAEDICS": "ORTHOPAEDIC SURGERY",
    "ORTHOPEDIC SURGERY": "ORTHOPAEDIC SURGERY",
    "CARDIO": "CARDIOVASCULAR DISEASE",
    "CARDS": "CARDIOVASCULAR DISEASE",
    "CARDIOLOGY": "CARDIOVASCULAR DISEASE",
    "DERM": "DERMATOLOGY",
    "PEDS": "PEDIATRICS",
    "PAEDS": "PEDIATRICS",
    "OBGYN": "OBSTETRICS GYNECOLOGY",
    "OB GYN": "OBSTETRICS GYNECOLOGY",
    "GYN": "OBSTETRICS GYNECOLOGY",
    "IM": "INTERNAL MEDICINE",
    "INT MED": "INTERNAL MEDICINE",
    "FP": "FAMILY MEDICINE",
    "FM": "FAMILY MEDICINE",
    "FAM MED": "FAMILY MEDICINE",
    "FAMILY PRACTICE": "FAMILY MEDICINE",
    "PCP": "FAMILY MEDICINE",
    "PRIMARY CARE": "FAMILY MEDICINE",
    "NEURO": "NEUROLOGY",
    "ONC": "ONCOLOGY",
    "RAD": "RADIOLOGY",
    "URO": "UROLOGY",
    "ENT": "OTOLARYNGOLOGY",
    "GI": "GASTROENTEROLOGY",
    "GASTRO": "GASTROENTEROLOGY",
    "PSYCH": "PSYCHIATRY",
    "PMR": "PHYSICAL MEDICINE REHABILITATION",
    "REHAB": "PHYSICAL MEDICINE REHABILITATION",
    "PHYSIATRY": "PHYSICAL MEDICINE REHABILITATION",
    "ER": "EMERGENCY MEDICINE",
    "EM": "EMERGENCY MEDICINE",
    "PT": "PHYSICAL THERAPIST",
    "NP": "NURSE PRACTITIONER",
}
HINT_BONUS = 0.05
HINT_PENALTY = 0.15
PRACTICE_BONUS = 0.10
PLACE_BONUS = 0.07
PRACTICE_PENALTY = 0.10

# "OB/GYN" and "PM&R" hold a separator: joined before the text is cut
_JOINED = (
    (re.compile(r"\bOB\s*[/-]\s*GYN\b"), "OBGYN"),
    (re.compile(r"\bPM\s*&\s*R\b"), "PMR"),
)
_BRACKETS = re.compile(r"[(\[{]([^)\]}]*)[)\]}]?")
_SEPARATOR = re.compile(r"(\s+-+\s+|\s*[/@;|:]\s*|\s+AT\s+|\s*,\s*)")
_LINKING_WORDS = frozenset({"AND", "OF", "THE", "FOR"})


@dataclass(frozen=True)
class FreeTextMatch:
    """Outcome for one text: the linked provider (or None), confidence, alternatives, hints."""

    provider_id: int | None
    confidence: float
    alternatives: list[tuple[int, float]]
    hints: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PracticeHint:
    """A practice as written (``full``, normalised), its words that are no specialty
    (``place``, ``""`` when the same), and whether disagreeing with it is evidence
    against (not for a city name, which may be where rather than who)."""

    full: str
    place: str = ""
    penalise: bool = True


@dataclass(frozen=True)
class ReferrerText:
    """A referral text taken apart; every field is normalised (``""`` / ``None`` if absent)."""

    surname: str = ""
    given: str = ""
    middle: str = ""
    specialty: str | None = None
    soft_specialty: str | None = None
    city: str | None = None
    practices: tuple[PracticeHint, ...] = ()

    def hints(self) -> dict[str, str]:
        """The hints as reported with a match."""
        out = {"specialty": self.specialty, "city": self.city}
        out["practice"] = "; ".join(p.full for p in self.practices if p.penalise) or None
        return {k: v for k, v in out.items() if v}


@dataclass(frozen=True)
class _Record:
    """What a golden record's score depends on besides its surname."""

    first: str
    middle: str
    specialties: tuple[str, ...]
    city: str
    practices: tuple[str, ...]


def _joined(text: str) -> str:
    """Folded text with ``OB/GYN`` and ``PM&R`` written as one word (before it is cut)."""
    text = fold(text)
    for pattern, joined in _JOINED:
        text = pattern.sub(joined, text)
    return text


def prepare_org_name(name: str) -> str:
    """An organisation name as practice hints are compared with it (:func:`normalize_org_name`,
    ``OB/GYN`` and ``PM&R`` written as one word)."""
    return normalize_org_name(_joined(name))


class Vocabulary:
    """What the golden records know that the parser uses: surnames, given names, cities,
    specialty names and words, practice names."""

    def __init__(self, records: list[_Record], last: list[str]) -> None:
        self.surname_words = {w for name in last for w in name.split()}
        self.first_names = {r.first for r in records if r.first} | set(NICKNAMES)
        self.cities = {r.city for r in records if r.city}
        names = {s for r in records for s in r.specialties} | set(SPECIALTY_SHORTHANDS.values())
        self.specialties = sorted(names)
        self.specialty_words = (
            {w for s in names for w in s.split()}
            | {w for s in SPECIALTY_SHORTHANDS for w in s.split()}
            | _LINKING_WORDS
        )
        self.practices = sorted({p for r in records for p in r.practices})

    def specialty(self, words: Iterable[str]) -> str | None:
        """The specialty ``words`` name, if all of them are specialty words."""
        norm = " ".join(words)
        if norm in SPECIALTY_SHORTHANDS:
            return SPECIALTY_SHORTHANDS[norm]
        if not norm or any(w not in self.specialty_words for w in norm.split()):
            return None
        best = process.extractOne(
            norm, self.specialties, scorer=fuzz.token_set_ratio, score_cutoff=90
        )
        return best[0] if best else None


def _segments(text: str) -> list[tuple[list[str], bool, bool]]:
    """``(words, bracketed, followed by a comma)`` of each segment, in order."""
    text = _joined(text)
    out: list[tuple[list[str], bool, bool]] = [
        (inner.split(), True, False) for inner in _BRACKETS.findall(text) if inner.split()
    ]
    pieces = _SEPARATOR.split(_BRACKETS.sub(" | ", text))
    for i in range(0, len(pieces), 2):
        words = pieces[i].split()
        comma = i + 1 < len(pieces) and pieces[i + 1].strip() == ","
        if words:
            out.append((words, False, comma))
    return sorted(out, key=lambda s: s[1])  # bracketed ones last: the name comes first


def _name_words(words: list[str]) -> list[str]:
    return [normalize_name(w) for w in words if name_token_kind(w) is None and normalize_name(w)]


def _name_score(seg: tuple[list[str], bool, bool], vocab: Vocabulary) -> float:
    """How much a segment looks like the person's name rather than a practice."""
    words, bracketed, _ = seg
    kinds = {name_token_kind(w) for w in words}
    names = _name_words(words)
    score = 3.0 * ("title" in kinds) + 2.0 * ("credential" in kinds) - 5.0 * bracketed
    score += sum(n in vocab.surname_words for n in names) + 0.5 * any(len(n) == 1 for n in names)
    if "&" in words or "AND" in names or len(names) > 4:
        score -= 2.0
    if " ".join(names) in vocab.cities:
        score -= 2.0
    if vocab.practices and process.extractOne(
        prepare_org_name(" ".join(words)), vocab.practices, scorer=fuzz.ratio, score_cutoff=90
    ):
        score -= 1.5
    return score


def _last_first(segs: list, vocab: Vocabulary) -> list:
    """Segments with ``"SMITH", "JOHN MD"`` (a surname, a comma, given names) merged into
    one name segment written last-first (flagged by a ``None`` in place of the comma flag)."""
    for i, (words, bracketed, comma) in enumerate(segs[:-1]):
        nxt, nxt_bracketed, _ = segs[i + 1]
        surname = _name_words(words)
        given = _name_words(nxt)
        if (
            comma
            and not bracketed
            and not nxt_bracketed
            and 1 <= len(surname) <= 3
            and 1 <= len(given) <= 2
            and all(len(g) == 1 or g in vocab.first_names for g in given)
        ):
            merged = ([*nxt, ",", *words], False, None)
            return [*segs[:i], merged, *segs[i + 2 :]]
    return segs


def _order(names: list[str], vocab: Vocabulary) -> tuple[str, str, str]:
    """``(surname, given, middle initial)`` of name words written without a comma."""
    if len(names) == 1:
        return names[0], "", ""
    if len(names[-1]) == 1:  # "SMITH J", "SMITH JOHN A"; but "JANE S" is a given name first
        if len(names) == 2 and names[0] in vocab.first_names - vocab.surname_words:
            return names[1], names[0], ""
        return names[0], names[1], names[2][:1] if len(names) > 2 else ""
    cut = len(names) - 1  # "JOHN A VAN DYKE": the surname keeps its particles
    while cut > 1 and names[cut - 1] in PARTICLES:
        cut -= 1
    surname, given, middle = " ".join(names[cut:]), names[0], "".join(names[1:cut])[:1]
    if (
        len(names) == 2
        and given not in vocab.first_names
        and surname in vocab.first_names
        and given in vocab.surname_words
    ):  # "SMITH JOHN"
        return given, surname, ""
    return surname, given, middle


def _name_parts(words: list[str], last_first: bool, vocab: Vocabulary) -> tuple[str, str, str]:
    if last_first:
        cut = words.index(",")
        given = _name_words(words[:cut])
        return " ".join(_name_words(words[cut + 1 :])), given[0], "".join(given[1:2])[:1]
    names = [w for w in words if name_token_kind(w) != "title" and normalize_name(w)]
    # trailing credentials go while two words remain ("Minh Do" keeps its surname)
    while len(names) > 2 and name_token_kind(names[-1]) is not None:
        names.pop()
    names = [normalize_name(w) for w in names if name_token_kind(w) is None or len(names) <= 2]
    return _order(names, vocab) if names else ("", "", "")


def _practice_hint(words: list[str], vocab: Vocabulary) -> tuple[PracticeHint, str | None]:
    """A practice segment's hint and the soft specialty its specialty words name."""
    full = prepare_org_name(" ".join(words))
    tokens = full.split()
    special = [w for w in tokens if w in vocab.specialty_words and w not in _LINKING_WORDS]
    place = " ".join(w for w in tokens if w not in vocab.specialty_words)
    city = normalize_name(" ".join(words)) in vocab.cities
    hint = PracticeHint(full, place if place and place != full else "", penalise=not city)
    return hint, vocab.specialty(special) if special else None


def parse_referrer(text: str, vocab: Vocabulary) -> ReferrerText:
    """Take a referral text apart into name parts, specialty, city and practice hints.

    Parameters
    ----------
    text
        As written, e.g. ``"Dr. J Smith (ortho)"`` or ``"smith/riverside"``.
    vocab
        What the golden records know (names, cities, specialties, practices).
    """
    segs = _last_first(_segments(text), vocab)
    specialty: str | None = None
    rest = []
    for seg in segs:
        found = vocab.specialty(_name_words(seg[0])) if seg[2] is not None else None
        if found:
            specialty = found
        elif any(name_token_kind(w) is None and normalize_name(w) for w in seg[0]):
            rest.append(seg)  # a segment of credentials alone says nothing of who
    if not rest:
        return ReferrerText(specialty=specialty)
    name = max(rest, key=lambda s: (s[2] is None, _name_score(s, vocab)))
    surname, given, middle = _name_parts(name[0], name[2] is None, vocab)
    practices, soft, city = [], None, None
    for seg in rest:
        if seg is not name:
            hint, soft_here = _practice_hint(seg[0], vocab)
            practices.append(hint)
            soft = soft or soft_here
            city = city or (hint.full if not hint.penalise else None)
    return ReferrerText(
        surname, given, middle, specialty, soft, normalize_name(city) or None, tuple(practices)
    )


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


def _stretch(sim: float) -> float:
    """A surname's Jaro-Winkler similarity stretched below 1 (0.96 -> 0.92, 0.92 -> 0.84):
    a near surname is as often another person's as a typo of this one's."""
    return max(0.0, 1.0 - 2.0 * (1.0 - sim))


@lru_cache(maxsize=1 << 18)
def _agreement(hint: str, practice: str) -> float:
    """Token-set ratio of a hint and a practice name, a hint word that starts a practice
    word ("ORTHO", "ORTHOPAEDICS") counting as that word."""
    words = practice.split()
    expanded = " ".join(
        next((w for w in words if len(t) >= 3 and w.startswith(t)), t) for t in hint.split()
    )
    return fuzz.token_set_ratio(expanded, practice)


def _practice_evidence(hints: tuple[PracticeHint, ...], practices: tuple[str, ...]) -> float:
    if not hints or not practices:
        return 0.0
    full = max(_agreement(h.full, p) for h in hints for p in practices)
    if full >= 90:
        return PRACTICE_BONUS
    place = max((_agreement(h.place, p) for h in hints if h.place for p in practices), default=0)
    if place >= 90:
        return PLACE_BONUS
    if max(full, place) < 60 and any(h.penalise for h in hints):
        return -PRACTICE_PENALTY
    return 0.0


@lru_cache(maxsize=1 << 16)
def _specialty_agrees(hint: str, names: tuple[str, ...]) -> bool:
    """Whether a specialty hint agrees with one of a record's specialty names, either
    side's words counting as the other's they start ("ORTHOPAEDIC", "ORTHOPAEDICS")."""
    return any(max(_agreement(hint, name), _agreement(name, hint)) >= 90 for name in names)


def _evidence(text: ReferrerText, rec: _Record) -> float:
    """What the hints say for (> 0) or against (< 0) one record."""
    practice = _practice_evidence(text.practices, rec.practices)
    score = practice
    if text.specialty and rec.specialties:
        agree = _specialty_agrees(text.specialty, rec.specialties)
        score += HINT_BONUS if agree else -HINT_PENALTY
    if text.soft_specialty and rec.specialties:
        score += HINT_BONUS * _specialty_agrees(text.soft_specialty, rec.specialties)
    if text.city and rec.city and practice <= 0:  # a place named may be the practice's
        score += HINT_BONUS if rec.city == text.city else -HINT_PENALTY
    if text.middle and rec.middle:
        score += HINT_BONUS if rec.middle == text.middle else -HINT_PENALTY
    return score


def _column(golden: pd.DataFrame, name: str) -> list:
    return golden[name].tolist() if name in golden else [None] * len(golden)


def _specialty_names(values: Iterable[object]) -> tuple[str, ...]:
    """A record's specialty names, normalised, with what a shorthand among them stands for
    (a specialty text "Cardiology" is the specialization "Cardiovascular Disease")."""
    names = [normalize_name(v) for v in values if isinstance(v, str) and v.strip()]
    known = [SPECIALTY_SHORTHANDS[n] for n in names if n in SPECIALTY_SHORTHANDS]
    return tuple(dict.fromkeys(n for n in [*names, *known] if n))


def _practice_names(value: object) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else []
    return tuple(dict.fromkeys(p for p in map(prepare_org_name, values) if p))


class _Golden:
    """Golden records indexed for matching: by surname (each surname's records grouped by
    what their score depends on) and by practice."""

    def __init__(self, golden: pd.DataFrame) -> None:
        self.last = [normalize_name(s) if isinstance(s, str) else "" for s in golden["last_name"]]
        self.ids = [int(i) for i in golden["provider_id"]]
        self.records = [
            _Record(
                normalize_name(first) if isinstance(first, str) else "",
                normalize_name(middle)[:1] if isinstance(middle, str) else "",
                _specialty_names(specs),
                normalize_name(city) if isinstance(city, str) else "",
                _practice_names(practice),
            )
            for first, middle, city, practice, *specs in zip(
                golden["first_name"],
                _column(golden, "middle_name"),
                _column(golden, "city"),
                _column(golden, "practice"),
                _column(golden, "classification"),
                _column(golden, "specialization"),
                _column(golden, "specialty_text"),
                strict=True,
            )
        ]
        self.vocab = Vocabulary(self.records, self.last)
        # per surname: how many records, and per record key its (rank, provider id) in order
        self.groups: dict[str, tuple[int, dict[_Record, list[tuple[int, int]]]]] = {}
        self.by_practice: dict[str, list[int]] = {}
        for pos, (name, rec) in enumerate(zip(self.last, self.records, strict=True)):
            for practice in rec.practices:
                self.by_practice.setdefault(practice, []).append(pos)
            if name:
                size, members = self.groups.get(name, (0, {}))
                members.setdefault(rec, []).append((size, self.ids[pos]))
                self.groups[name] = (size + 1, members)
        self.choices = list(self.groups)
        self._near: dict[str, list] = {}

    def near(self, surname: str) -> list:
        """Golden surnames within Jaro-Winkler 0.86 (five at most), searched once each."""
        if surname not in self._near:
            self._near[surname] = process.extract(
                surname, self.choices, scorer=JaroWinkler.similarity, score_cutoff=0.86, limit=5
            )
        return self._near[surname]

    def by_surname(self, text: ReferrerText, keep: int) -> list[tuple[float, int, int]]:
        """``(confidence, rank, provider id)`` of the candidates sharing a near surname.

        Every record of a group scores alike, so a group offers only its first ``keep``
        records; (confidence desc, rank) is then the order of one sort over all records.
        """
        ranked: list[tuple[float, int, int]] = []
        offset = 0
        for choice, sim, _ in self.near(text.surname):
            size, members = self.groups[choice]
            for rec, records in members.items():
                conf = 0.6 * _stretch(sim) + 0.4 * _first_score(text.given, rec.first)
                conf = round(max(conf + _evidence(text, rec), 0.0), 4)
                ranked.extend((conf, offset + rank, pid) for rank, pid in records[:keep])
            offset += size
        return ranked

    def by_practice_hint(self, text: ReferrerText) -> list[tuple[float, int, int]]:
        """Candidates of a text without a surname (or with its initial): practice members."""
        found: set[int] = set()
        for hint in text.practices:
            for query in filter(None, (hint.full, hint.place)):
                for name in self.by_practice:
                    if _agreement(query, name) >= 90:
                        found.update(self.by_practice[name])
        ranked = []
        for pos in sorted(found):
            last, rec = self.last[pos], self.records[pos]
            if text.surname and not last.startswith(text.surname):
                continue
            sim = 0.9 if text.surname else 0.5
            conf = 0.6 * sim + 0.4 * _first_score(text.given, rec.first) + _evidence(text, rec)
            ranked.append((round(max(conf, 0.0), 4), pos, self.ids[pos]))
        return ranked


def _decide(
    ranked: list[tuple[float, int, int]],
    hints: dict[str, str],
    *,
    keep: int,
    top: int,
    min_confidence: float,
    min_margin: float,
) -> FreeTextMatch:
    """Link the best candidate when it is sure and clear enough; the rest are alternatives."""
    ranked.sort(key=lambda t: (-t[0], t[1]))
    # the margin is read before clipping to 1: evidence beyond a perfect name still separates
    raw = [conf for conf, _, _ in ranked[:2]] + [0.0, 0.0]
    scored = [(pid, min(conf, 1.0)) for conf, _, pid in ranked[:keep]]
    best = scored[0] if scored else (None, 0.0)
    linked = best[0] is not None and best[1] >= min_confidence and raw[0] - raw[1] >= min_margin
    alternatives = scored[1 : top + 1] if linked else scored[:top]
    return FreeTextMatch(best[0] if linked else None, best[1], alternatives, hints)


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
        Golden individuals with ``provider_id``, ``first_name`` and ``last_name``;
        optional evidence columns: ``middle_name``, ``classification``,
        ``specialization``, ``specialty_text``, ``city`` and ``practice`` (the
        name of the provider's organisation, or a list of names).
    min_confidence, min_margin
        Linking thresholds (see module docstring).
    top
        How many alternatives to return.
    """
    index = _Golden(golden)
    keep = max(top + 1, 2)  # the output reads the best, the runner-up and ``top`` alternatives
    done: dict[ReferrerText, FreeTextMatch] = {}
    out: list[FreeTextMatch] = []
    for raw in names:
        text = parse_referrer(raw, index.vocab) if isinstance(raw, str) else ReferrerText()
        if text not in done:  # the match depends on nothing else: texts parsed alike share it
            if len(text.surname) > 1:
                ranked = index.by_surname(text, keep)
            elif text.practices:
                ranked = index.by_practice_hint(text)
            else:
                ranked = []
            done[text] = _decide(
                ranked,
                text.hints(),
                keep=keep,
                top=top,
                min_confidence=min_confidence,
                min_margin=min_margin,
            )
        out.append(done[text])
    return out
