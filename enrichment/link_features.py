"""Normalised comparison fields and blocking keys of records, computed column-wise.

Every text normaliser runs once per *distinct* raw value (``pandas.factorize``,
then a ``take``), so a million records with a few hundred thousand distinct
names cost a few seconds. Each field becomes a :class:`Field`: an int32 code
per record (``-1`` when missing) into the field's distinct normalised strings,
so that equality tests, blocking and EM work on integer arrays and a text is
held once however many records share it.

Identifiers are read from the ``npi`` column and the ``identifiers`` dict of
standard records (``pp_national`` / ``rpps`` for RPPS, ``finess``, ``siret``,
``ein``), or from plain columns of those names (generic CSV linking). The
RPPS reader puts a structure's FINESS and SIRET on the person's record, which
is why identifier rules name the entity types they apply to.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jellyfish
import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from core.country import normalize_phone, read_postal_codes
from core.text import fold, normalize_address, normalize_name, normalize_org_name
from core.words import NICKNAMES
from enrichment.link_settings import GENERIC_FIELD

#: Token-set ratio at which a free-text specialty names a taxonomy classification.
SPECIALTY_TEXT_MATCH = 90.0
ENTITY_CODES = {"individual": 0, "organization": 1}


@dataclass(frozen=True)
class Field:
    """One normalised field: per record a code (``-1`` if missing) into its distinct values.

    ``values`` holds each distinct normalised text once, followed by ``""`` so
    that code ``-1`` reads as the empty text: per record the field costs one
    int32, whatever the length of its text (a national file's names are held
    once each, not once per record).
    """

    code: np.ndarray  # int32
    values: np.ndarray  # object: distinct texts by code, then ""

    @classmethod
    def of(cls, values: np.ndarray | list[Any]) -> Field:
        arr = np.asarray(values, dtype=object)
        missing = pd.isna(arr) | (arr == "")
        codes, uniques = pd.factorize(np.where(missing, None, arr), use_na_sentinel=True)
        return cls.coded(codes, uniques)

    @classmethod
    def coded(cls, codes: np.ndarray, uniques: Any) -> Field:
        """A field from codes (``-1`` missing) into ``uniques``."""
        texts = np.empty(len(uniques) + 1, dtype=object)
        texts[:-1] = np.asarray(uniques, dtype=object)
        texts[-1] = ""
        return cls(code=np.asarray(codes, dtype=np.int32), values=texts)

    def text(self, rows: np.ndarray) -> np.ndarray:
        """The texts of records ``rows`` (``""`` where missing)."""
        return self.values[self.code[rows]]


@dataclass(frozen=True)
class Features:
    """Normalised fields of ``n`` records, by name (see :func:`build_features`)."""

    n: int
    entity: np.ndarray  # int8: 0 individual, 1 organisation, -1 unknown
    fields: Mapping[str, Field]

    def __getitem__(self, name: str) -> Field:
        return self.fields[name]


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    col = frame[name]
    if (
        col.dtype != object
    ):  # compact columns (categoricals): missing is None, as in the standard frame
        col = col.astype(object).where(col.notna(), None)
    return col


def map_distinct(values: pd.Series | np.ndarray, fn: Callable[[Any], Any]) -> np.ndarray:
    """``fn`` applied once per distinct non-missing value; missing -> ``None``."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [fn(u) for u in uniques]
    mapped[-1] = None
    return mapped[codes]  # code -1 takes the trailing None


