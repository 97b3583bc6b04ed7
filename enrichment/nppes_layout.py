"""Column layouts of the NPPES ``npidata_pfile`` CSV (Full Replacement / weekly files).

The current 330-column layout is generated from the CMS "NPPES Data Dissemination
Readme" header list (``data/reference/nppes_npidata_columns_v2024.txt``) and embedded
here so the package never has to read a file to know it. The older (2016-era)
329-column layout differs only in column 42, ``Provider Gender Code`` instead of
``Provider Sex Code``, and in lacking the trailing ``Certification Date``.

Layouts are matched by column *names*, never by position.
"""

from __future__ import annotations

from core.errors import Problem, SchemaError

#: The 330 columns of the current layout, in file order.
NPPES_COLUMNS_V2024: tuple[str, ...] = (
    "NPI",
    "Entity Type Code",
    "Replacement NPI",
    "Employer Identification Number (EIN)",
    "Provider Organization Name (Legal Business Name)",
    "Provider Last Name (Legal Name)",
    "Provider First Name",
    "Provider Middle Name",
    "Provider Name Prefix Text",
    "Provider Name Suffix Text",
    "Provider Credential Text",
    "Provider Other Organization Name",
    "Provider Other Organization Name Type Code",
    "Provider Other Last Name",
    "Provider Other First Name",
    "Provider Other Middle Name",
    "Provider Other Name Prefix Text",
    "Provider Other Name Suffix Text",
    "Provider Other Credential Text",
    "Provider Other Last Name Type Code",
    "Provider First Line Business Mailing Address",
    "Provider Second Line Business Mailing Address",
    "Provider Business Mailing Address City Name",
    "Provider Business Mailing Address State Name",
    "Provider Business Mailing Address Postal Code",
    "Provider Business Mailing Address Country Code (If outside U.S.)",
    "Provider Business Mailing Address Telephone Number",
    "Provider Business Mailing Address Fax Number",
    "Provider First Line Business Practice Location Address",
    "Provider Second Line Business Practice Location Address",
    "Provider Business Practice Location Address City Name",
    "Provider Business Practice Location Address State Name",
    "Provider Business Practice Location Address Postal Code",
    "Provider Business Practice Location Address Country Code (If outside U.S.)",
    "Provider Business Practice Location Address Telephone Number",
    "Provider Business Practice Location Address Fax Number",
    "Provider Enumeration Date",
    "Last Update Date",
    "NPI Deactivation Reason Code",
    "NPI Deactivation Date",
    "NPI Reactivation Date",
    "Provider Sex Code",
    "Authorized Official Last Name",
    "Authorized Official First Name",
    "Authorized Official Middle Name",
    "Authorized Official Title or Position",
    "Authorized Official Telephone Number",
    "Healthcare Provider Taxonomy Code_1",
    "Provider License Number_1",
    "Provider License Number State Code_1",
    "Healthcare Provider Primary Taxonomy Switch_1",
    "Healthcare Provider Taxonomy Code_2",
    "Provider License Number_2",
    "Provider License Number State Code_2",
    "Healthcare Provider Primary Taxonomy Switch_2",
    "Healthcare Provider Taxonomy Code_3",
    "Provider License Number_3",
    "Provider License Number State Code_3",
    "Healthcare Provider Primary Taxonomy Switch_3",
    "Healthcare Provider Taxonomy Code_4",
    "Provider License Number_4",
    "Provider License Number State Code_4",
    "Healthcare Provider Primary Taxonomy Switch_4",
    "Healthcare Provider Taxonomy Code_5",
    "Provider License Number_5",
    "Provider License Number State Code_5",
    "Healthcare Provider Primary Taxonomy Switch_5",
    "Healthcare Provider Taxonomy Code_6",
    "Provider License Number_6",
    "Provider License Number State Code_6",
    "Healthcare Provider Primary Taxonomy Switch_6",
    "Healthcare Provider Taxonomy Code_7",
    "Provider License Number_7",
    "Provider License Number State Code_7",
    "Healthcare Provider Primary Taxonomy Switch_7",
    "Healthcare Provider Taxonomy Code_8",
    "Provider License Number_8",
    "Provider License Number State Code_8",
    "Healthcare Provider Primary Taxonomy Switch_8",
    "Healthcare Provider Taxonomy Code_9",
    "Provider License Number_9",
    "Provider License Number State Code_9",
    "Healthcare Provider Primary Taxonomy Switch_9",
    "Healthcare Provider Taxonomy Code_10",
    "Provider License Number_10",
    "Provider License Number State Code_10",
    "Healthcare Provider Primary Taxonomy Switch_10",
    "Healthcare Provider Taxonomy Code_11",
    "Provider License Number_11",
    "Provider License Number State Code_11",
    "Healthcare Provider Primary Taxonomy Switch_11",
    "Healthcare Provider Taxonomy Code_12",
    "Provider License Number_12",
    "Provider License Number State Code_12",
    "Healthcare Provider Primary Taxonomy Switch_12",
    "Healthcare Provider Taxonomy Code_13",
    "Provider License Number_13",
    "Provider License Number State Code_13",
    "Healthcare Provider Primary Taxonomy Switch_13",
    "Healthcare Provider Taxonomy Code_14",
    "Provider License Number_14",
    "Provider License Number State Code_14",
    "Healthcare Provider Primary Taxonomy Switch_14",
    "Healthcare Provider Taxonomy Code_15",
    "Provider License Number_15",
    "Provider License Number State Code_15",
    "Healthcare Provider Primary Taxonomy Switch_15",
    "Other Provider Identifier_1",
    "Other Provider Identifier Type Code_1",
    "Other Provider Identifier State_1",
    "Other Provider Identifier Issuer_1",
    "Other Provider Identifier_2",
    "Other Provider Identifier Type Code_2",
    "Other Provider Identifier State_2",
    "Other Provider Identifier Issuer_2",
    "Other Provider Identifier_3",
    "Other Provider Identifier Type Code_3",
    "Other Provider Identifier State_3",
    "Other Provider Identifier Issuer_3",
    "Other Provider Identifier_4",
    "Other Provider Identifier Type Code_4",
    "Other Provider Identifier State_4",
    "Other Provider Identifier Issuer_4",
    "Other Provider Identifier_5",
    "Other Provider Identifier Type Code_5",
    "Other Provider Identifier State_5",
    "Other Provider Identifier Issuer_5",
    "Other Provider Identifier_6",
    "Other Provider Identifier Type Code_6",
    "Other Provider Identifier State_6",
    "Other Provider Identifier Issuer_6",
    "Other Provider Identifier_7",
    "Other Provider Identifier Type Code_7",
    "Other Provider Identifier State_7",
    "Other Provider Identifier Issuer_7",
    "Other Provider Identifier_8",
    "Other Provider Identifier Type Code_8",
    "Other Provider Identifier State_8",
    "Other Provider Identifier Issuer_8",
    "Other Provider Identifier_9",
    "Other Provider Identifier Type Code_9",
    "Other Provider Identifier State_9",
    "Other Provider Identifier Issuer_9",
    "Other Provider Identifier_10",
    "Other Provider Identifier Type Code_10",
    "Other Provider Identifier State_10",
    "Other Provider Identifier Issuer_10",
    "Other Provider Identifier_11",
    "Other Provider Identifier Type Code_11",
    "Other Provider Identifier State_11",
    "Other Provider Identifier Issuer_11",
    "Other Provider Identifier_12",
    "Other Provider Identifier Type Code_12",
    "Other Provider Identifier State_12",
    "Other Provider Identifier Issuer_12",
    "Other Provider Identifier_13",
    "Other Provider Identifier Type Code_13",
    "Other Provider Identifier State_13",
    "Other Provider Identifier Issuer_13",
    "Other Provider Identifier_14",
    "Other Provider Identifier Type Code_14",
    "Other Provider Identifier State_14",
    "Other Provider Identifier Issuer_14",
    "Other Provider Identifier_15",
    "Other Provider Identifier Type Code_15",
    "Other Provider Identifier State_15",
    "Other Provider Identifier Issuer_15",
    "Other Provider Identifier_16",
    "Other Provider Identifier Type Code_16",
    "Other Provider Identifier State_16",
    "Other Provider Identifier Issuer_16",
    "Other Provider Identifier_17",
    "Other Provider Identifier Type Code_17",
    "Other Provider Identifier State_17",
    "Other Provider Identifier Issuer_17",
    "Other Provider Identifier_18",
    "Other Provider Identifier Type Code_18",
    "Other Provider Identifier State_18",
    "Other Provider Identifier Issuer_18",
    "Other Provider Identifier_19",
    "Other Provider Identifier Type Code_19",
    "Other Provider Identifier State_19",
    "Other Provider Identifier Issuer_19",
    "Other Provider Identifier_20",
    "Other Provider Identifier Type Code_20",
    "Other Provider Identifier State_20",
    "Other Provider Identifier Issuer_20",
    "Other Provider Identifier_21",
    "Other Provider Identifier Type Code_21",
    "Other Provider Identifier State_21",
    "Other Provider Identifier Issuer_21",
    "Other Provider Identifier_22",
    "Other Provider Identifier Type Code_22",
    "Other Provider Identifier State_22",
    "Other Provider Identifier Issuer_22",
    "Other Provider Identifier_23",
    "Other Provider Identifier Type Code_23",
    "Other Provider Identifier State_23",
    "Other Provider Identifier Issuer_23",
    "Other Provider Identifier_24",
    "Other Provider Identifier Type Code_24",
    "Other Provider Identifier State_24",
    "Other Provider Identifier Issuer_24",
    "Other Provider Identifier_25",
    "Other Provider Identifier Type Code_25",
    "Other Provider Identifier State_25",
    "Other Provider Identifier Issuer_25",
    "Other Provider Identifier_26",
    "Other Provider Identifier Type Code_26",
    "Other Provider Identifier State_26",
    "Other Provider Identifier Issuer_26",
    "Other Provider Identifier_27",
    "Other Provider Identifier Type Code_27",
    "Other Provider Identifier State_27",
    "Other Provider Identifier Issuer_27",
    "Other Provider Identifier_28",
    "Other Provider Identifier Type Code_28",
    "Other Provider Identifier State_28",
    "Other Provider Identifier Issuer_28",
    "Other Provider Identifier_29",
    "Other Provider Identifier Type Code_29",
    "Other Provider Identifier State_29",
    "Other Provider Identifier Issuer_29",
    "Other Provider Identifier_30",
    "Other Provider Identifier Type Code_30",
    "Other Provider Identifier State_30",
    "Other Provider Identifier Issuer_30",
    "Other Provider Identifier_31",
    "Other Provider Identifier Type Code_31",
    "Other Provider Identifier State_31",
    "Other Provider Identifier Issuer_31",
    "Other Provider Identifier_32",
    "Other Provider Identifier Type Code_32",
    "Other Provider Identifier State_32",
    "Other Provider Identifier Issuer_32",
    "Other Provider Identifier_33",
    "Other Provider Identifier Type Code_33",
    "Other Provider Identifier State_33",
    "Other Provider Identifier Issuer_33",
    "Other Provider Identifier_34",
    "Other Provider Identifier Type Code_34",
    "Other Provider Identifier State_34",
    "Other Provider Identifier Issuer_34",
    "Other Provider Identifier_35",
    "Other Provider Identifier Type Code_35",
    "Other Provider Identifier State_35",
    "Other Provider Identifier Issuer_35",
    "Other Provider Identifier_36",
    "Other Provider Identifier Type Code_36",
    "Other Provider Identifier State_36",
    "Other Provider Identifier Issuer_36",
    "Other Provider Identifier_37",
    "Other Provider Identifier Type Code_37",
    "Other Provider Identifier State_37",
    "Other Provider Identifier Issuer_37",
    "Other Provider Identifier_38",
    "Other Provider Identifier Type Code_38",
    "Other Provider Identifier State_38",
    "Other Provider Identifier Issuer_38",
    "Other Provider Identifier_39",
    "Other Provider Identifier Type Code_39",
    "Other Provider Identifier State_39",
    "Other Provider Identifier Issuer_39",
    "Other Provider Identifier_40",
    "Other Provider Identifier Type Code_40",
    "Other Provider Identifier State_40",
    "Other Provider Identifier Issuer_40",
    "Other Provider Identifier_41",
    "Other Provider Identifier Type Code_41",
    "Other Provider Identifier State_41",
    "Other Provider Identifier Issuer_41",
    "Other Provider Identifier_42",
    "Other Provider Identifier Type Code_42",
    "Other Provider Identifier State_42",
    "Other Provider Identifier Issuer_42",
    "Other Provider Identifier_43",
    "Other Provider Identifier Type Code_43",
    "Other Provider Identifier State_43",
    "Other Provider Identifier Issuer_43",
    "Other Provider Identifier_44",
    "Other Provider Identifier Type Code_44",
    "Other Provider Identifier State_44",
    "Other Provider Identifier Issuer_44",
    "Other Provider Identifier_45",
    "Other Provider Identifier Type Code_45",
    "Other Provider Identifier State_45",
    "Other Provider Identifier Issuer_45",
    "Other Provider Identifier_46",
    "Other Provider Identifier Type Code_46",
    "Other Provider Identifier State_46",
    "Other Provider Identifier Issuer_46",
    "Other Provider Identifier_47",
    "Other Provider Identifier Type Code_47",
    "Other Provider Identifier State_47",
    "Other Provider Identifier Issuer_47",
    "Other Provider Identifier_48",
    "Other Provider Identifier Type Code_48",
    "Other Provider Identifier State_48",
    "Other Provider Identifier Issuer_48",
    "Other Provider Identifier_49",
    "Other Provider Identifier Type Code_49",
    "Other Provider Identifier State_49",
    "Other Provider Identifier Issuer_49",
    "Other Provider Identifier_50",
    "Other Provider Identifier Type Code_50",
    "Other Provider Identifier State_50",
    "Other Provider Identifier Issuer_50",
    "Is Sole Proprietor",
    "Is Organization Subpart",
    "Parent Organization LBN",
    "Parent Organization TIN",
    "Authorized Official Name Prefix Text",
    "Authorized Official Name Suffix Text",
    "Authorized Official Credential Text",
    "Healthcare Provider Taxonomy Group_1",
    "Healthcare Provider Taxonomy Group_2",
    "Healthcare Provider Taxonomy Group_3",
    "Healthcare Provider Taxonomy Group_4",
    "Healthcare Provider Taxonomy Group_5",
    "Healthcare Provider Taxonomy Group_6",
    "Healthcare Provider Taxonomy Group_7",
    "Healthcare Provider Taxonomy Group_8",
    "Healthcare Provider Taxonomy Group_9",
    "Healthcare Provider Taxonomy Group_10",
    "Healthcare Provider Taxonomy Group_11",
    "Healthcare Provider Taxonomy Group_12",
    "Healthcare Provider Taxonomy Group_13",
    "Healthcare Provider Taxonomy Group_14",
    "Healthcare Provider Taxonomy Group_15",
    "Certification Date",
)

