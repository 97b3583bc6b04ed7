"""The one text module: how every name, organisation, address and header is normalised.

Readers fill the standard record with these functions, the linker compares
what they return, the geocoder matches streets with them and the free-text
referrer matcher parses with them, so two spellings that one calls equal, all
call equal. The word tables live in :mod:`core.words`.

Letters outside ASCII are transliterated with ``anyascii`` (``Søren Ødegård``
-> ``SOREN ODEGARD``, ``Cœur`` -> ``COEUR``, ``Łukasz`` -> ``LUKASZ``,
``Straße`` -> ``STRASSE``), never dropped. ``None`` and blank input give
``""`` for the ``normalize_*`` functions.
"""

from __future__ import annotations

import re
from functools import lru_cache

from anyascii import anyascii

from core.words import (
    CREDENTIALS,
    DIRECTIONALS,
    LEGAL_FORMS,
    NICKNAMES,
    PARTICLES,
    STATE_CODES,
    STREET_TYPES,
    SUFFIXES,
    TITLES,
    UNIT_DESIGNATORS,
)

__all__ = [
    "canonical_first_name",
    "fold",
    "header_key",
    "name_token_kind",
    "normalize_address",
    "normalize_name",
    "normalize_org_name",
    "normalize_state",
    "normalize_street",
    "split_address",
    "split_full_name",
]

_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^A-Z0-9 ]+")
_STATE_SET = frozenset(STATE_CODES.values())
_HOUSE_RE = re.compile(
    r"^\s*(\d+)(?:\s*-\s*[0-9A-Z]+\b|[A-Z]\b)?(?:\s+\d+/\d+)?[\s,]+(.*)$", re.IGNORECASE
)


@lru_cache(maxsize=1 << 18)  # registries repeat spellings: transliterate each once
def fold(text: str) -> str:
    """Upper-case ASCII transliteration: ``"Søren Ødegård"`` -> ``"SOREN ODEGARD"``."""
    return anyascii(text).upper()


def header_key(name: str, *, compact: bool = False) -> str:
    """A column header as mappings compare it: trimmed, inner spaces collapsed, case- and
    accent-folded (``" Prénom "`` and ``"PRENOM"`` are one header).

    ``compact``: punctuation and spaces dropped too, for registries whose layouts
    respell headers (``"Indice répétition voie (coord. Structure)"`` ->
    ``"indicerepetitionvoiecoordstructure"``).
    """
    key = " ".join(fold(str(name)).split()).casefold()
    return re.sub(r"[^a-z0-9]", "", key) if compact else key


def _token_key(token: str) -> str:
    """A token without punctuation, for title/credential lookup: ``"Ph.D."`` -> ``"PHD"``."""
    return re.sub(r"[^A-Z0-9]", "", fold(token))


def _is_credential(token: str) -> bool:
    return _token_key(token) in CREDENTIALS


def name_token_kind(token: str) -> str | None:
    """What one written word of a person's name is, punctuation aside: ``"title"`` (``Dr.``),
    ``"credential"`` (``M.D.``), ``"suffix"`` (``Jr``) or ``None`` (a name word).

    ``MS`` is a title before a name and a credential after one; it is reported as a title.
    """
    key = _token_key(token)
    if key in TITLES:
        return "title"
    if key in CREDENTIALS:
        return "credential"
    return "suffix" if key in SUFFIXES else None


@lru_cache(maxsize=1 << 18)
def normalize_name(s: str | None) -> str:
    """Upper-case ASCII name without punctuation, titles, credentials or suffixes.

    Leading titles (DR, MR, ...) are removed; trailing credentials and
    generational suffixes are removed after a comma, or without one while more
    than two words remain (so ``"John Do"`` keeps its surname). Hyphens become
    spaces, apostrophes and periods vanish.

    Examples
    --------
    >>> normalize_name("Dr. José O'Neil-Smith, M.D., FACS")
    'JOSE ONEIL SMITH'
    """
    if s is None:
        return ""
    parts = [p for p in fold(s).split(",") if _token_key(p)]
    # comma-separated trailing parts made only of credentials/suffixes are dropped outright
    while len(parts) > 1 and all(
        _token_key(w) in CREDENTIALS or _token_key(w) in SUFFIXES for w in parts[-1].split()
    ):
        parts.pop()
    tokens = [t for t in " ".join(parts).split() if _token_key(t)]
    while len(tokens) > 1 and _token_key(tokens[0]) in TITLES:
        tokens.pop(0)
    # without a comma a trailing "DO" may be a surname: keep at least two tokens
    while len(tokens) > 2 and (
        _token_key(tokens[-1]) in CREDENTIALS or _token_key(tokens[-1]) in SUFFIXES
    ):
        tokens.pop()
    text = " ".join(tokens).replace("'", "").replace(".", "").replace("-", " ")
    return _SPACES.sub(" ", _NON_ALNUM.sub(" ", text)).strip()


