"""The ways people write a provider's name differently.

The variant helpers turn a registry-style name (``ROBERT J SMITH MD``) into the
forms a clinic's spreadsheet or a referral fax uses (``Dr. Bob Smith``,
``Smith, Robert``, ``Dr. R. Smith``), including a one-character typo. The name
pools they draw from are in :mod:`demo.name_pools`.
"""

from __future__ import annotations

import numpy as np

from demo.name_pools import NICKNAMES

__all__ = ["free_text_name", "list_style_name", "title_case", "typo"]

_KEYBOARD_NEIGHBOURS = {
    "A": "SQ",
    "B": "VN",
    "C": "XV",
    "D": "SF",
    "E": "WR",
    "F": "DG",
    "G": "FH",
    "H": "GJ",
    "I": "UO",
    "J": "HK",
    "K": "JL",
    "L": "K",
    "M": "N",
    "N": "BM",
    "O": "IP",
    "P": "O",
    "Q": "W",
    "R": "ET",
    "S": "AD",
    "T": "RY",
    "U": "YI",
    "V": "CB",
    "W": "QE",
    "X": "ZC",
    "Y": "TU",
    "Z": "X",
}


def title_case(text: str) -> str:
    """``"MCDONALD"`` -> ``"Mcdonald"``, ``"MARY-ANN"`` -> ``"Mary-Ann"`` (spreadsheet style)."""
    return "-".join(part.capitalize() for part in text.split("-"))


def typo(name: str, rng: np.random.Generator) -> str:
    """Introduce exactly one keyboard-style error into ``name``.

    One of: a neighbouring key substituted, two adjacent letters swapped, or a
    letter dropped (never the first letter, so blocking keys still agree).
    Names of three letters or fewer are returned unchanged.

    Parameters
    ----------
    name
        Upper-case name.
    rng
        Seeded generator.
    """
    if len(name) <= 3:
        return name
    pos = int(rng.integers(1, len(name) - 1))
    kind = int(rng.integers(0, 3))
    chars = list(name)
    if kind == 0 and chars[pos] in _KEYBOARD_NEIGHBOURS:
        options = _KEYBOARD_NEIGHBOURS[chars[pos]]
        chars[pos] = options[int(rng.integers(0, len(options)))]
    elif kind == 1 and chars[pos] != chars[pos + 1]:
        chars[pos], chars[pos + 1] = chars[pos + 1], chars[pos]
    else:
        del chars[pos]
    out = "".join(chars)
    return out if out != name else name[:pos] + name[pos + 1 :]


def list_style_name(
    first: str,
    last: str,
    middle: str,
    credential: str,
    rng: np.random.Generator,
    *,
    allow_typo: bool = True,
) -> tuple[str, dict[str, bool]]:
    """A clinic-spreadsheet rendering of a provider's name.

    Parameters
    ----------
    first, last, middle, credential
        Registry (upper-case) name parts; ``middle`` may be empty.
    rng
        Seeded generator.
    allow_typo
        Whether a one-character typo may be introduced (about 7% of names).

    Returns
    -------
    name : str
        E.g. ``"Dr. Bob Smith"``, ``"Smith, Robert J"``, ``"Robert Smith, MD"``.
    flags : dict
        Which distortions were applied: ``nickname``, ``typo``, ``last_first``.
    """
    flags = {"nickname": False, "typo": False, "last_first": False}
    given = first
    nick = NICKNAMES.get(first)
    if nick and rng.random() < 0.45:
        given = nick[int(rng.integers(0, len(nick)))]
        flags["nickname"] = True
    family = last
    if allow_typo and rng.random() < 0.07:
        if rng.random() < 0.7:
            family = typo(last, rng)
        else:
            given = typo(given, rng)
        flags["typo"] = True
    g, f = title_case(given), title_case(family)
    mid = f" {middle[0]}" if middle and rng.random() < 0.3 else ""
    style = rng.random()
    doctor = credential.replace(".", "") in {"MD", "DO", "DPM", "DDS", "DMD", "DC"}
    if style < 0.25:
        flags["last_first"] = True
        return f"{f}, {g}{mid}", flags
    if style < 0.6 and doctor:
        return f"Dr. {g}{mid} {f}", flags
    if style < 0.85 and credential:
        return f"{g}{mid} {f}, {credential.replace('.', '')}", flags
    return f"{g}{mid} {f}", flags


def free_text_name(first: str, last: str, credential: str, rng: np.random.Generator) -> str:
    """How a referral form names a referrer without an NPI.

    Returns one of ``"Dr. R. Smith"``, ``"Dr Smith"``, ``"Robert Smith MD"``,
    ``"SMITH, ROBERT"`` or ``"R Smith, PA-C"``, chosen at random.
    """
    cred = credential.replace(".", "")
    doctor = cred in {"MD", "DO", "DPM", "DDS", "DMD", "DC"}
    f, g = title_case(last), title_case(first)
    style = int(rng.integers(0, 5))
    if style == 0 and doctor:
        return f"Dr. {g[0]}. {f}"
    if style == 1 and doctor:
        return f"Dr {g} {f}"
    if style == 2 and cred:
        return f"{g} {f} {cred}"
    if style == 3:
        return f"{last}, {first}"
    return f"{g[0]} {f}, {cred}" if cred else f"{g} {f}"