#: The 329 columns of the 2016-era layout, in file order.
NPPES_COLUMNS_2016: tuple[str, ...] = tuple(
    "Provider Gender Code" if c == "Provider Sex Code" else c
    for c in NPPES_COLUMNS_V2024
    if c != "Certification Date"
)

#: Known layouts by name.
NPPES_LAYOUTS: dict[str, tuple[str, ...]] = {
    "v2024": NPPES_COLUMNS_V2024,
    "v2016": NPPES_COLUMNS_2016,
}

#: Number of repeating taxonomy slots (``Healthcare Provider Taxonomy Code_1`` .. ``_15``).
TAXONOMY_SLOTS = 15


def detect_layout(header: list[str] | tuple[str, ...], *, file: str | None = None) -> str:
    """Name the NPPES layout a header belongs to.

    A header with every column of a layout, once each, belongs to it; columns
    in no NPPES layout besides them are not read (:func:`known_columns` tells
    them apart, for the load's warning).

    Parameters
    ----------
    header
        Column names as read from the file (surrounding blanks are ignored).
    file
        File name used in problem reports.

    Returns
    -------
    str
        A key of :data:`NPPES_LAYOUTS`.

    Raises
    ------
    SchemaError
        When the header lacks a column of every layout, or names one twice.
        ``problems`` names every missing, unknown and duplicated column
        against the closest layout.
    """
    names = [str(h).strip() for h in header]
    seen = set(names)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    best_name, best_missing, best_unknown = "", [], []
    best_cost = None
    for layout_name, columns in NPPES_LAYOUTS.items():
        expected = set(columns)
        missing = [c for c in columns if c not in seen]
        unknown = [n for n in dict.fromkeys(names) if n not in expected]
        cost = len(missing) + len(unknown)
        if best_cost is None or cost < best_cost:
            best_name, best_missing, best_unknown, best_cost = layout_name, missing, unknown, cost
    if not best_missing and not duplicates:
        return best_name
    problems = [
        Problem(f"missing column (expected by layout {best_name})", file=file, line=1, field=c)
        for c in best_missing
    ]
    problems += [
        Problem("unknown column (in no NPPES layout)", file=file, line=1, field=c)
        for c in best_unknown
    ]
    problems += [Problem("duplicated column", file=file, line=1, field=c) for c in duplicates]
    raise SchemaError(
        f"header matches no known NPPES layout (closest: {best_name}, "
        f"{len(best_missing)} missing, {len(best_unknown)} unknown, "
        f"{len(duplicates)} duplicated)",
        problems=problems,
    )


def known_columns(header: list[str] | tuple[str, ...]) -> list[int]:
    """Positions of the header's columns named in some NPPES layout (the others are not read)."""
    known = {c for columns in NPPES_LAYOUTS.values() for c in columns}
    return [i for i, name in enumerate(header) if str(name).strip() in known]
