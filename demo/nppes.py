"""Write a :class:`~demo.population.Population` as an NPPES ``npidata_pfile`` CSV.

The file uses the current (2024-) 330-column layout read from
``nppes_npidata_columns_v2024.txt``, quotes every value (``csv.QUOTE_ALL``)
and writes dates as ``MM/DD/YYYY``, like the CMS monthly file.  Columns the
demo has no use for (other names, the 50 other-identifier groups beyond the
first, taxonomy groups) are left empty, which is also what most real rows do.
Deactivated NPIs carry only the NPI, replacement NPI, deactivation reason code
and date, as in the real file.
"""

from __future__ import annotations

import csv
from datetime import date
from itertools import repeat
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import Problem, SchemaError
from demo.addresses import abbreviate_street, po_box_zips, zip_plus4
from demo.population import Population
from demo.specialties import INDIVIDUAL_SPECIALTIES, ORG_KINDS, license_numbers

__all__ = ["nppes_frame", "read_columns", "write_nppes"]

_FIRST_ENUMERATION = date(2005, 5, 23)
_OTHER_STATES = ("KY", "IN", "MI", "PA", "WV", "FL", "IL")


def read_columns(columns_file: Path) -> list[str]:
    """The NPPES header, one column name a line.

    Raises
    ------
    SchemaError
        If the file does not hold the 330 distinct names of the current layout.
    """
    names = [
        ln.strip()
        for ln in Path(columns_file).read_text(encoding="utf-8-sig").splitlines()
        if ln.strip()
    ]
    problems = []
    if len(names) != 330:
        problems.append(
            Problem(f"expected 330 column names, found {len(names)}", file=str(columns_file))
        )
    if len(set(names)) != len(names):
        problems.append(Problem("duplicate column names", file=str(columns_file)))
    if names[:2] != ["NPI", "Entity Type Code"]:
        problems.append(
            Problem("first columns must be NPI, Entity Type Code", file=str(columns_file), line=1)
        )
    if problems:
        raise SchemaError("not the current NPPES column list", problems=problems)
    return names


def _mmddyyyy(ordinals: np.ndarray) -> np.ndarray:
    return np.array([date.fromordinal(int(o)).strftime("%m/%d/%Y") for o in ordinals], dtype=object)


