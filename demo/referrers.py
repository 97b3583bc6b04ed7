"""The clinic's own referrer list: a spreadsheet export, not a registry extract.

Headers, spellings and formats differ from NPPES on purpose, the way a front
desk keeps such a list: ``Dr. Bob Smith`` for NPPES ``ROBERT J SMITH MD``,
nicknames, ``Last, First``, a one-letter typo now and then, title case,
``Street`` vs ``St``, ``Ste 200`` vs ``Suite 200``, phones as
``(614) 555-0123``, the NPI missing on ~40% of rows, a few people listed twice
and a few who are not in NPPES at all.  The truth (which row is which NPI) is
returned separately for the manifest and for tests of the matcher.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from demo.addresses import abbreviate_street
from demo.name_pools import FEMALE_FIRST, MALE_FIRST
from demo.names import list_style_name, title_case
from demo.specialties import INDIVIDUAL_SPECIALTIES, nucc_labels

__all__ = ["REFERRER_COLUMNS", "format_phone", "referrer_list"]

REFERRER_COLUMNS: tuple[str, ...] = (
    "Referrer ID",
    "Referring Physician",
    "Specialty",
    "Practice",
    "Address",
    "Suite",
    "City",
    "State",
    "Zip",
    "Phone",
    "NPI",
)
_SUITE_WORDS = ("Suite", "Ste", "Ste.", "#", "Suite")
_ABSENT_LAST = (
    "ABERNATHY",
    "THISTLEWOOD",
    "BALLANTYNE",
    "DUQUESNE",
    "HOLLINGSWORTH",
    "MACALLISTER",
    "VANTERPOOL",
    "ZIELINSKI",
    "OYELARAN",
    "KRASINSKI",
    "PEMBERTON",
)
_PRACTICE_TRIM = (" INC", " LLC", " PLLC", " LLP")


def format_phone(digits: str, style: int) -> str:
    """``"6145550123"`` as ``(614) 555-0123`` (style 0), ``614-555-0123`` (1) or ``614.555.0123`` (2)."""
    if len(digits) != 10:
        return digits
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return (f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}")[style % 3]


def _label(code: str, labels: dict[str, str]) -> str:
    text = labels.get(code, code)
    for tail in (" Physician", " Nurse Practitioner"):
        if text.endswith(tail) and text != tail.strip():
            return text[: -len(tail)] + (" NP" if tail == " Nurse Practitioner" else "")
    return text


def _practice(org_name: str, rng: np.random.Generator) -> str:
    name = org_name
    for t in _PRACTICE_TRIM:
        if name.endswith(t) and rng.random() < 0.7:
            name = name[: -len(t)]
    name = name.split(" - ")[-1] if " - " in name and rng.random() < 0.3 else name
    return " ".join(
        title_case(w) if w not in {"&", "OB", "GYN", "MD", "DDS"} else w for w in name.split()
    )


def referrer_list(
    individuals: pd.DataFrame,
    orgs: pd.DataFrame,
    buildings: pd.DataFrame,
    referrer_rows: np.ndarray,
    rng: np.random.Generator,
    *,
    nucc_file: Path,
    size: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the referrer spreadsheet and its truth.

    Parameters
    ----------
    individuals
        Active individuals, one row per person (``npi``, names, ``credential``,
        ``code``, ``org_id``, ``building``, ``suite``, ``phone``).
    orgs
        Organisations (``name`` by ``org_id``).
    buildings
        Street addresses by building id.
    referrer_rows
        Positions in ``individuals`` of providers who refer, best first.
    rng
        Seeded generator.
    nucc_file
        NUCC CSV, for specialty wording.
    size
        Number of rows wanted (about 75% referrers, 20% other local providers,
        and a few duplicates and people absent from NPPES).

    Returns
    -------
    table : pandas.DataFrame
        Columns :data:`REFERRER_COLUMNS`, all strings.
    truth : pandas.DataFrame
        One row per table row: ``row`` (0-based data row), ``referrer_id``,
        ``npi`` (the true NPI, "" when absent from NPPES), ``kind``
        (``referrer``, ``other``, ``duplicate``, ``not_in_nppes``),
        ``npi_written``, ``nickname``, ``typo``, ``last_first``.
    """
    labels = nucc_labels(Path(nucc_file))
    n_dup = max(1, round(size * 0.02))
    n_absent = max(1, round(size * 0.03))
    n_people = size - n_dup - n_absent
    n_ref = min(len(referrer_rows), round(n_people * 0.78))
    others_pool = np.setdiff1d(np.arange(len(individuals)), referrer_rows)
    n_other = min(len(others_pool), n_people - n_ref)
    picks = [(int(r), "referrer") for r in referrer_rows[:n_ref]]
    picks += [(int(r), "other") for r in rng.choice(others_pool, size=n_other, replace=False)]
    dup_src = rng.choice(len(picks), size=min(n_dup, len(picks)), replace=False)
    picks += [(picks[i][0], "duplicate") for i in dup_src.tolist()]
    picks += [(-1, "not_in_nppes")] * n_absent
    order = rng.permutation(len(picks))
    picks = [picks[i] for i in order.tolist()]

    org_name = dict(zip(orgs["org_id"].tolist(), orgs["name"].tolist()))
    table, truth = [], []
    for out_row, (pos, kind) in enumerate(picks):
        rid = f"{1001 + out_row}"
        if pos < 0:  # someone not in NPPES: made-up name, real street of the area
            male = rng.random() < 0.5
            first = (MALE_FIRST if male else FEMALE_FIRST)[int(rng.integers(0, 60))]
            last = _ABSENT_LAST[int(rng.integers(0, len(_ABSENT_LAST)))]
            person = {
                "first": first,
                "last": last,
                "middle": "",
                "credential": "MD",
                "code": INDIVIDUAL_SPECIALTIES[0].code,
                "org_id": -1,
                "building": int(rng.integers(0, len(buildings))),
                "suite": "",
                "phone": f"614{int(rng.integers(2_000_000, 9_999_999))}",
                "npi": "",
            }
        else:
            person = individuals.iloc[pos].to_dict()
        name, flags = list_style_name(
            person["first"],
            person["last"],
            person["middle"],
            person["credential"],
            rng,
            allow_typo=kind != "not_in_nppes",
        )
        b = buildings.iloc[int(person["building"])]
        style = ("abbr", "suffix", "full")[int(rng.integers(0, 3))]
        street = " ".join(
            title_case(w) for w in abbreviate_street(b["street"], style=style).split()
        )
        suite = person["suite"]
        suite_txt = (
            ""
            if not suite
            else (
                f"#{suite}"
                if (w := _SUITE_WORDS[int(rng.integers(0, 5))]) == "#"
                else f"{w} {suite}"
            )
        )
        zip_txt = (
            b["zip5"] if rng.random() < 0.85 else f"{b['zip5']}-{int(rng.integers(1000, 9999))}"
        )
        npi_written = bool(person["npi"]) and rng.random() < 0.6
        practice = (
            _practice(org_name[person["org_id"]], rng)
            if person["org_id"] >= 0
            else ("" if rng.random() < 0.5 else "Private Practice")
        )
        table.append(
            {
                "Referrer ID": rid,
                "Referring Physician": name,
                "Specialty": _label(person["code"], labels),
                "Practice": practice,
                "Address": f"{b['number']} {street}",
                "Suite": suite_txt,
                "City": " ".join(title_case(w) for w in b["city_written"].split()),
                "State": "OH" if rng.random() < 0.9 else "Ohio",
                "Zip": zip_txt,
                "Phone": format_phone(person["phone"], int(rng.integers(0, 3))),
                "NPI": person["npi"] if npi_written else "",
            }
        )
        truth.append(
            {
                "row": out_row,
                "referrer_id": rid,
                "npi": person["npi"],
                "kind": kind,
                "npi_written": npi_written,
                **flags,
            }
        )
    return pd.DataFrame(table, columns=list(REFERRER_COLUMNS)), pd.DataFrame(truth)
