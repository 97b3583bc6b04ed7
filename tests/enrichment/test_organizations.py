"""Practices inferred from shared practice address and phone."""

from __future__ import annotations

import pandas as pd

from enrichment.organizations import infer_organizations, practice_key


def golden(rows: list[tuple]) -> pd.DataFrame:
    cols = [
        "cluster_key",
        "entity_type",
        "npi",
        "organization_name",
        "address_1",
        "city",
        "state",
        "postal_code",
        "phone",
    ]
    return pd.DataFrame(rows, columns=cols)


FRAME = golden(
    [
        ("a", "individual", "1", None, "100 N High St", "COLUMBUS", "OH", "43215", "6145550100"),
        (
            "b",
            "individual",
            "2",
            None,
            "100 North High Street",
            "COLUMBUS",
            "OH",
            "43215",
            "6145550100",
        ),
        (
            "c",
            "organization",
            "3",
            "HIGH ST ORTHO LLC",
            "100 N HIGH ST",
            "COLUMBUS",
            "OH",
            "43215",
            "6145550100",
        ),
        ("d", "individual", "4", None, "100 N High St", "COLUMBUS", "OH", "43215", "6145559999"),
        ("e", "individual", "5", None, "7 Elm St", "COLUMBUS", "OH", "43201", None),
        ("f", "individual", "6", None, None, None, None, "43201", None),
    ]
)


def test_practice_key_ignores_spelling_but_not_phone() -> None:
    assert practice_key("100 N High St", "43215", "6145550100") == practice_key(
        "100 North High Street", "43215", "6145550100"
    )
    assert practice_key("100 N High St", "43215", "1") != practice_key(
        "100 N High St", "43215", "2"
    )
    assert practice_key(None, "43215", None) is None


def test_members_grouped_and_named_after_the_npi2_record() -> None:
    orgs, membership = infer_organizations(FRAME)
    assert len(orgs) == 1
    org = orgs.iloc[0]
    assert org["name"] == "HIGH ST ORTHO LLC" and org["npi"] == "3"
    assert org["member_count"] == 2  # a and b; the NPI-2 record itself is not a member
    assert membership.to_dict() == {"a": org["org_key"], "b": org["org_key"], "c": org["org_key"]}


def test_a_practice_without_npi2_needs_two_members() -> None:
    frame = pd.concat(
        [
            FRAME,
            golden(
                [
                    ("g", "individual", "7", None, "7 Elm Street", "COLUMBUS", "OH", "43201", None),
                ]
            ),
        ],
        ignore_index=True,
    )
    orgs, membership = infer_organizations(frame)
    elm = orgs[orgs["postal_code"] == "43201"].iloc[0]
    assert (
        elm["name"] == "Practice at 7 Elm St" and elm["member_count"] == 2 and pd.isna(elm["npi"])
    )
    assert membership["e"] == membership["g"] == elm["org_key"]
    assert "d" not in membership.index and "f" not in membership.index