def _dates(
    rng: np.random.Generator, n: int, as_of: date
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Enumeration, last-update and certification dates (ordinals; 0 = blank certification)."""
    lo, hi = _FIRST_ENUMERATION.toordinal(), as_of.toordinal() - 20
    enum = np.where(rng.random(n) < 0.15, lo, rng.integers(lo, hi, size=n))
    upd = enum + (rng.random(n) * (hi - enum)).astype(np.int64)
    cert = np.where(rng.random(n) < 0.55, upd + (rng.random(n) * (hi - upd)).astype(np.int64), 0)
    return enum, upd, cert


def _street_lines(b: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """First address line of each building, in mixed registry spellings."""
    style = rng.choice(np.array(["abbr", "suffix", "full"]), size=len(b), p=[0.6, 0.2, 0.2])
    return np.array(
        [
            f"{num} {abbreviate_street(st, style=sty)}"
            for num, st, sty in zip(b["number"].tolist(), b["street"].tolist(), style.tolist())
        ],
        dtype=object,
    )


def _taxonomy_slots(
    rng: np.random.Generator, codes: list[list[str]], lic: np.ndarray, primary_not_first: float
) -> dict[str, np.ndarray]:
    """Fill taxonomy slots 1-3 and return NPPES columns; the primary's position varies."""
    n = len(codes)
    cols: dict[str, np.ndarray] = {}
    for j in range(1, 4):
        for c in (
            "Healthcare Provider Taxonomy Code",
            "Provider License Number",
            "Provider License Number State Code",
            "Healthcare Provider Primary Taxonomy Switch",
        ):
            cols[f"{c}_{j}"] = np.full(n, "", dtype=object)
    move = rng.random(n) < primary_not_first
    where = rng.integers(0, 3, size=n)
    other_state = np.asarray(_OTHER_STATES, dtype=object)[
        rng.integers(0, len(_OTHER_STATES), size=(n, 3))
    ]
    other_lic = rng.integers(10_000, 9_999_999, size=(n, 3))
    for i, slot_codes in enumerate(codes):
        k = len(slot_codes)
        pos = 0 if k == 1 or not move[i] else 1 + int(where[i]) % (k - 1)
        order = list(range(1, k))
        order.insert(pos, 0)  # order[slot] = index into slot_codes
        for slot, src in enumerate(order, start=1):
            code = slot_codes[src]
            cols[f"Healthcare Provider Taxonomy Code_{slot}"][i] = code
            cols[f"Healthcare Provider Primary Taxonomy Switch_{slot}"][i] = (
                "Y" if src == 0 else "N"
            )
            if lic[i] == "":
                continue
            if src > 0 and code == slot_codes[0]:  # same taxonomy, licence in another state
                cols[f"Provider License Number_{slot}"][i] = f"{other_lic[i, slot - 1]}"
                cols[f"Provider License Number State Code_{slot}"][i] = other_state[i, slot - 1]
            else:
                cols[f"Provider License Number_{slot}"][i] = lic[i]
                cols[f"Provider License Number State Code_{slot}"][i] = "OH"
    return cols


def _address_columns(
    prefix: str,
    line1: np.ndarray,
    line2: np.ndarray,
    city: np.ndarray,
    zips: np.ndarray,
    phone: np.ndarray,
    fax: np.ndarray,
) -> dict[str, np.ndarray]:
    return {
        f"Provider First Line Business {prefix} Address": line1,
        f"Provider Second Line Business {prefix} Address": line2,
        f"Provider Business {prefix} Address City Name": city,
        f"Provider Business {prefix} Address State Name": np.full(len(line1), "OH", dtype=object),
        f"Provider Business {prefix} Address Postal Code": zips,
        f"Provider Business {prefix} Address Country Code (If outside U.S.)": np.full(
            len(line1), "US", dtype=object
        ),
        f"Provider Business {prefix} Address Telephone Number": phone,
        f"Provider Business {prefix} Address Fax Number": fax,
    }


def _location(
    rows: pd.DataFrame,
    buildings: pd.DataFrame,
    line1_of_building: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Practice-location and mailing columns for rows with ``building``, ``suite``, ``phone``, ``fax``."""
    n = len(rows)
    bidx = rows["building"].to_numpy()
    b = buildings.iloc[bidx]
    suite = rows["suite"].to_numpy()
    word = np.asarray(["STE", "SUITE", "STE", "# "], dtype=object)[rng.integers(0, 4, size=n)]
    unit = np.array(
        [
            ("" if s == "" else (f"#{s}" if w == "# " else f"{w} {s}"))
            for s, w in zip(suite.tolist(), word.tolist())
        ],
        dtype=object,
    )
    inline = rng.random(n) < 0.12  # "4780 SWEETWATER BLVD STE 100" on one line
    line1 = line1_of_building[bidx]
    line1 = np.where(inline & (unit != ""), line1 + " " + unit, line1)
    line2 = np.where(inline, "", unit)
    zip5 = b["zip5"].to_numpy()
    nine = rng.random(n) < 0.7
    zips = np.where(nine, zip_plus4(zip5, rng), zip5)
    city = b["city_written"].to_numpy()
    phone, fax = rows["phone"].to_numpy(), rows["fax"].to_numpy()
    cols = _address_columns("Practice Location", line1, line2, city, zips, phone, fax)
    # mailing: same as practice, or a PO box
    box = rng.random(n) < 0.12
    box_zip = np.asarray(po_box_zips(), dtype=object)[rng.integers(0, len(po_box_zips()), size=n)]
    box_line = np.array(
        [f"PO BOX {v}" for v in rng.integers(1000, 99999, size=n).tolist()], dtype=object
    )
    cols.update(
        _address_columns(
            "Mailing",
            np.where(box, box_line, line1),
            np.where(box, "", line2),
            np.where(box, "COLUMBUS", city),
            np.where(box, zip_plus4(box_zip, rng), zips),
            phone,
            np.where(box, "", fax),
        )
    )
    return cols


def nppes_frame(
    pop: Population, buildings: pd.DataFrame, rng: np.random.Generator, *, as_of: date
) -> pd.DataFrame:
    """NPPES columns (only the ones filled) for every NPI of ``pop``, rows shuffled.

    Parameters
    ----------
    pop
        The population.
    buildings
        From :func:`demo.addresses.place_buildings`, indexed by building id.
    rng
        Seeded generator.
    as_of
        No date is later than this.

    Returns
    -------
    pandas.DataFrame
        String columns named as in the NPPES header; missing columns are blank.
    """
    line1 = _street_lines(buildings, rng)
    ind, org = pop.individuals, pop.orgs
    n_i, n_o = len(ind), len(org)
    # individuals
    specs = [INDIVIDUAL_SPECIALTIES[s] for s in ind["spec"].tolist()]
    k = rng.choice([1, 2, 3], size=n_i, p=[0.55, 0.30, 0.15])
    sec_pick = rng.random((n_i, 2))
    codes: list[list[str]] = []
    for s, kk, sp in zip(specs, k.tolist(), sec_pick):
        extra = [s.code]
        for j in range(kk - 1):
            pool = s.secondary or (s.code,)
            c = pool[int(sp[j] * len(pool))] if sp[j] < 0.6 else s.code
            if c in extra[1:] and c != s.code:
                c = s.code
            extra.append(c)
        codes.append(extra)
    styles = np.array([s.licence for s in specs], dtype=object)
    styles = np.where(
        (styles == "md") & np.isin(ind["credential"].to_numpy(), ["DO", "D.O."]), "do", styles
    )
    lic = license_numbers(rng, styles)
    enum, upd, cert = _dates(rng, n_i, as_of)
    dup = ind["dup_of"].to_numpy() != ""  # a second NPI is a recent enumeration
    enum = np.where(dup, np.maximum(enum, as_of.toordinal() - 900), enum)
    upd = np.maximum(upd, enum)
    cols_i: dict[str, np.ndarray] = {
        "NPI": ind["npi"].to_numpy(),
        "Entity Type Code": np.full(n_i, "1", dtype=object),
        "Provider Last Name (Legal Name)": ind["last"].to_numpy(),
        "Provider First Name": ind["first"].to_numpy(),
        "Provider Middle Name": ind["middle"].to_numpy(),
        "Provider Name Prefix Text": ind["prefix"].to_numpy(),
        "Provider Name Suffix Text": ind["suffix"].to_numpy(),
        "Provider Credential Text": ind["credential"].to_numpy(),
        "Provider Enumeration Date": _mmddyyyy(enum),
        "Last Update Date": _mmddyyyy(upd),
        "Certification Date": np.where(cert > 0, _mmddyyyy(np.maximum(cert, upd)), ""),
        "Provider Sex Code": ind["sex"].to_numpy(),
        "Is Sole Proprietor": np.where(
            ind["org_id"].to_numpy() < 0, "Y", np.where(rng.random(n_i) < 0.03, "X", "N")
        ),
    }
    cols_i.update(_location(ind, buildings, line1, rng))
    cols_i.update(_taxonomy_slots(rng, codes, lic, primary_not_first=0.67))
    medicaid = rng.random(n_i) < 0.4
    cols_i["Other Provider Identifier_1"] = np.where(
        medicaid,
        np.array([f"{v:07d}" for v in rng.integers(0, 9_999_999, n_i).tolist()], dtype=object),
        "",
    )
    cols_i["Other Provider Identifier Type Code_1"] = np.where(medicaid, "05", "")
    cols_i["Other Provider Identifier State_1"] = np.where(medicaid, "OH", "")
    frame_i = pd.DataFrame(cols_i)

    # organisations
    kinds = [ORG_KINDS[k] for k in org["kind"].tolist()]
    pick = rng.random(n_o)
    two = rng.random(n_o) < 0.3
    org_codes = [
        [kd.codes[int(p * len(kd.codes))]]
        + (
            [kd.codes[0]]
            if t and len(kd.codes) > 1 and kd.codes[int(p * len(kd.codes))] != kd.codes[0]
            else []
        )
        for kd, p, t in zip(kinds, pick.tolist(), two.tolist())
    ]
    org_lic = np.where(
        rng.random(n_o) < 0.3,
        np.array([f"{v}" for v in rng.integers(100, 99_999, n_o).tolist()], dtype=object),
        "",
    )
    enum, upd, cert = _dates(rng, n_o, as_of)
    auth_phone = np.where(rng.random(n_o) < 0.7, org["phone"].to_numpy(), org["fax"].to_numpy())
    auth_phone = np.where(auth_phone == "", org["phone"].to_numpy(), auth_phone)
    cols_o: dict[str, np.ndarray] = {
        "NPI": org["npi"].to_numpy(),
        "Entity Type Code": np.full(n_o, "2", dtype=object),
        "Employer Identification Number (EIN)": np.full(n_o, "<UNAVAIL>", dtype=object),
        "Provider Organization Name (Legal Business Name)": org["name"].to_numpy(),
        "Provider Enumeration Date": _mmddyyyy(enum),
        "Last Update Date": _mmddyyyy(upd),
        "Certification Date": np.where(cert > 0, _mmddyyyy(np.maximum(cert, upd)), ""),
        "Authorized Official Last Name": org["official_last"].to_numpy(),
        "Authorized Official First Name": org["official_first"].to_numpy(),
        "Authorized Official Middle Name": org["official_middle"].to_numpy(),
        "Authorized Official Title or Position": org["official_title"].to_numpy(),
        "Authorized Official Telephone Number": auth_phone,
        "Authorized Official Name Prefix Text": np.where(
            rng.random(n_o) < 0.4, np.where(rng.random(n_o) < 0.5, "MR.", "MS."), ""
        ),
        "Is Organization Subpart": np.where(org["subpart"].to_numpy(), "Y", "N"),
        "Parent Organization LBN": org["parent_lbn"].to_numpy(),
        "Parent Organization TIN": np.where(org["subpart"].to_numpy(), "314394942", ""),
    }
    cols_o.update(_location(org, buildings, line1, rng))
    cols_o.update(_taxonomy_slots(rng, org_codes, org_lic, primary_not_first=0.5))
    frame_o = pd.DataFrame(cols_o)

    # deactivated
    d = pop.deactivated
    frame_d = pd.DataFrame(
        {
            "NPI": d["npi"].to_numpy(),
            "Replacement NPI": d["replacement"].to_numpy(),
            "NPI Deactivation Reason Code": d["reason"].to_numpy(),
            "NPI Deactivation Date": _mmddyyyy(d["date_ordinal"].to_numpy()),
        }
    )
    out = pd.concat([frame_o, frame_i, frame_d], ignore_index=True).fillna("")
    return out.iloc[rng.permutation(len(out))].reset_index(drop=True)


def write_nppes(
    frame: pd.DataFrame,
    path: Path,
    columns: list[str],
    *,
    append: bool = False,
    batch_rows: int = 5000,
) -> int:
    """Write ``frame`` in the NPPES layout: every column of ``columns``, every value quoted.

    Parameters
    ----------
    frame
        From :func:`nppes_frame`.
    path
        The CSV file.
    columns
        The layout (:func:`read_columns`).
    append
        Add rows to a file already holding the header instead of starting one.
    batch_rows
        Rows turned into text at a time (bounds the memory of the 330-column rows;
        the bytes written do not depend on it).

    Returns
    -------
    int
        Number of data rows written.

    Raises
    ------
    SchemaError
        If ``frame`` has a column that is not in ``columns``.
    """
    unknown = [c for c in frame.columns if c not in set(columns)]
    if unknown:
        raise SchemaError(
            "demo NPPES frame has columns outside the layout",
            problems=[Problem("unknown column", field=c) for c in unknown],
        )
    n = len(frame)
    with open(path, "a" if append else "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n")
        if not append:
            w.writerow(columns)
        for lo in range(0, n, max(1, int(batch_rows))):
            part = frame.iloc[lo : lo + batch_rows]
            k = len(part)
            data = [
                part[c].astype(str).tolist() if c in part.columns else repeat("", k)
                for c in columns
            ]
            w.writerows(zip(*data))
    return n