def _clean(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    s = str(v).strip()
    return s or None


def _generic(v: Any) -> str | None:
    """A declared identifier or extra value: transliterated, upper case, spaces collapsed."""
    s = _clean(v)
    if s is None:
        return None
    return " ".join(fold(s).split()) or None


def _phone(v: Any) -> str | None:
    s = _clean(v)
    if s is None:
        return None
    # stored numbers are E.164 (read whatever the country); older ones ten US or French digits
    return normalize_phone(s, country="US") or normalize_phone(s, country="FR")


def _first_parts(v: Any) -> tuple[str, str, str, bool] | None:
    """(normalised given name, canonical first token, initials, initials only?)."""
    s = _clean(v)
    if s is None:
        return None
    name = normalize_name(s)
    if not name:
        return None
    tokens = name.split()
    initials = "".join(t[0] for t in tokens)
    only = all(len(t) == 1 for t in tokens)
    if not only and len(tokens) == 1 and len(name) == 2 and not set(name) & set("AEIOUY"):
        initials, only = name, True  # "JP" written without separators
    if only:
        return name, initials[0], initials, True
    return name, NICKNAMES.get(tokens[0], tokens[0]), initials, False


def _phonetic(v: Any) -> str | None:
    if not v:
        return None
    key = jellyfish.metaphone(str(v).replace(" ", ""))
    return key or None


def _org_phonetic(v: Any) -> str | None:
    if not v:
        return None
    tokens = str(v).split()[:2]
    return " ".join(jellyfish.metaphone(t) for t in tokens) or None


def _identifier(frame: pd.DataFrame, kind: str) -> np.ndarray:
    """Identifier values from a plain column, else from the ``identifiers`` dicts."""
    if kind == "npi":
        return map_distinct(_column(frame, "npi"), _clean)
    direct = map_distinct(_column(frame, kind), _clean) if kind in frame.columns else None
    if "identifiers" not in frame.columns:
        return direct if direct is not None else np.full(len(frame), None, dtype=object)

    def pick(ids: Any) -> str | None:
        if not isinstance(ids, Mapping):
            return None
        if kind == "rpps":
            if ids.get("pp_national"):
                return str(ids["pp_national"])
            return f"8{ids['rpps']}" if ids.get("rpps") else None
        value = ids.get(kind)
        return str(value) if value else None

    found = np.array([pick(d) for d in frame["identifiers"].to_numpy()], dtype=object)
    if direct is not None:
        found = np.where(pd.isna(direct), found, direct)
    return found


def _classes(codes: np.ndarray, specialty: np.ndarray, classes: Mapping[str, str]) -> np.ndarray:
    """A specialty class per record: the code's classification, else the free text's."""
    vocab = sorted({normalize_name(c) for c in classes.values() if c})

    def of_text(text: Any) -> str | None:
        norm = normalize_name(str(text))
        if not norm:
            return None
        if vocab:
            hit = process.extractOne(
                norm, vocab, scorer=fuzz.token_set_ratio, score_cutoff=SPECIALTY_TEXT_MATCH
            )
            if hit is not None:
                return hit[0]
        return norm

    def of_code(code: Any) -> str | None:
        if code is None:
            return None
        name = classes.get(code)
        return normalize_name(name) if name else f"CODE:{code[:4]}"

    by_code = map_distinct(codes, of_code)
    by_text = map_distinct(specialty, of_text)
    return np.where(pd.isna(by_code), by_text, by_code)


def build_features(
    frame: pd.DataFrame,
    *,
    classes: Mapping[str, str] | None = None,
    country: str | None = None,
) -> Features:
    """Normalise the linking fields of a standard source-record frame.

    Parameters
    ----------
    frame
        Standard source records (missing optional columns count as blank).
    country
        The country of records whose ``country`` column is blank or absent
        (:func:`core.country.record_country`): their postal codes are read by it.
    classes
        NUCC code -> classification for the specialty comparison; without it
        codes agree on their first four characters.
    """
    classes = classes or {}
    n = len(frame)
    first = map_distinct(_column(frame, "first_name"), _first_parts)
    has_first = ~pd.isna(first)
    first_name = np.array([p[0] if p else None for p in first], dtype=object)
    canon = np.array([p[1] if p else None for p in first], dtype=object)
    initials = np.array([p[2] if p else None for p in first], dtype=object)
    only_initials = np.array([bool(p and p[3]) for p in first], dtype=bool)
    last = map_distinct(_column(frame, "last_name"), lambda v: normalize_name(str(v)) or None)
    org = map_distinct(
        _column(frame, "organization_name"), lambda v: normalize_org_name(str(v)) or None
    )
    line1 = _column(frame, "address_1").astype(object).where(lambda s: s.notna(), None)
    line2 = _column(frame, "address_2").astype(object).where(lambda s: s.notna(), None)
    raw_address = [" ".join(str(p) for p in (a, b) if p) or None for a, b in zip(line1, line2)]
    address = map_distinct(
        np.array(raw_address, dtype=object), lambda v: normalize_address(v) or None
    )
    street_number = map_distinct(
        address, lambda a: a.split()[0] if a.split()[0].isdigit() else None
    )
    if "street_number" in frame.columns:  # a file's own column wins over the address's
        own = map_distinct(_column(frame, "street_number"), lambda v: fold(str(v)).strip() or None)
        street_number = np.where(pd.isna(own), street_number, own)
    postal = np.array(
        read_postal_codes(
            [None if pd.isna(v) else str(v) for v in _column(frame, "postal_code")],
            _column(frame, "country") if "country" in frame.columns else None,
            default=country,
            keep_unreadable=True,  # compared as written; the readers and dedupe warn
        ).values,
        dtype=object,
    )
    entity_raw = _column(frame, "entity_type").to_numpy(dtype=object)
    if "entity_type" not in frame.columns:
        # generic inputs: an organisation names one and no person; anything else is a person,
        # blocked on what it has (a record without a surname is still compared)
        person = ~pd.isna(last) | has_first | pd.isna(org)
        entity_raw = np.where(person, "individual", "organization")
    entity = np.array(
        [ENTITY_CODES.get(e, -1) if isinstance(e, str) else -1 for e in entity_raw], dtype=np.int8
    )
    codes = map_distinct(_column(frame, "taxonomy_code"), lambda v: str(v).strip().upper() or None)
    specialty = _classes(codes, _column(frame, "specialty_text").to_numpy(dtype=object), classes)
    # one vocabulary for first and last names, so "swapped" is a code comparison
    name_codes, vocab = pd.factorize(np.concatenate([first_name, last]), use_na_sentinel=True)
    sorted_names = [
        " ".join(sorted((f.split()[0], ln))) if f and ln else None
        for f, ln in zip(first_name, last)
    ]
    fields: dict[str, Field] = {
        "first_name": Field.of(first_name),
        "canon_first": Field.of(canon),
        "first_initials": Field.of(initials),
        "first_initial": Field.of([c[0] if c else None for c in canon]),
        "first_phonetic": Field.of(map_distinct(canon, _phonetic)),
        "last_name": Field.of(last),
        "last_phonetic": Field.of(map_distinct(last, _phonetic)),
        "last_initial": Field.of([s[0] if s else None for s in last]),
        "name_sorted": Field.of(sorted_names),
        # the two initials in either order (a swap with a typo keeps them)
        "initials_sorted": Field.of(
            ["".join(sorted((f[0], ln[0]))) if f and ln else None for f, ln in zip(canon, last)]
        ),
        "organization_name": Field.of(org),
        "org_phonetic": Field.of(map_distinct(org, _org_phonetic)),
        "address": Field.of(address),
        "street_number": Field.of(street_number),
        "phone": Field.of(map_distinct(_column(frame, "phone"), _phone)),
        "postal_code": Field.of(postal),
        "zip3": Field.of([p[:3] if p else None for p in postal]),
        "city": Field.of(
            map_distinct(_column(frame, "city"), lambda v: normalize_name(str(v)) or None)
        ),
        "state": Field.of(map_distinct(_column(frame, "state"), _clean)),
        "taxonomy": Field.of(codes),
        "taxonomy_class": Field.of(specialty),
        "name_vocab_first": Field.coded(name_codes[:n], vocab),
        "name_vocab_last": Field.coded(name_codes[n:], vocab),
        # a flag (1 initials only, 0 not, -1 no given name), read by code alone
        "first_only_initials": Field.coded(
            np.where(has_first, only_initials, -1), np.array(["", ""], dtype=object)
        ),
    }
    dob = map_distinct(_column(frame, "date_of_birth"), _clean)  # ISO, read by the file's reader
    fields["date_of_birth"] = Field.of(dob)
    fields["birth_year"] = Field.of([d[:4] if d else None for d in dob])
    fields["birth_month_day"] = Field.of([d[5:] if d and len(d) == 10 else None for d in dob])
    for kind in ("npi", "rpps", "finess", "siret", "ein"):
        fields[f"id_{kind}"] = Field.of(_identifier(frame, kind))
    for column in frame.columns:  # identifiers and extra columns a file declares
        if isinstance(column, str) and re.fullmatch(GENERIC_FIELD, column):
            fields.setdefault(column, Field.of(map_distinct(frame[column], _generic)))
    return Features(n=n, entity=entity, fields=fields)
