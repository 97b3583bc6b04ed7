"""How the referral world is written down: referrer free text, and the clinic's files.

:func:`referrer_names` writes a referring doctor the way a clinic's front desk
does ("Dr. J. Smith (ortho)", "SMITH JOHN MD", "Smith, John - Columbus", now and
then with a typo). :func:`write_clinic_files` writes what a clinic would hand to
the product: its sites, referral export, CRM interactions, the competitors it
knows of, an NPPES ``npidata_pfile`` of the area (all 330 columns of the current
layout, every value double-quoted, dates ``MM/DD/YYYY``, the primary taxonomy's
switch ``Y``) and a CMS Doctors & Clinicians extract whose ``num_org_mem`` is the
noisy ``practice_size_reported``. Imports only the standard library, NumPy and pandas.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from bench.referral_world import World

__all__ = ["NPPES_COLUMNS_FILE", "referrer_names", "write_clinic_files"]

#: The NPPES header, one name a line (CMS's published layout, committed in the repository).
NPPES_COLUMNS_FILE = (
    Path(__file__).resolve().parent.parent
    / "data"
    / "reference"
    / "nppes_npidata_columns_v2024.txt"
)

#: The current CMS Doctors & Clinicians header.
DAC_COLUMNS = (
    "NPI", "Ind_PAC_ID", "Ind_enrl_ID", "Provider Last Name", "Provider First Name",
    "Provider Middle Name", "suff", "gndr", "Cred", "Med_sch", "Grd_yr", "pri_spec",
    "sec_spec_1", "sec_spec_2", "sec_spec_3", "sec_spec_4", "sec_spec_all", "Telehlth",
    "Facility Name", "org_pac_id", "num_org_mem", "adr_ln_1", "adr_ln_2", "ln_2_sprs",
    "City/Town", "State", "ZIP Code", "Telephone Number", "ind_assgn", "grp_assgn", "adrs_id",
)  # fmt: skip

_STYLES = (  # how the front desk writes the referrer, and how often
    ("dr_initial_label", 0.22),
    ("upper_last_first_cred", 0.20),
    ("last_first_city", 0.15),
    ("first_last_cred", 0.15),
    ("dr_last", 0.10),
    ("upper_last_comma_first_middle", 0.10),
    ("lower_first_last", 0.08),
)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _typo(name: str, rng: np.random.Generator) -> str:
    """One slip in a surname: two letters swapped, one dropped, doubled or mistyped."""
    if len(name) < 4:
        return name
    i = int(rng.integers(1, len(name) - 1))
    op = int(rng.integers(0, 4))
    if op == 0:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if op == 1:
        return name[:i] + name[i + 1 :]
    if op == 2:
        return name[:i] + name[i] + name[i:]
    letter = _LETTERS[int(rng.integers(0, 26))]
    return name[:i] + (letter.upper() if name[i].isupper() else letter) + name[i + 1 :]


def referrer_names(
    rng: np.random.Generator,
    *,
    first: list[str],
    middle: list[str],
    last: list[str],
    credential: list[str],
    label: list[str],
    city: list[str],
    typo_share: float,
) -> list[str]:
    """The referrer as free text, one style drawn per referral (see ``_STYLES``).

    Parameters
    ----------
    rng
        The stream to draw styles and typos from.
    first, middle, last, credential, label, city
        Per referral: the referrer's names, credential, a specialty word the staff
        use ("ortho") and the practice's city.
    typo_share
        Probability of a typo in the surname.

    Returns
    -------
    list of str
        One name per referral.
    """
    n = len(last)
    weights = np.array([w for _, w in _STYLES])
    style = rng.choice(len(_STYLES), size=n, p=weights / weights.sum())
    typo = rng.random(n) < typo_share
    out = []
    for i in range(n):
        f, m, la, c = first[i], middle[i], last[i], credential[i].replace(".", "")
        if typo[i]:
            la = _typo(la, rng)
        kind = _STYLES[int(style[i])][0]
        if kind == "dr_initial_label":
            text = f"Dr. {f[0]}. {la} ({label[i]})"
        elif kind == "upper_last_first_cred":
            text = f"{la} {f} {c}".upper()
        elif kind == "last_first_city":
            text = f"{la}, {f} - {city[i]}"
        elif kind == "first_last_cred":
            text = f"{f} {la}, {credential[i]}"
        elif kind == "dr_last":
            text = f"Dr {la}"
        elif kind == "upper_last_comma_first_middle":
            text = f"{la}, {f} {m}".strip().upper()
        else:
            text = f"{f} {la}".lower()
        out.append(text)
    return out


def _mmddyyyy(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%m/%d/%Y")


def _write_all_quoted(path: Path, columns: list[str], frame: pd.DataFrame) -> None:
    n = len(frame)
    data = [frame[c].astype(str).tolist() if c in frame.columns else [""] * n for c in columns]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n")
        w.writerow(columns)
        w.writerows(zip(*data))


def _nppes_frame(world: World, rng: np.random.Generator) -> pd.DataFrame:
    """NPPES columns (the filled ones) for every provider of the world."""
    pv = world.providers
    n = len(pv)
    ind = (pv["entity_type"] == 1).to_numpy()
    upper = {c: pv[c].fillna("").astype(str).str.upper() for c in ("first_name", "last_name")}
    zip9 = np.where(
        rng.random(n) < 0.7,
        pv["zip"].astype(str) + pd.Series(rng.integers(1, 9999, n)).map("{:04d}".format),
        pv["zip"].astype(str),
    )
    enum = pd.to_datetime(pv["enumeration_date"]).to_numpy()
    end = np.datetime64(world.end)
    upd = enum + (rng.random(n) * (end - enum).astype("timedelta64[D]").astype(float)).astype(
        "timedelta64[D]"
    )
    line1 = pv["address_1"].str.upper()
    line2 = pv["address_2"].fillna("")
    city = pv["city"].str.upper()
    phone = pv["phone"].astype(str)
    solo = (pv["practice_size"] == 1).to_numpy()
    lic = pd.Series(rng.integers(10_000, 999_999, n)).map("{:08d}".format)
    official = world.params.names
    frame = {
        "NPI": pv["npi"],
        "Entity Type Code": pv["entity_type"].astype(str),
        "Provider Organization Name (Legal Business Name)": np.where(
            ind, "", pv["organization_name"]
        ),
        "Provider Last Name (Legal Name)": upper["last_name"],
        "Provider First Name": upper["first_name"],
        "Provider Middle Name": pv["middle_name"],
        "Provider Credential Text": pv["credential"],
        "Provider Enumeration Date": _mmddyyyy(pv["enumeration_date"]),
        "Last Update Date": _mmddyyyy(pd.Series(upd)),
        "Provider Sex Code": pv["sex"],
        "Healthcare Provider Taxonomy Code_1": pv["taxonomy_code"],
        "Provider License Number_1": np.where(ind, lic, ""),
        "Provider License Number State Code_1": np.where(ind, world.params.geo.state, ""),
        "Healthcare Provider Primary Taxonomy Switch_1": "Y",
        "Is Sole Proprietor": np.where(ind, np.where(solo, "Y", "N"), ""),
        "Is Organization Subpart": np.where(ind, "", "N"),
        "Authorized Official Last Name": np.where(
            ind, "", [official.last[i].upper() for i in rng.integers(0, len(official.last), n)]
        ),
        "Authorized Official First Name": np.where(
            ind, "", [official.male[i].upper() for i in rng.integers(0, len(official.male), n)]
        ),
        "Authorized Official Title or Position": np.where(ind, "", "PRACTICE MANAGER"),
        "Authorized Official Telephone Number": np.where(ind, "", phone),
    }
    for kind in ("Practice Location", "Mailing"):
        frame[f"Provider First Line Business {kind} Address"] = line1
        frame[f"Provider Second Line Business {kind} Address"] = line2
        frame[f"Provider Business {kind} Address City Name"] = city
        frame[f"Provider Business {kind} Address State Name"] = pv["state"]
        frame[f"Provider Business {kind} Address Postal Code"] = zip9
        frame[f"Provider Business {kind} Address Country Code (If outside U.S.)"] = "US"
        frame[f"Provider Business {kind} Address Telephone Number"] = phone
    return pd.DataFrame(
        {k: (v.to_numpy() if isinstance(v, pd.Series) else v) for k, v in frame.items()}
    )


def _dac_frame(world: World) -> pd.DataFrame:
    """CMS Doctors & Clinicians rows of the individuals; ``num_org_mem`` is the reported size."""
    pv = world.providers[world.providers["entity_type"] == 1]
    group = pv["practice_size"] > 1
    # blank when unknown, as CMS leaves it (a string cast would write "nan" or "<NA>", by version)
    reported = pv["practice_size_reported"].map(lambda v: "" if pd.isna(v) else str(int(v)))
    # physicians by specialization ("Internal Medicine (Cardiovascular Disease)" ->
    # "CARDIOVASCULAR DISEASE"), others by classification ("Dentist (General Practice)" -> "DENTIST")
    inner = pv["classification"].map(lambda s: re.sub(r"^.*\((.*)\)$", r"\1", s))
    outer = pv["classification"].str.replace(r"\s*\(.*\)$", "", regex=True)
    spec = inner.where(pv["taxonomy_code"].str.startswith("20"), outer).str.upper()
    pac = (4_000_000_000 + pv["provider_id"]).astype(str)
    return pd.DataFrame(
        {
            "NPI": pv["npi"],
            "Ind_PAC_ID": pac,
            "Ind_enrl_ID": "I"
            + pd.to_datetime(pv["enumeration_date"]).dt.strftime("%Y%m%d")
            + pv["provider_id"].map("{:06d}".format),
            "Provider Last Name": pv["last_name"].str.upper(),
            "Provider First Name": pv["first_name"].str.upper(),
            "Provider Middle Name": pv["middle_name"],
            "gndr": pv["sex"],
            "Cred": pv["credential"].str.replace(".", "", regex=False),
            "pri_spec": spec,
            "Facility Name": np.where(group, pv["organization_name"], ""),
            "org_pac_id": np.where(group, (1_000_000_000 + pv["practice_id"]).astype(str), ""),
            "num_org_mem": np.where(group, reported, ""),
            "adr_ln_1": pv["address_1"].str.upper(),
            "adr_ln_2": pv["address_2"],
            "City/Town": pv["city"].str.upper(),
            "State": pv["state"],
            "ZIP Code": pv["zip"],
            "Telephone Number": pv["phone"],
            "ind_assgn": "Y",
            "grp_assgn": np.where(group, "Y", ""),
        }
    ).sort_values("NPI")


def write_clinic_files(world: World, directory: Path | str) -> dict[str, Path]:
    """Write the world as the files a clinic would give the product.

    Parameters
    ----------
    world
        From :func:`bench.referral_world.generate_world`.
    directory
        Created if missing; files of the same names are overwritten.

    Returns
    -------
    dict of str to Path
        ``sites``, ``referrals``, ``interactions``, ``competitors``, ``nppes`` and
        ``cms`` -> the file written. ``referrals.csv`` has ``external_id,
        referral_date, referrer_npi, referrer_name, service_line, site_code`` (the
        NPI blank where staff wrote only a name); ``interactions.csv`` has ``date,
        npi, kind, liaison, note, external_id``. No file holds generator truth.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([world.seed, 3])
    paths = {
        "sites": out / "sites.csv",
        "referrals": out / "referrals.csv",
        "interactions": out / "interactions.csv",
        "competitors": out / "competitors.csv",
        "nppes": out / f"npidata_pfile_20050523-{world.end:%Y%m%d}.csv",
        "cms": out / "DAC_NationalDownloadableFile.csv",
    }
    zips = world.params.geo.zips
    sites = world.sites.copy()
    zlat, zlon = np.array([z[2] for z in zips]), np.array([z[3] for z in zips])
    near = [
        int(np.argmin(np.hypot(zlat - a, zlon - b))) for a, b in zip(sites["lat"], sites["lon"])
    ]
    sites["city"] = [zips[i][1] for i in near]
    sites["state"] = world.params.geo.state
    sites["postal_code"] = [zips[i][0] for i in near]
    sites[
        ["site_code", "name", "service_line", "city", "state", "postal_code", "lat", "lon"]
    ].to_csv(paths["sites"], index=False)
    ref = world.referrals
    pd.DataFrame(
        {
            "external_id": ref["external_id"],
            "referral_date": pd.to_datetime(ref["referral_date"]).dt.strftime("%Y-%m-%d"),
            "referrer_npi": ref["npi"],
            "referrer_name": ref["referrer_name"],
            "service_line": "MRI",
            "site_code": ref["site_code"],
        }
    ).to_csv(paths["referrals"], index=False)
    it = world.interactions
    it.assign(date=pd.to_datetime(it["date"]).dt.strftime("%Y-%m-%d"))[
        ["date", "npi", "kind", "liaison", "note", "external_id"]
    ].to_csv(paths["interactions"], index=False)
    world.competitors.to_csv(paths["competitors"], index=False)
    columns = [
        ln.strip()
        for ln in NPPES_COLUMNS_FILE.read_text(encoding="utf-8-sig").splitlines()
        if ln.strip()
    ]
    _write_all_quoted(paths["nppes"], columns, _nppes_frame(world, rng))
    dac = _dac_frame(world)
    _write_all_quoted(paths["cms"], list(DAC_COLUMNS), dac)
    return paths
