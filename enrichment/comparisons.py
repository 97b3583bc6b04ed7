"""Comparison levels of candidate pairs, computed on whole arrays.

:func:`comparison_levels` returns, for one :class:`~enrichment.link_settings.Comparison`,
the index of the first level each pair reaches (``-1`` when a side is
missing: the null level, weight 0). Equality tests compare integer codes.
Similarity tests run :func:`rapidfuzz.process.cpdist` once per *distinct*
pair of differing values (candidate pairs repeat the same name pairs many
times), on all cores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Indel, JaroWinkler

from core.words import NICKNAMES
from enrichment.link_features import Features, Field
from enrichment.link_settings import Comparison, EntityModel

_SCORERS = {
    "jaro_winkler": JaroWinkler.normalized_similarity,
    "token_set": fuzz.token_set_ratio,
    "token_sort": fuzz.token_sort_ratio,
    "ratio": lambda a, b, **kw: 100.0 * Indel.normalized_similarity(a, b, **kw),
    # edits apart, a swap of neighbours counting one (optimal string alignment)
    "one_edit": OSA.distance,
}

#: The feature a comparison's presence and equality are read from.
_CODE_FIELD = {"taxonomy": "taxonomy"}


def _distinct_pairs(ca: np.ndarray, cb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse index and first occurrence of each distinct (ca, cb) code pair."""
    key = ca.astype(np.int64) * (int(max(ca.max(initial=0), cb.max(initial=0))) + 1) + cb
    inverse, uniques = pd.factorize(key)
    first = np.zeros(len(uniques), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]
    return inverse, first


