"""Known-answer and property tests of the normalisers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enrichment.normalize import (
    NICKNAMES,
    canonical_first_name,
    normalize_address,
    normalize_name,
    normalize_org_name,
    normalize_phone,
    normalize_postal_code,
    normalize_state,
    split_full_name,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Dr. Robert J. Smith, MD", "ROBERT J SMITH"),
        ("ROBERT J SMITH MD", "ROBERT J SMITH"),
        ("Dr. José O'Neil-Smith, M.D., FACS", "JOSE ONEIL SMITH"),
        ("Jane Roe, PA-C", "JANE ROE"),
        ("Ann Lee PhD", "ANN LEE"),
        ("John Do", "JOHN DO"),  # a surname that looks like a credential survives
        ("Do", "DO"),
        ("  müller  ", "MULLER"),
        ("Smith, John, DO", "SMITH JOHN"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_name(raw, expected):
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "first", "middle", "last", "prefix", "suffix", "credential"),
    [
        ("Dr. Robert J. Smith, MD", "Robert", "J", "Smith", "Dr", None, "MD"),
        ("SMITH, ROBERT", "ROBERT", None, "SMITH", None, None, None),
        ("Smith, Robert J, MD", "Robert", "J", "Smith", None, None, "MD"),
        ("Robert Smith", "Robert", None, "Smith", None, None, None),
        ("ROBERT J SMITH MD", "ROBERT", "J", "SMITH", None, None, "MD"),
        ("Dr Bob Smith", "Bob", None, "Smith", "Dr", None, None),
        ("Smith Jr., Robert", "Robert", None, "Smith", None, "Jr", None),
        ("Robert Smith Jr. MD", "Robert", None, "Smith", None, "Jr", "MD"),
        ("Ludwig van Beethoven", "Ludwig", None, "van Beethoven", None, None, None),
        (
            "Mary Ann O'Neil-Jones, M.D., FACS",
            "Mary",
            "Ann",
            "O'Neil-Jones",
            None,
            None,
            "M.D., FACS",
        ),
        ("Smith", None, None, "Smith", None, None, None),
        ("John Do", "John", None, "Do", None, None, None),
    ],
)
def test_split_full_name(raw, first, middle, last, prefix, suffix, credential):
    parts = split_full_name(raw)
    assert (parts["first_name"], parts["middle_name"], parts["last_name"]) == (first, middle, last)
    assert (parts["name_prefix"], parts["name_suffix"], parts["credential"]) == (
        prefix,
        suffix,
        credential,
    )


@pytest.mark.parametrize(
    ("nick", "canonical"),
    [
        ("Bob", "ROBERT"),
        ("bill", "WILLIAM"),
        ("Liz", "ELIZABETH"),
        ("JIM", "JAMES"),
        ("Mike", "MICHAEL"),
        ("Kate", "KATHERINE"),
        ("Robert", "ROBERT"),
        ("Zelda", "ZELDA"),
        ("", ""),
    ],
)
def test_canonical_first_name(nick, canonical):
    assert canonical_first_name(nick) == canonical


def test_nickname_table_is_sizeable_and_canonical():
    assert len(NICKNAMES) >= 60
    # canonical names are fixed points: no chains
    assert all(NICKNAMES.get(v, v) == v for v in NICKNAMES.values())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(614) 555-0100", "6145550100"),
        ("+1 614.555.0100", "6145550100"),
        ("1-614-555-0100 ext. 12", "6145550100"),
        ("614 555 0100 x3", "6145550100"),
        ("555-0100", None),
        ("014-555-0100", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_phone(raw, expected):
    assert normalize_phone(raw) == expected


@given(
    st.from_regex(r"[2-9][0-9]{9}", fullmatch=True),
    st.sampled_from(["({}) {}-{}", "{}.{}.{}", "1 {} {} {}"]),
)
def test_phone_formats_roundtrip(digits, fmt):
    assert normalize_phone(fmt.format(digits[:3], digits[3:6], digits[6:])) == digits


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123 North Main Street, Suite 200", "123 N MAIN ST STE 200"),
        ("123 Main St. #200", "123 MAIN ST STE 200"),
        ("123 main st ste 200", "123 MAIN ST STE 200"),
        ("500 E. Broad Avenue, Floor 3", "500 E BROAD AVE FL 3"),
        ("P.O. Box 12", "PO BOX 12"),
        ("1 Parkway Boulevard, Apartment 4", "1 PKWY BLVD APT 4"),
        (None, ""),
    ],
)
def test_normalize_address(raw, expected):
    assert normalize_address(raw) == expected


@given(st.text(max_size=40))
def test_normalizers_are_idempotent(s):
    assert normalize_address(normalize_address(s)) == normalize_address(s)
    once = normalize_name(s)
    assert once == once.upper() and "  " not in once and once == once.strip()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("43215", "43215"),
        ("43215-1234", "43215"),
        ("432151234", "43215"),
        ("4321", None),
        ("ABCDE", None),
    ],
)
def test_normalize_postal_code(raw, expected):
    assert normalize_postal_code(raw) == expected


def test_postal_code_pads_spreadsheet_zips():
    assert normalize_postal_code("2134", pad_short=True) == "02134"


@pytest.mark.parametrize(
    ("raw", "expected"), [("OH", "OH"), ("ohio", "OH"), ("New York", "NY"), ("Xx", None)]
)
def test_normalize_state(raw, expected):
    assert normalize_state(raw) == expected


# --- entity-resolution normalisation (issue 4) ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Dr. Jean-Pierre Dupont", "JEAN PIERRE DUPONT"),
        ("J.-P.", "J P"),
        ("Éloïse Bérénice", "ELOISE BERENICE"),
        ("SMITH, JOHN, M.D., F.A.C.S.", "SMITH JOHN"),
        ("Prof. Anne-Marie O'Brien, PhD", "ANNE MARIE OBRIEN"),
    ],
)
def test_names_known_answers(raw, expected):
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Bob", "ROBERT"),
        ("dr. bill", "WILLIAM"),
        ("Liz", "ELIZABETH"),
        ("Zach", "ZACHARY"),
        ("Kathleen", "KATHLEEN"),
    ],
)
def test_nicknames_known_answers(raw, expected):
    assert canonical_first_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12 Bd Saint-Michel", "12 BLVD SAINT MICHEL"),
        ("12 boulevard Saint Michel", "12 BLVD SAINT MICHEL"),
        ("5 av. Jean Jaurès", "5 AVE JEAN JAURES"),
        ("5 Avenue Jean Jaures", "5 AVE JEAN JAURES"),
        ("100 Main Street, Suite 4", "100 MAIN ST STE 4"),
    ],
)
def test_addresses_known_answers(raw, expected):
    assert normalize_address(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Capital Internal Medicine, L.L.C.", "CAPITAL INTERNAL MEDICINE"),
        ("Smith & Jones, P.C.", "SMITH AND JONES"),
        ("Centre Médical SARL", "CENTRE MEDICAL"),
        ("LLC", "LLC"),  # never emptied
    ],
)
def test_organisation_names_known_answers(raw, expected):
    assert normalize_org_name(raw) == expected


@given(st.text(max_size=60))
def test_org_name_normalisation_is_idempotent_ascii_upper(s):
    once = normalize_org_name(s)
    assert normalize_org_name(once) == once
    assert once == once.upper() and once.isascii() and "  " not in once
