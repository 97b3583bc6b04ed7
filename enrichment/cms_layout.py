"""Column layouts of the CMS Doctors and Clinicians national downloadable file.

``DAC_NationalDownloadableFile.csv`` (data.cms.gov provider data, dataset
``mj5m-pzi6``) has had two families of headers:

* the current 31-column layout, with spelled-out names for the person, the
  facility and the address (``Provider Last Name``, ``Facility Name``,
  ``City/Town``, ``ZIP Code``, ``Telephone Number``) and short codes for the
  rest (``NPI``, ``Ind_PAC_ID``, ``pri_spec``, ``adr_ln_1`` ...);
* older layouts with short codes throughout (``lst_nm``, ``frst_nm``,
  ``mid_nm``, ``org_nm``, ``cty``, ``st``, ``zip``, ``phn_numbr``), an optional
  ``Telehlth`` column and optional hospital affiliations ``hosp_afl_1``,
  ``hosp_afl_lbn_1`` ... ``hosp_afl_5``, ``hosp_afl_lbn_5``.

Headers are compared after dropping case and everything but letters and
digits, so the provider-data API's snake_case names (``provider_last_name``,
``citytown``, ``zip_code``, ``telephone_number``) are accepted too. Columns
are found by name, never by position. A header is accepted when it names
every column of :data:`REQUIRED_FIELDS` once; extracts with a subset of the
optional columns are fine, and a column outside the known layouts is not read
(the load's warning names it).

Not handled yet: the pre-2018 "Physician Compare" headers with long English
names (``Line 1 Street Address``, ``Group Practice PAC ID`` ...); they are not
documented in the project's reference material.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.errors import Problem, SchemaError

#: Number of hospital-affiliation column pairs in the older layouts.
HOSPITAL_SLOTS = 5

#: Number of numbered secondary-specialty columns.
SECONDARY_SPECIALTY_SLOTS = 4

#: The 31 columns of the current layout, in file order.
CMS_COLUMNS_CURRENT: tuple[str, ...] = (
    "NPI",
    "Ind_PAC_ID",
    "Ind_enrl_ID",
    "Provider Last Name",
    "Provider First Name",
    "Provider Middle Name",
    "suff",
    "gndr",
    "Cred",
    "Med_sch",
    "Grd_yr",
    "pri_spec",
    "sec_spec_1",
    "sec_spec_2",
    "sec_spec_3",
    "sec_spec_4",
    "sec_spec_all",
    "Telehlth",
    "Facility Name",
    "org_pac_id",
    "num_org_mem",
    "adr_ln_1",
    "adr_ln_2",
    "ln_2_sprs",
    "City/Town",
    "State",
    "ZIP Code",
    "Telephone Number",
    "ind_assgn",
    "grp_assgn",
    "adrs_id",
)

#: The older layout with every optional column (``Telehlth`` and hospital affiliations).
CMS_COLUMNS_LEGACY: tuple[str, ...] = (
    "NPI",
    "Ind_PAC_ID",
    "Ind_enrl_ID",
    "lst_nm",
    "frst_nm",
    "mid_nm",
    "suff",
    "gndr",
    "Cred",
    "Med_sch",
    "Grd_yr",
    "pri_spec",
    "sec_spec_1",
    "sec_spec_2",
    "sec_spec_3",
    "sec_spec_4",
    "sec_spec_all",
    "Telehlth",
    "org_nm",
    "org_pac_id",
    "num_org_mem",
    "adr_ln_1",
    "adr_ln_2",
    "ln_2_sprs",
    "cty",
    "st",
    "zip",
    "phn_numbr",
    *(
        name
        for i in range(1, HOSPITAL_SLOTS + 1)
        for name in (f"hosp_afl_{i}", f"hosp_afl_lbn_{i}")
    ),
    "ind_assgn",
    "grp_assgn",
    "adrs_id",
)


def squash_header(header: str) -> str:
    """Header key for lookup: lower case, letters and digits only (``"City/Town"`` -> ``"citytown"``)."""
    return re.sub(r"[^a-z0-9]", "", str(header).lower())


#: Canonical field -> documented header spellings (compared squashed).
CMS_HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "npi": ("NPI",),
    "pac_id": ("Ind_PAC_ID",),
    "enrollment_id": ("Ind_enrl_ID",),
    "last_name": ("Provider Last Name", "lst_nm"),
    "first_name": ("Provider First Name", "frst_nm"),
    "middle_name": ("Provider Middle Name", "mid_nm"),
    "name_suffix": ("suff",),
    "gender": ("gndr",),
    "credential": ("Cred",),
    "medical_school": ("Med_sch",),
    "graduation_year": ("Grd_yr",),
    "primary_specialty": ("pri_spec",),
    **{
        f"secondary_specialty_{i}": (f"sec_spec_{i}",)
        for i in range(1, SECONDARY_SPECIALTY_SLOTS + 1)
    },
    "secondary_specialties_all": ("sec_spec_all",),
    "telehealth": ("Telehlth",),
    "org_name": ("Facility Name", "org_nm"),
    "org_pac_id": ("org_pac_id",),
    "org_members": ("num_org_mem",),
    "address_1": ("adr_ln_1",),
    "address_2": ("adr_ln_2",),
    "line_2_suppressed": ("ln_2_sprs",),
    "city": ("City/Town", "cty"),
    "state": ("State", "st"),
    "postal_code": ("ZIP Code", "zip"),
    "phone": ("Telephone Number", "phn_numbr"),
    **{
        name: spelling
        for i in range(1, HOSPITAL_SLOTS + 1)
        for name, spelling in (
            (f"hospital_ccn_{i}", (f"hosp_afl_{i}",)),
            (f"hospital_name_{i}", (f"hosp_afl_lbn_{i}",)),
        )
    },
    "individual_assignment": ("ind_assgn",),
    "group_assignment": ("grp_assgn",),
    "address_id": ("adrs_id",),
}

#: Squashed header -> canonical field.
_LOOKUP: dict[str, str] = {
    squash_header(spelling): field
    for field, spellings in CMS_HEADER_SYNONYMS.items()
    for spelling in spellings
}

#: Fields every accepted header must name: the key, the name and the practice address.
REQUIRED_FIELDS: tuple[str, ...] = (
    "npi",
    "last_name",
    "first_name",
    "address_1",
    "city",
    "state",
    "postal_code",
)


@dataclass(frozen=True)
class CmsColumns:
    """Where each canonical field sits in a file's header.

    Attributes
    ----------
    layout
        ``"current"`` (spelled-out names such as ``Provider Last Name``) or
        ``"legacy"`` (``lst_nm`` style).
    index
        Canonical field -> 0-based column position.
    headers
        Canonical field -> the header text as written in the file.
    width
        Number of columns in the header.
    """

    layout: str
    index: Mapping[str, int]
    headers: Mapping[str, str]
    width: int


def detect_cms_columns(header: Sequence[str], *, file: str | None = None) -> CmsColumns:
    """Map the canonical CMS fields to the columns of a header row.

    Parameters
    ----------
    header
        Header cells as read (surrounding blanks are ignored).
    file
        File name used in problem reports.

    Returns
    -------
    CmsColumns

    Raises
    ------
    SchemaError
        When a required column is missing or two columns name the same field;
        ``problems`` lists every one of them, and the columns in no known
        layout (which alone are only not read).
    """
    names = [str(h).strip() for h in header]
    index: dict[str, int] = {}
    spelled: dict[str, str] = {}
    problems: list[Problem] = []
    for position, name in enumerate(names):
        field = _LOOKUP.get(squash_header(name))
        if field is None:
            problems.append(
                Problem(
                    "unknown column (in no CMS Doctors and Clinicians layout)",
                    file=file,
                    line=1,
                    field=name,
                )
            )
        elif field in index:
            problems.append(
                Problem(
                    f"duplicated column (same field as {spelled[field]!r})",
                    file=file,
                    line=1,
                    field=name,
                )
            )
        else:
            index[field] = position
            spelled[field] = name
    missing = [f for f in REQUIRED_FIELDS if f not in index]
    problems = [
        Problem(
            "missing required column (expected one of: " + ", ".join(CMS_HEADER_SYNONYMS[f]) + ")",
            file=file,
            line=1,
            field=CMS_HEADER_SYNONYMS[f][0],
        )
        for f in missing
    ] + problems
    unknown = sum(1 for p in problems if p.message.startswith("unknown"))
    if len(problems) > unknown:
        raise SchemaError(
            f"header matches no CMS Doctors and Clinicians layout "
            f"({len(missing)} required missing, {unknown} unknown)",
            problems=problems,
        )
    legacy = squash_header(spelled["last_name"]) == "lstnm"
    return CmsColumns(
        layout="legacy" if legacy else "current",
        index=index,
        headers=spelled,
        width=len(names),
    )
