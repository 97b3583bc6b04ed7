"""Practices inferred from golden records.

NPPES has no link between an individual and the organisation they work for;
practices show up as individuals sharing a practice address and phone number,
often alongside the organisation's own NPI-2 record at that address. This
module groups golden records on (ZIP, normalised street address, phone) and
names each group after the NPI-2 record found there, if any.

Not handled yet: CMS Doctors & Clinicians group PAC IDs (issue #3), which give
explicit memberships, and providers practising at several locations.
"""

from __future__ import annotations

import pandas as pd

from core.safetext import fit_key
from core.text import normalize_address
from data.lengths import string_lengths
from data.models import Organization

ORG_COLUMNS = (
    "org_key",
    "npi",
    "name",
    "address_1",
    "city",
    "state",
    "postal_code",
    "phone",
    "member_count",
)


#: Longest key the ``organizations`` table holds (a longer one ends with a hash:
#: :func:`~core.safetext.fit_key`).
_KEY_LENGTH = string_lengths(Organization)["org_key"]


def practice_key(address_1: object, postal_code: object, phone: object) -> str | None:
    """The key shared by records of one practice, or None without an address."""
    if not isinstance(address_1, str) or not address_1.strip() or not isinstance(postal_code, str):
        return None
    norm = normalize_address(address_1)
    return fit_key(f"{postal_code}|{norm}|{phone if isinstance(phone, str) else ''}", _KEY_LENGTH)


def infer_organizations(
    golden: pd.DataFrame, *, min_members: int = 2
) -> tuple[pd.DataFrame, pd.Series]:
    """Group golden records into practices.

    Parameters
    ----------
    golden
        Golden records with ``cluster_key``, ``entity_type``, ``npi``,
        ``organization_name``, ``address_1``, ``city``, ``state``,
        ``postal_code`` and ``phone``.
    min_members
        Individuals needed to form a practice when no NPI-2 record is there.

    Returns
    -------
    organizations, membership
        One row per practice (columns :data:`ORG_COLUMNS`), and a Series mapping
        each member's ``cluster_key`` to its practice's ``org_key``.
    """
    keys = pd.Series(
        [
            practice_key(a, z, p)
            for a, z, p in zip(
                golden["address_1"], golden["postal_code"], golden["phone"], strict=True
            )
        ],
        index=golden.index,
        dtype=object,
    )
    frame = golden.assign(org_key=keys).dropna(subset=["org_key"])
    is_org = frame["entity_type"] == "organization"
    individuals = frame[~is_org]
    members = individuals.groupby("org_key").size()
    named = frame[is_org].sort_values("npi", na_position="last").drop_duplicates("org_key")
    named = named.set_index("org_key").to_dict("index")
    keep = set(members[members >= min_members].index) | set(named)
    firsts = frame.drop_duplicates("org_key").set_index("org_key").to_dict("index")
    rows = []
    for key in sorted(keep):
        first = firsts[key]
        org = named.get(key)
        rows.append(
            {
                "org_key": key,
                "npi": org["npi"] if org is not None else None,
                "name": org["organization_name"]
                if org is not None
                else f"Practice at {first['address_1']}",
                "address_1": first["address_1"],
                "city": first["city"],
                "state": first["state"],
                "postal_code": first["postal_code"],
                "phone": first["phone"],
                "member_count": int(members.get(key, 0)),
            }
        )
    orgs = pd.DataFrame(rows, columns=list(ORG_COLUMNS))
    in_org = frame[frame["org_key"].isin(keep)]
    membership = pd.Series(
        in_org["org_key"].to_numpy(), index=in_org["cluster_key"].to_numpy(), dtype=object
    )
    return orgs, membership
