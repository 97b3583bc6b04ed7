"""Clinic-configurable specialty groups ("orthopaedics" = a set of NUCC codes).

A groups file (TOML, versioned like scoring profiles) names, per group, NUCC
classifications and/or taxonomy code prefixes. :func:`resolve_groups` turns
them into concrete code sets for the NUCC version in force, listing every name
that version does not know. Groups serve two purposes:

* filters: prospects and exports restricted to a group's codes;
* scoring: a profile's ``[specialty.groups]`` table gives a fit per group;
  :func:`expand_profile` turns it into code entries. Explicit code prefixes in
  the profile win over groups, groups win over classification entries and the
  default fit.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import Field, StringConstraints, ValidationError

from core.errors import Problem, ScoringError
from prospects.profiles import NonEmpty, NuccCodePrefix, ScoringProfile, _Frozen

__all__ = [
    "DEFAULT_GROUPS_FILE",
    "SpecialtyGroup",
    "SpecialtyGroups",
    "expand_profile",
    "load_groups",
    "resolve_groups",
]

DEFAULT_GROUPS_FILE = Path(__file__).resolve().parent / "specialty_groups.toml"


class SpecialtyGroup(_Frozen):
    classifications: tuple[NonEmpty, ...] = ()
    codes: tuple[NuccCodePrefix, ...] = ()


class SpecialtyGroups(_Frozen):
    name: NonEmpty
    version: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+(\.\d+)?$")]
    groups: dict[NonEmpty, SpecialtyGroup] = Field(min_length=1)


def load_groups(path: Path | None = None) -> SpecialtyGroups:
    """Read a groups file (default: the one shipped with the package).

    Raises
    ------
    ScoringError
        Unreadable TOML or invalid content, every problem listed.
    """
    path = Path(path) if path is not None else DEFAULT_GROUPS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScoringError(
            f"{path.name}: cannot read specialty groups",
            problems=[Problem(str(exc), file=path.name)],
        ) from exc
    try:
        return SpecialtyGroups.model_validate(data)
    except ValidationError as exc:
        raise ScoringError(
            f"{path.name}: invalid specialty groups",
            problems=[
                Problem(e["msg"], file=path.name, field=".".join(map(str, e["loc"])))
                for e in exc.errors()
            ],
        ) from exc


def resolve_groups(
    groups: SpecialtyGroups, taxonomy: Mapping[str, str | None]
) -> dict[str, frozenset[str]]:
    """Group name -> the NUCC codes it covers in ``taxonomy`` (code -> classification).

    Raises
    ------
    ScoringError
        Classifications or code prefixes that match nothing in this NUCC
        version, all of them listed (a typo would silently empty a group).
    """
    by_class: dict[str, set[str]] = {}
    for code, classification in taxonomy.items():
        if classification:
            by_class.setdefault(classification.casefold(), set()).add(code)
    problems: list[Problem] = []
    out: dict[str, frozenset[str]] = {}
    for name, group in groups.groups.items():
        codes: set[str] = set()
        for classification in group.classifications:
            found = by_class.get(classification.casefold())
            if found is None:
                problems.append(
                    Problem(
                        "no such NUCC classification in the version in force",
                        field=f"groups.{name}.classifications",
                        value=classification,
                    )
                )
            else:
                codes |= found
        for prefix in group.codes:
            found = {c for c in taxonomy if c.startswith(prefix)}
            if not found:
                problems.append(
                    Problem(
                        "no NUCC code starts with this prefix",
                        field=f"groups.{name}.codes",
                        value=prefix,
                    )
                )
            codes |= found
        out[name] = frozenset(codes)
    if problems:
        raise ScoringError(
            f"specialty groups {groups.name!r} do not match the NUCC code set", problems=problems
        )
    return out


def expand_profile(
    profile: ScoringProfile, resolved: Mapping[str, frozenset[str]]
) -> ScoringProfile:
    """The profile with its ``[specialty.groups]`` fits written out as code entries.

    A group's fit applies to each of its codes that no explicit code prefix of
    the profile matches.

    Raises
    ------
    ScoringError
        The profile names a group the groups file does not define.
    """
    table = profile.specialty
    unknown = [g for g in table.groups if g not in resolved]
    if unknown:
        raise ScoringError(
            f"profile {profile.key} names unknown specialty groups",
            problems=[
                Problem(
                    "not defined in the specialty groups file", field="specialty.groups", value=g
                )
                for g in unknown
            ],
        )
    codes = dict(table.codes)
    for group, fit in table.groups.items():
        for code in sorted(resolved[group]):
            if not any(code.startswith(prefix) for prefix in table.codes):
                codes.setdefault(code, fit)
    return profile.model_copy(update={"specialty": table.model_copy(update={"codes": codes})})