def _clean_token(token: str) -> str:
    return token.strip().strip(".,;").strip()


def _trailing_titles(parts: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Trailing comma-separated parts made only of credentials / suffixes, taken off ``parts``:
    ``(parts left, credentials, suffixes)``."""
    creds: list[str] = []
    suffixes: list[str] = []
    while len(parts) > 1:
        words = parts[-1].split()
        if not words or not all(_is_credential(w) or _token_key(w) in SUFFIXES for w in words):
            break
        suffixes[:0] = [_clean_token(w) for w in words if _token_key(w) in SUFFIXES]
        creds[:0] = [w.strip(",;") for w in words if _token_key(w) not in SUFFIXES]
        parts = parts[:-1]
    return parts, creds, suffixes


def split_full_name(s: str | None) -> dict[str, str | None]:
    """Split a free-text person name into its parts.

    Handles ``"Last, First M"``, ``"Last, First M, MD"``, ``"Dr. First M. Last, MD"``,
    ``"First Last"`` and ``"FIRST M LAST MD"``. Parts keep the input's case;
    periods are dropped from initials; credentials are joined with ``", "``.

    Returns
    -------
    dict
        Keys named as in the standard record: ``name_prefix``, ``first_name``,
        ``middle_name``, ``last_name``, ``name_suffix``, ``credential`` (``None``
        when absent). A single word is taken as the last name.
    """
    out: dict[str, str | None] = dict.fromkeys(
        ("name_prefix", "first_name", "middle_name", "last_name", "name_suffix", "credential")
    )
    parts = [p.strip() for p in (s or "").split(",") if p.strip()]
    if not parts:
        return out
    parts, creds, suffixes = _trailing_titles(parts)
    last_first = len(parts) >= 2
    last_words: list[str] = parts[0].split() if last_first else []
    while last_first and len(last_words) > 1 and _token_key(last_words[-1]) in SUFFIXES:
        suffixes.insert(0, _clean_token(last_words.pop()))
    rest = " ".join(parts[1:]).split() if last_first else parts[0].split()
    rest = [w for w in (_clean_token(w) for w in rest) if w]
    prefixes: list[str] = []
    while len(rest) > 1 and _token_key(rest[0]) in TITLES:
        prefixes.append(rest.pop(0))
    # keep the given name (and, in "First Last" order, the surname) whatever they look like
    keep = 1 if last_first else 2
    trailing: list[str] = []
    while len(rest) > keep and (
        _token_key(rest[-1]) in SUFFIXES or _token_key(rest[-1]) in CREDENTIALS
    ):
        trailing.insert(0, rest.pop())
    suffixes[:0] = [w for w in trailing if _token_key(w) in SUFFIXES]
    creds[:0] = [w for w in trailing if _token_key(w) not in SUFFIXES]
    if not last_first:
        if len(rest) == 1:
            last_words, rest = rest, []
        else:
            cut = len(rest) - 1
            while cut > 1 and _token_key(rest[cut - 1]) in PARTICLES:
                cut -= 1
            last_words, rest = rest[cut:], rest[:cut]
    out["name_prefix"] = " ".join(_clean_token(p) for p in prefixes) or None
    out["last_name"] = " ".join(_clean_token(w) for w in last_words) or None
    out["first_name"] = rest[0] if rest else None
    out["middle_name"] = " ".join(rest[1:]) or None
    out["name_suffix"] = " ".join(suffixes) or None
    out["credential"] = ", ".join(creds) or None
    return out


def canonical_first_name(s: str | None) -> str:
    """Normalised first given name mapped through the nicknames (``"Bob"`` -> ``"ROBERT"``)."""
    name = normalize_name(s)
    if not name:
        return ""
    first = name.split()[0]
    return NICKNAMES.get(first, first)


@lru_cache(maxsize=1 << 18)
def normalize_org_name(s: str | None) -> str:
    """Upper-case ASCII organisation name without punctuation or legal forms.

    Examples
    --------
    >>> normalize_org_name("Capital Internal Medicine, L.L.C.")
    'CAPITAL INTERNAL MEDICINE'
    """
    if s is None:
        return ""
    text = fold(s).replace(".", "").replace("'", "").replace("&", " AND ")
    tokens = _SPACES.sub(" ", _NON_ALNUM.sub(" ", text)).split()
    kept = [t for t in tokens if t not in LEGAL_FORMS]
    return " ".join(kept or tokens)


def normalize_state(s: str | None) -> str | None:
    """USPS two-letter state code from a code or a full name, else ``None``."""
    if s is None:
        return None
    text = _SPACES.sub(" ", _NON_ALNUM.sub(" ", fold(s))).strip()
    if text in _STATE_SET:
        return text
    return STATE_CODES.get(text)


def _street_tokens(tokens: list[str]) -> list[str]:
    """Street-name tokens with the type and directionals abbreviated, each only while a
    name word remains (``NORTH STREET`` stays ``NORTH ST``, USPS Publication 28)."""
    tokens = list(tokens)
    if not tokens:
        return tokens
    # trailing directional after a type: "HIGH STREET NORTH" -> "HIGH ST N"
    if len(tokens) >= 3 and tokens[-1] in DIRECTIONALS and tokens[-2] in STREET_TYPES:
        tokens[-1] = DIRECTIONALS[tokens[-1]]
        tokens[-2] = STREET_TYPES[tokens[-2]]
        last_name = len(tokens) - 3
    elif len(tokens) >= 2 and tokens[-1] in STREET_TYPES:
        tokens[-1] = STREET_TYPES[tokens[-1]]
        last_name = len(tokens) - 2
    else:
        last_name = len(tokens) - 1
        # a leading type (French order, "Boulevard Haussmann") when none trails
        if len(tokens) >= 2 and tokens[0] in STREET_TYPES:
            tokens[0] = STREET_TYPES[tokens[0]]
            return tokens
    # leading directional, only if a name word remains after it
    if last_name >= 1 and tokens[0] in DIRECTIONALS:
        tokens[0] = DIRECTIONALS[tokens[0]]
    return tokens


def normalize_street(text: str) -> str:
    """Canonical form of a street name for matching.

    Upper-cases, transliterates to ASCII, drops apostrophes, turns other
    punctuation into spaces, abbreviates a leading or trailing directional
    ("North" -> "N") and the street type ("Street" -> "ST"), each only when a
    name word remains ("North Street" stays "NORTH ST"). Idempotent.

    Examples
    --------
    >>> normalize_street("North High Street")
    'N HIGH ST'
    >>> normalize_street("n. high st.")
    'N HIGH ST'
    """
    s = re.sub(r"[^A-Z0-9]+", " ", fold(text).replace("'", ""))
    return " ".join(_street_tokens(s.split()))


@lru_cache(maxsize=1 << 18)
def normalize_address(s: str | None) -> str:
    """Upper-case street line: house number, street (:func:`normalize_street`'s rule), unit.

    Unit designators take their USPS abbreviation (``Suite`` -> ``STE``; ``#``
    alone is a suite, and is dropped after a designator).

    Examples
    --------
    >>> normalize_address("123 North Main Street, Suite 200")
    '123 N MAIN ST STE 200'
    >>> normalize_address("100 North Street #4")
    '100 NORTH ST STE 4'
    """
    if s is None:
        return ""
    text = fold(s).replace("#", " # ").replace(".", "").replace("'", "")
    tokens = re.sub(r"[^A-Z0-9# ]+", " ", text).split()
    house: list[str] = []
    while tokens and tokens[0][0].isdigit():
        house.append(tokens.pop(0))
    # a designator ends the street once a street word precedes it (a line 2 may be all unit)
    cut = next(
        (i for i, t in enumerate(tokens) if t in UNIT_DESIGNATORS and (i or not house)),
        len(tokens),
    )
    unit: list[str] = []
    for tok in tokens[cut:]:
        if tok == "#" and unit and unit[-1] in UNIT_DESIGNATORS:
            continue  # "Suite # 200": the sign repeats the designator
        unit.append(UNIT_DESIGNATORS.get(tok, tok))
    return " ".join([*house, *_street_tokens(tokens[:cut]), *unit])


def split_address(line: str) -> tuple[int | None, str]:
    """Split an address line into house number and street.

    Handles "1234 N High St", "1234-B N High St", "1234B ...", "1234 1/2 ...",
    number ranges ("1234-1240 ..." -> 1234) and drops unit designators
    ("Suite 200", "Ste 2", "# 5", "Apt 3", "Fl 2" ...) and anything after
    them, the way NPPES puts them in address line 2.

    Returns
    -------
    tuple
        ``(number, street)``: ``number`` is None when the line does not start
        with one; ``street`` keeps the original spelling, trimmed (pass it to
        :func:`normalize_street` to match).
    """
    text = " ".join(line.replace("#", " # ").split())
    number: int | None = None
    m = _HOUSE_RE.match(text)
    if m:
        number, text = int(m.group(1)), m.group(2)
    kept: list[str] = []
    for word in text.split(",")[0].split():
        if kept and word.upper().rstrip(".") in UNIT_DESIGNATORS:
            break
        kept.append(word)
    return number, " ".join(kept)