def similarity(
    features: Features, field: str, test: str, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """rapidfuzz similarity of ``field`` for each pair (0..1 for Jaro-Winkler, else 0..100)."""
    f = features[field]
    ca, cb = f.code[left], f.code[right]
    inverse, first = _distinct_pairs(ca, cb)
    a = f.text(left[first]).tolist()
    b = f.text(right[first]).tolist()
    if not a:
        return np.zeros(len(left), dtype=np.float32)
    scores = process.cpdist(a, b, scorer=_SCORERS[test], workers=-1)
    return np.asarray(scores, dtype=np.float32)[inverse]


def _initials_agree(features: Features, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """One side written as initials only, and its initials prefix the other side's."""
    ini = features["first_initials"]
    only = features["first_only_initials"].code
    la, lb = only[left] == 1, only[right] == 1
    out = np.zeros(len(left), dtype=bool)
    cand = np.flatnonzero(la | lb)
    if not len(cand):
        return out
    inverse, first = _distinct_pairs(ini.code[left[cand]], ini.code[right[cand]])
    ta, tb = ini.text(left[cand][first]), ini.text(right[cand][first])
    oa, ob = la[cand][first], lb[cand][first]
    hits = np.array(
        [
            bool(x and y) and ((a_only and y.startswith(x)) or (b_only and x.startswith(y)))
            for x, y, a_only, b_only in zip(ta, tb, oa, ob)
        ],
        dtype=bool,
    )
    out[cand] = hits[inverse]
    return out


def _name_alike(x: str, y: str) -> bool:
    """Two names one person may be written with: the same first word's canonical form
    (Bob = Robert) or one an initial the other starts with (the similar ones aside)."""
    tx, ty = x.split()[:1], y.split()[:1]
    if not tx or not ty:
        return False
    a, b = tx[0], ty[0]
    if NICKNAMES.get(a, a) == NICKNAMES.get(b, b):
        return True
    return (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b))


def _swapped(
    features: Features, left: np.ndarray, right: np.ndarray, threshold: float | None
) -> np.ndarray:
    """First and last names exchanged: each side's given name is the other's surname and
    the other way round; equal or, with a ``threshold``, each crosswise pair Jaro-Winkler
    similar at it, a nickname or an initial of the other (a typo, "Smith Bob" = "Robert Smith")."""
    first, last = features["name_vocab_first"], features["name_vocab_last"]  # one vocabulary
    fa, la, fb, lb = first.code[left], last.code[left], first.code[right], last.code[right]
    present = (fa >= 0) & (la >= 0) & (fb >= 0) & (lb >= 0)
    hit = present & (fa == lb) & (la == fb)
    if threshold is None:
        return hit
    cand = np.flatnonzero(present & ~hit)
    texts = first.values  # the shared vocabulary
    for a, b in ((fa, lb), (la, fb)):  # the given name of one, the surname of the other
        if not len(cand):
            break
        inverse, at = _distinct_pairs(a[cand], b[cand])
        xa, xb = texts[a[cand][at]].tolist(), texts[b[cand][at]].tolist()
        sim = np.asarray(
            process.cpdist(xa, xb, scorer=JaroWinkler.normalized_similarity, workers=-1)
        )
        ok = (sim >= threshold) | np.array([_name_alike(x, y) for x, y in zip(xa, xb)], bool)
        cand = cand[ok[inverse]]
    hit[cand] = True
    return hit


def _day_month_swapped(f: Field, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """ISO dates (``YYYY-MM-DD``) equal once one side's day and month are exchanged."""
    swapped = np.array(
        [v[:5] + v[8:10] + "-" + v[5:7] if len(v) == 10 else "" for v in f.values], dtype=object
    )
    ca, cb = f.code[left], f.code[right]
    return (ca != cb) & (swapped[ca] == f.values[cb]) & (swapped[ca] != "")


def comparison_levels(
    comparison: Comparison, features: Features, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Index of the first level each pair reaches, ``-1`` where a side is missing (int8)."""
    fld = comparison.field
    if fld == "location":
        return _location_levels(comparison, features, left, right)
    if fld == "taxonomy":
        present = (features["taxonomy"].code >= 0) | (features["taxonomy_class"].code >= 0)
        missing = ~(present[left] & present[right])
    else:
        code = features[fld].code
        missing = (code[left] < 0) | (code[right] < 0)
    level = np.full(len(left), -1, dtype=np.int8)
    open_ = ~missing
    sims: dict[str, np.ndarray] = {}
    for k, lv in enumerate(comparison.levels):
        idx = np.flatnonzero(open_)
        if not len(idx):
            break
        li, ri = left[idx], right[idx]
        if lv.test == "exact":
            code = features[_CODE_FIELD.get(fld, fld)].code
            hit = (code[li] == code[ri]) & (code[li] >= 0)
        elif lv.test == "nickname":
            code = features["canon_first"].code
            hit = (code[li] == code[ri]) & (code[li] >= 0)
        elif lv.test == "initials":
            hit = _initials_agree(features, li, ri)
        elif lv.test == "swapped":
            hit = _swapped(features, li, ri, lv.threshold)
        elif lv.test == "same_classification":
            code = features["taxonomy_class"].code
            hit = (code[li] == code[ri]) & (code[li] >= 0)
        elif lv.test in ("prefix3", "prefix"):
            f = features[fld]
            chars = 3 if lv.test == "prefix3" else int(lv.threshold or 0)
            pre = pd.Series(f.values).str[:chars].to_numpy(dtype=object)  # per distinct value
            hit = pre[f.code[li]] == pre[f.code[ri]]
        elif lv.test == "dob_swapped":
            hit = _day_month_swapped(features[fld], li, ri)
        elif lv.test == "else":
            hit = np.ones(len(idx), dtype=bool)
        else:
            if lv.test not in sims:
                full = np.zeros(len(left), dtype=np.float32)
                full[idx] = similarity(features, fld, lv.test, li, ri)
                sims[lv.test] = full
            if lv.test == "one_edit":
                hit = sims[lv.test][idx] <= 1
            else:
                hit = sims[lv.test][idx] >= float(lv.threshold or 0)
        level[idx[hit]] = k
        open_[idx[hit]] = False
    return level


def _location_levels(
    comparison: Comparison, features: Features, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Practice location as one comparison: address, phone and ZIP are not independent.

    Tests: ``site`` (address similar at ``threshold`` and phone or ZIP equal),
    ``address`` (address similar); neither when both sides have a house number
    and they differ; ``phone`` (phone equal), ``exact`` (ZIP
    equal), ``prefix3`` (ZIP3 equal), ``else``. Null when no part is on both sides.
    """

    def both(name: str) -> np.ndarray:
        code = features[name].code
        return (code[left] >= 0) & (code[right] >= 0)

    def equal(name: str) -> np.ndarray:
        code = features[name].code
        return (code[left] == code[right]) & (code[left] >= 0)

    has_addr, has_phone, has_zip = both("address"), both("phone"), both("postal_code")
    missing = ~(has_addr | has_phone | has_zip)
    level = np.full(len(left), -1, dtype=np.int8)
    open_ = ~missing
    phone_eq, zip_eq = equal("phone"), equal("postal_code")
    addr_sims: dict[tuple[str, float], np.ndarray] = {}

    def address_like(test: str, threshold: float) -> np.ndarray:
        key = (test, threshold)
        if key not in addr_sims:
            out = equal("address")
            idx = np.flatnonzero(has_addr & ~out)
            if len(idx):
                out[idx] = similarity(features, "address", test, left[idx], right[idx]) >= threshold
            # two house numbers are two buildings, however alike the street's words
            addr_sims[key] = out & ~(both("street_number") & ~equal("street_number"))
        return addr_sims[key]

    for k, lv in enumerate(comparison.levels):
        if lv.test == "exact":
            hit = zip_eq
        elif lv.test == "prefix3":
            hit = equal("zip3")
        elif lv.test == "else":
            hit = np.ones(len(left), dtype=bool)
        elif lv.test == "phone":
            hit = phone_eq
        else:  # a similarity test on the address; "site" needs phone or ZIP too
            test = lv.test if lv.test != "site" else "token_set"
            hit = address_like(test, float(lv.threshold or 100))
            if lv.test == "site":
                hit = hit & (phone_eq | zip_eq)
        level[open_ & hit] = k
        open_ &= ~hit
    return level


def gamma_matrix(
    model: EntityModel, features: Features, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Levels of every comparison of ``model``: an int8 matrix ``(pairs, comparisons)``."""
    out = np.empty((len(left), len(model.comparisons)), dtype=np.int8)
    swapped: np.ndarray | None = None
    for j, comp in enumerate(model.comparisons):
        out[:, j] = comparison_levels(comp, features, left, right)
        at = [k for k, lv in enumerate(comp.levels) if lv.test == "swapped"]
        if not at:
            continue
        hit = out[:, j] == at[0]
        if swapped is None:
            swapped = hit
        else:  # one exchange of the two names is one piece of evidence: counted once
            out[hit & swapped, j] = -1
    return out
